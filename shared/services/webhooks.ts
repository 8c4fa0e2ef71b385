// A namespace import lets esbuild drop what is unused (the named `z` export keeps all of zod).
import * as z from 'zod';
import { FilterPolicyLimitError, type Webhook, type WebhookRegistry } from '../adapters/webhooks.js';
import { toIssues } from '../domain/event.js';
import { SLUG_PATTERN } from '../domain/slug.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';

export interface WebhookDeps {
  webhooks: WebhookRegistry;
}

/** SNS allows 200 filter policies per topic by default. */
export const FILTER_POLICY_QUOTA = 200;
const CHANGE_TYPES = ['created', 'updated', 'deleted'] as const;

const webhookInput = z.strictObject({
  url: z.string().check((ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(ctx.value);
    } catch {
      // reported below
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || ctx.value.length > 2048) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: 'must be an absolute http or https URL' });
    } else if (url.username || url.password) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: 'must not carry credentials' });
    }
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

/** Registers an integrator's endpoint with a filter policy built from tags and change types. */
export const addWebhook = async (deps: WebhookDeps, input: unknown): Promise<Webhook> => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw ValidationError.of('body', 'must be a JSON object {"url", "tags"?, "changeTypes"?}');
  }
  const parsed = webhookInput.safeParse(input);
  if (!parsed.success) throw new ValidationError(toIssues(parsed.error, input, [], 'url, tags, changeTypes'));
  const { tags, changeTypes } = parsed.data;
  // One spelling per endpoint: `HTTPS://Hooks.example.org:443/x` is `https://hooks.example.org/x`.
  const url = new URL(parsed.data.url).href;
  const policy: Record<string, string[]> = {};
  if (tags) policy.tags = [...new Set(tags)];
  if (changeTypes) policy.changeType = [...new Set(changeTypes)];
  const existing = await deps.webhooks.list();
  if (existing.some((w) => w.url === url)) {
    throw new ConflictError(`a webhook for ${url} already exists; DELETE it first to change its filter`);
  }
  if (
    Object.keys(policy).length > 0 &&
    existing.filter((w) => w.filterPolicy).length >= FILTER_POLICY_QUOTA
  ) {
    throw new ConflictError(
      `the topic already has ${FILTER_POLICY_QUOTA} filter policies (an SNS quota); remove a webhook first`,
    );
  }
  try {
    return await deps.webhooks.add(url, Object.keys(policy).length > 0 ? policy : undefined);
  } catch (error) {
    if (error instanceof FilterPolicyLimitError) throw new ConflictError(error.message, { cause: error });
    throw error;
  }
};

export const listWebhooks = (deps: WebhookDeps): Promise<Webhook[]> => deps.webhooks.list();

export const removeWebhook = async (deps: WebhookDeps, id: string): Promise<void> => {
  if (!/^[A-Za-z0-9-]{1,100}$/.test(id))
    throw ValidationError.of('id', 'must be a webhook id from GET /api/webhooks');
  if (!(await deps.webhooks.remove(id))) throw new NotFoundError(`webhook ${id} does not exist`);
};
