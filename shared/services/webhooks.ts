// A namespace import lets esbuild drop what is unused (the named `z` export keeps all of zod).
import * as z from 'zod';
import type { WebhookOwnerStore } from '../adapters/webhook-owners.js';
import {
  EndpointRefusedError,
  FilterPolicyLimitError,
  type Webhook,
  type WebhookRegistry,
} from '../adapters/webhooks.js';
import { ENV } from '../config.js';
import { toIssues } from '../domain/event.js';
import { SLUG_PATTERN } from '../domain/slug.js';
import { ConflictError, NotFoundError, UnauthorizedError, ValidationError } from '../errors.js';
import type { CallerContext } from '../http.js';

export interface WebhookDeps {
  webhooks: WebhookRegistry;
  /** Which webhooks the API created, for which key: the only ones it lists and deletes. */
  owners: WebhookOwnerStore;
  /** Most webhooks one API key may have (WEBHOOKS_PER_KEY). */
  perKey: number;
  /** AWS: https endpoints only (SNS would post every change to an http one in clear text). */
  httpsOnly: boolean;
  now: () => string;
  /** Waits between attempts of creates racing for the last places (tests pass a faster one). */
  sleep?: (ms: number) => Promise<void>;
}

/** Attempts of a create that keeps finding the key over its cap because of racing creates. */
const CAP_RACE_ATTEMPTS = 5;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The local runtime's cap when WEBHOOKS_PER_KEY is unset; in AWS the setting is required. */
export const DEFAULT_WEBHOOKS_PER_KEY = 50;

/** WEBHOOKS_PER_KEY: a whole number from 1 to 10,000, or the runtime fails at start. */
export const parseWebhooksPerKey = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) {
    throw new Error(
      `${ENV.webhooksPerKey} must be a whole number from 1 to 10000 (got ${value.slice(0, 40)})`,
    );
  }
  return n;
};

/** A webhook id as the API hands it out (the SNS subscription's own id). */
export const WEBHOOK_ID_PATTERN = /^[A-Za-z0-9-]{1,100}$/;

/** SNS allows 200 filter policies per topic by default. */
export const FILTER_POLICY_QUOTA = 200;
const CHANGE_TYPES = ['created', 'updated', 'deleted'] as const;

/** What POST /api/webhooks accepts. */
export const webhookInput = z.strictObject({
  url: z
    .string()
    .check((ctx) => {
      let url: URL | undefined;
      try {
        url = new URL(ctx.value);
      } catch {
        // reported below
      }
      if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || ctx.value.length > 2048) {
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: 'must be an absolute http or https URL',
        });
      } else if (url.username || url.password) {
        ctx.issues.push({ code: 'custom', input: ctx.value, message: 'must not carry credentials' });
      }
    })
    .meta({
      format: 'uri',
      maxLength: 2048,
      description:
        'An absolute http or https URL (https only in AWS), without credentials. Its query string, where a secret may go, is never shown again.',
    }),
  tags: z
    .array(
      z.string().check((ctx) => {
        if (!SLUG_PATTERN.test(ctx.value) || ctx.value.length > 64) {
          ctx.issues.push({
            code: 'custom',
            input: ctx.value,
            message: 'must be a tag slug (lowercase letters, digits, hyphens)',
          });
        }
      }),
    )
    .min(1, 'must name at least one tag, or be left out to receive every tag')
    .max(50, 'must have at most 50 tags (an SNS filter policy allows 150 value combinations)')
    .optional(),
  changeTypes: z
    .array(z.enum(CHANGE_TYPES, { error: `must be one of ${CHANGE_TYPES.join(', ')}` }))
    .min(1, 'must name at least one change type, or be left out to receive all')
    .optional(),
});

/**
 * A webhook's URL as the API shows it: without its query string (nor fragment), where integrators
 * often put the secret their endpoint checks. Once received, it is not shown again: not in the
 * answer, nor in listings or errors.
 */
export const shownUrl = (url: string): string => {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  return u.href;
};

const shown = (webhook: Webhook): Webhook => ({ ...webhook, url: shownUrl(webhook.url) });

const callerOrThrow = (caller: CallerContext | undefined): CallerContext => {
  if (!caller) throw new UnauthorizedError('authorization: webhooks belong to the API key that created them');
  return caller;
};

/**
 * The webhooks the caller's key created that still exist, oldest first. A record whose subscription
 * is gone (its endpoint unsubscribed, or SNS dropped it unconfirmed) is removed, freeing its place.
 */
const ownedWebhooks = async (deps: WebhookDeps, caller: CallerContext): Promise<Webhook[]> => {
  const owners = await deps.owners.listOwned(caller.keyId);
  const webhooks: Webhook[] = [];
  // Ten at a time: one GetSubscriptionAttributes each, well within SNS's request rate.
  for (let i = 0; i < owners.length; i += 10) {
    const slice = owners.slice(i, i + 10);
    const found = await Promise.all(slice.map((owner) => deps.webhooks.get(owner.id)));
    for (const [j, owner] of slice.entries()) {
      const webhook = found[j];
      if (webhook) webhooks.push(webhook);
      else await deps.owners.removeOwner(caller.keyId, owner.id);
    }
  }
  return webhooks;
};

const overCap = (deps: WebhookDeps, count: number) =>
  new ConflictError(
    `this API key already has ${count} webhooks, the most one key may have (${ENV.webhooksPerKey} = ${deps.perKey}); DELETE one first`,
  );

/** Registers an integrator's endpoint with a filter policy built from tags and change types. */
export const addWebhook = async (
  deps: WebhookDeps,
  callerContext: CallerContext | undefined,
  input: unknown,
): Promise<Webhook> => {
  const caller = callerOrThrow(callerContext);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw ValidationError.of('body', 'must be a JSON object {"url", "tags"?, "changeTypes"?}');
  }
  const parsed = webhookInput.safeParse(input);
  if (!parsed.success) throw new ValidationError(toIssues(parsed.error, input, [], 'url, tags, changeTypes'));
  const { tags, changeTypes } = parsed.data;
  // One spelling per endpoint: `HTTPS://Hooks.example.org:443/x` is `https://hooks.example.org/x`.
  const url = new URL(parsed.data.url).href;
  if (deps.httpsOnly && !url.startsWith('https:')) {
    throw ValidationError.of(
      'url',
      'must be an https URL (http endpoints are accepted only by the local runtime)',
    );
  }
  const owned = await ownedWebhooks(deps, caller);
  if (owned.length >= deps.perKey) throw overCap(deps, owned.length);
  const policy: Record<string, string[]> = {};
  if (tags) policy.tags = [...new Set(tags)];
  if (changeTypes) policy.changeType = [...new Set(changeTypes)];
  const existing = await deps.webhooks.list();
  if (existing.some((w) => w.url === url)) {
    // SNS keeps one subscription per endpoint, so a URL held elsewhere cannot be taken; but whether
    // another key, or the operator, holds it is theirs to know. Only the holder is told it is its own.
    if (owned.some((w) => w.url === url)) {
      throw new ConflictError(
        `this API key already has a webhook for ${shownUrl(url)}; DELETE it first to change its filter`,
      );
    }
    throw new ConflictError(
      `url: ${shownUrl(url)} cannot be registered as a webhook; register this endpoint under a different URL (its own path or query string)`,
    );
  }
  if (
    Object.keys(policy).length > 0 &&
    existing.filter((w) => w.filterPolicy).length >= FILTER_POLICY_QUOTA
  ) {
    throw new ConflictError(
      `the topic already has ${FILTER_POLICY_QUOTA} filter policies (an SNS quota); remove a webhook first`,
    );
  }
  for (let attempt = 1; ; attempt++) {
    let webhook: Webhook;
    try {
      webhook = await deps.webhooks.add(url, Object.keys(policy).length > 0 ? policy : undefined);
    } catch (error) {
      if (error instanceof FilterPolicyLimitError) throw new ConflictError(error.message, { cause: error });
      if (error instanceof EndpointRefusedError) throw ValidationError.of('url', error.message);
      throw error;
    }
    await deps.owners.putOwner({
      id: webhook.id,
      keyId: caller.keyId,
      keyName: caller.keyName,
      createdAt: deps.now(),
    });
    // Creates racing past the check above: each that finds the key over its cap once its own record
    // is in undoes itself, so the cap holds whatever the interleaving. Racers that all undid
    // themselves would refuse every create: each waits a random while and, finding room, tries again.
    const count = (await deps.owners.listOwned(caller.keyId)).length;
    if (count <= deps.perKey) return shown(webhook);
    await deps.webhooks.remove(webhook.id);
    await deps.owners.removeOwner(caller.keyId, webhook.id);
    if (attempt >= CAP_RACE_ATTEMPTS) throw overCap(deps, count - 1);
    await (deps.sleep ?? sleep)(Math.round(Math.random() * 50 * 2 ** attempt));
    const now = (await deps.owners.listOwned(caller.keyId)).length;
    if (now >= deps.perKey) throw overCap(deps, now);
  }
};

/** The webhooks the caller's key created (not those of other keys, nor those made outside the API). */
export const listWebhooks = async (
  deps: WebhookDeps,
  caller: CallerContext | undefined,
): Promise<Webhook[]> => (await ownedWebhooks(deps, callerOrThrow(caller))).map(shown);

/** Removes a webhook the caller's key created; any other id is a 404, whether or not it exists. */
export const removeWebhook = async (
  deps: WebhookDeps,
  callerContext: CallerContext | undefined,
  id: string,
): Promise<void> => {
  const caller = callerOrThrow(callerContext);
  if (!WEBHOOK_ID_PATTERN.test(id))
    throw ValidationError.of('id', 'must be a webhook id from GET /api/webhooks');
  if (!(await deps.owners.isOwner(caller.keyId, id))) {
    throw new NotFoundError(`webhook ${id} does not exist, or was not created with this API key`);
  }
  // Already gone from the topic (its endpoint unsubscribed): the record goes all the same.
  await deps.webhooks.remove(id);
  await deps.owners.removeOwner(caller.keyId, id);
};
