import { createHmac, randomBytes } from 'node:crypto';
import type { ObjectStore } from '../adapters/object-store.js';
import type { CallbackClient } from '../adapters/websub-http.js';
import type { WebSubStore } from '../adapters/websub-store.js';
import type { SiteConfig } from '../domain/site.js';
import { urlOf } from '../domain/site.js';
import {
  activated,
  type CallbackPolicy,
  callbackHost,
  confirmsIntent,
  feedContentType,
  type HubMessage,
  type HubRequest,
  hubUrl,
  isFeedTopic,
  linkHeader,
  PENDING_SECONDS,
  parseHubRequest,
  publishPing,
  retryDelaySeconds,
  verificationUrl,
} from '../domain/websub.js';
import { ConflictError, ValidationError } from '../errors.js';
import { logger } from '../logger.js';

/** A message for the hub's queue, delayed (at most 900 s, as SQS allows) or not. */
export interface HubQueueEntry {
  message: HubMessage;
  delaySeconds?: number;
}

/** The hub's queue: SQS in AWS, `LocalHubQueue` locally. */
export interface HubQueue {
  send(entries: readonly HubQueueEntry[]): Promise<void>;
}

export interface HubLimits {
  /** Live subscriptions (pending included) per callback host (`websubPerHost`). */
  perHost: number;
  /** Live subscriptions per feed (`websubPerFeed`). */
  perFeed: number;
}

/** What the hub's route needs. */
export interface HubRequestDeps {
  store: WebSubStore;
  queue: HubQueue;
  site: SiteConfig;
  policy: CallbackPolicy;
  limits: HubLimits;
  callbacks: Pick<CallbackClient, 'refused'>;
  /** Whether the feed is published (a tag with no events has none). */
  feedExists(path: string): Promise<boolean>;
  now: () => string;
}

/** What the hub's worker needs. */
export interface HubWorkerDeps {
  store: WebSubStore;
  queue: HubQueue;
  site: SiteConfig;
  callbacks: CallbackClient;
  /** Where the feeds are read from for delivery: the site bucket, or the local site folder. */
  objects: Pick<ObjectStore, 'get'>;
  now: () => string;
  /** A fresh challenge per verification; tests pass their own. */
  challenge?: () => string;
}

const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** The form as the hub reads it: every value of every field, in order. */
export const formFields = (form: FormData): Map<string, string[]> => {
  const fields = new Map<string, string[]>();
  for (const [name, value] of form.entries()) {
    if (typeof value !== 'string') continue;
    fields.set(name, [...(fields.get(name) ?? []), value]);
  }
  return fields;
};

/**
 * A subscribe or unsubscribe request (WebSub §5.1): checked, counted against the caps, recorded
 * as pending, and its verification queued. The caller answers 202; the subscription is active only
 * once the callback echoes the challenge.
 */
export const requestHub = async (
  deps: HubRequestDeps,
  form: ReadonlyMap<string, readonly string[]>,
): Promise<HubRequest> => {
  const parsed = parseHubRequest(form, deps.site, deps.policy);
  if (!parsed.ok) throw new ValidationError(parsed.issues);
  const { request } = parsed;
  const refused = await deps.callbacks.refused(request.callback);
  if (refused) throw ValidationError.of('hub.callback', refused);
  if (!(await deps.feedExists(request.topic)))
    throw ValidationError.of(
      'hub.topic',
      `must be a feed this site publishes (${urlOf(deps.site, request.topic)} is not)`,
    );
  const now = seconds(deps.now());
  const known = await deps.store.get(request.topic, request.callback, now);
  // Nothing to unsubscribe, or a verification already on its way: no request goes to the callback,
  // so asking again and again cannot make the hub call a third party again and again.
  if (request.mode === 'unsubscribe' ? !known : known?.state === 'pending') return request;
  if (request.mode === 'subscribe') {
    if (!known) {
      // Pending requests count too: they are the verification requests the hub is about to send.
      const host = callbackHost(request.callback);
      const [onHost, onFeed] = await Promise.all([
        deps.store.countForHost(host, now),
        deps.store.countForFeed(request.topic, now),
      ]);
      if (onHost >= deps.limits.perHost)
        throw new ConflictError(
          `hub.callback: its host ${host} has ${deps.limits.perHost} subscriptions, the most this hub keeps for one host`,
        );
      if (onFeed >= deps.limits.perFeed)
        throw new ConflictError(
          `hub.topic: this feed has ${deps.limits.perFeed} subscriptions, the most this hub keeps for one feed`,
        );
      await deps.store.putPending(
        {
          topic: request.topic,
          callback: request.callback,
          state: 'pending',
          leaseSeconds: request.leaseSeconds,
          expiresAt: now + PENDING_SECONDS,
          createdAt: deps.now(),
        },
        now,
      );
    }
  }
  try {
    await deps.queue.send([{ message: { kind: 'verify', request } }]);
  } catch (error) {
    // A pending record with no verification on its way would hold its place for an hour.
    if (request.mode === 'subscribe' && !known)
      await deps.store.remove(request.topic, request.callback, { onlyPending: true }).catch(() => undefined);
    throw error;
  }
  return request;
};

/** What the worker did with a message, for logs and tests. */
export type HubOutcome =
  | { kind: 'verified' | 'denied'; mode: HubRequest['mode']; topic: string }
  | { kind: 'distributed'; deliveries: number }
  | { kind: 'delivered'; attempt: number }
  | { kind: 'retrying'; attempt: number; delaySeconds: number }
  | { kind: 'dropped'; attempts: number; reason: string }
  | { kind: 'skipped'; reason: string };

const newChallenge = (): string => randomBytes(24).toString('base64url');

/** `X-Hub-Signature` of a body under a subscription's secret (WebSub §8). */
export const hubSignature = (secret: string, body: Uint8Array): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const verify = async (deps: HubWorkerDeps, request: HubRequest): Promise<HubOutcome> => {
  const challenge = (deps.challenge ?? newChallenge)();
  const topicUrl = urlOf(deps.site, request.topic);
  let confirmed = false;
  try {
    const answer = await deps.callbacks.get(
      verificationUrl(request.callback, {
        mode: request.mode,
        topicUrl,
        challenge,
        ...(request.mode === 'subscribe' ? { leaseSeconds: request.leaseSeconds } : {}),
      }),
    );
    confirmed = confirmsIntent(answer.status, answer.body, challenge);
  } catch (error) {
    // Unreachable or refused: intent is not confirmed. The reader may ask again.
    logger.info('websub verification failed', { topic: request.topic, error: (error as Error).name });
  }
  const now = deps.now();
  if (request.mode === 'unsubscribe') {
    if (confirmed) await deps.store.remove(request.topic, request.callback);
  } else if (confirmed) {
    const known = await deps.store.get(request.topic, request.callback, seconds(now));
    await deps.store.activate(activated(request, seconds(now), now, known?.createdAt ?? now));
  } else {
    await deps.store.remove(request.topic, request.callback, { onlyPending: true });
  }
  return { kind: confirmed ? 'verified' : 'denied', mode: request.mode, topic: request.topic };
};

/** How many deliveries one distribute message fans out per queue call. */
const FAN_OUT_CHUNK = 100;

/**
 * Tells the external hubs the site names (`websubHubs`) that a feed changed (`hub.mode=publish`).
 * Best effort: a hub that fails is logged and not retried, as its readers also poll.
 */
const pingExternalHubs = async (deps: HubWorkerDeps, topic: string): Promise<void> => {
  const body = new TextEncoder().encode(publishPing(urlOf(deps.site, topic)));
  for (const hub of deps.site.hubs ?? []) {
    try {
      const answer = await deps.callbacks.post(
        hub,
        { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      );
      if (answer.status < 200 || answer.status >= 300)
        logger.warn('external hub refused a publish ping', {
          hub: new URL(hub).origin,
          status: answer.status,
        });
    } catch (error) {
      logger.warn('external hub unreachable', { hub: new URL(hub).origin, error: (error as Error).name });
    }
  }
};

const distribute = async (deps: HubWorkerDeps, topics: readonly string[]): Promise<HubOutcome> => {
  const now = seconds(deps.now());
  let deliveries = 0;
  for (const topic of topics) {
    if (!isFeedTopic(topic)) continue;
    const subs = await deps.store.listActive(topic, now);
    for (let i = 0; i < subs.length; i += FAN_OUT_CHUNK) {
      await deps.queue.send(
        subs.slice(i, i + FAN_OUT_CHUNK).map((sub) => ({
          message: { kind: 'deliver', topic, callback: sub.callback, attempt: 1 },
        })),
      );
    }
    deliveries += subs.length;
    await pingExternalHubs(deps, topic);
  }
  return { kind: 'distributed', deliveries };
};

const deliver = async (
  deps: HubWorkerDeps,
  message: Extract<HubMessage, { kind: 'deliver' }>,
): Promise<HubOutcome> => {
  const { topic, callback, attempt } = message;
  const now = deps.now();
  const sub = await deps.store.get(topic, callback, seconds(now));
  if (sub?.state !== 'active') return { kind: 'skipped', reason: 'no active subscription' };
  // The feed as it is now: a later change is delivered too, never an older copy after a newer one.
  const body = await deps.objects.get(topic);
  if (!body) return { kind: 'skipped', reason: 'the feed is gone' };
  const headers: Record<string, string> = {
    'content-type': feedContentType(topic),
    link: linkHeader(hubUrl(deps.site), urlOf(deps.site, topic)),
    ...(sub.secret !== undefined ? { 'x-hub-signature': hubSignature(sub.secret, body) } : {}),
  };
  let reason: string;
  let permanent = false;
  try {
    const answer = await deps.callbacks.post(callback, headers, body);
    if (answer.status >= 200 && answer.status < 300) return { kind: 'delivered', attempt };
    reason = `answered ${answer.status}`;
  } catch (error) {
    reason = (error as Error).message.slice(0, 200);
    // Where the callback now leads will not change by retrying.
    permanent =
      (error as { code?: string }).code === 'EFORBIDDEN' ||
      (error as Error).name === 'ForbiddenEndpointError';
  }
  const delay = permanent ? undefined : retryDelaySeconds(attempt);
  if (delay !== undefined) {
    await deps.queue.send([{ message: { ...message, attempt: attempt + 1 }, delaySeconds: delay }]);
    return { kind: 'retrying', attempt, delaySeconds: delay };
  }
  await deps.store.recordFailure({ at: now, topic, callback, attempts: attempt, reason }, seconds(now));
  logger.warn('websub delivery dropped', { topic, attempts: attempt, reason });
  return { kind: 'dropped', attempts: attempt, reason };
};

/** Handles one message of the hub's queue. Throws only on the store or the queue: SQS redelivers. */
export const handleHubMessage = (deps: HubWorkerDeps, message: HubMessage): Promise<HubOutcome> => {
  switch (message.kind) {
    case 'verify':
      return verify(deps, message.request);
    case 'distribute':
      return distribute(deps, message.topics);
    case 'deliver':
      return deliver(deps, message);
  }
};

/** Topics per distribute message: a publish run that changed every feed sends a few. */
const TOPICS_PER_MESSAGE = 200;

/** After a publish run: the feeds whose bytes changed go to distribution. */
export const feedsChanged = async (queue: HubQueue, paths: Iterable<string>): Promise<void> => {
  const topics = [...new Set(paths)].filter(isFeedTopic).sort();
  const entries: HubQueueEntry[] = [];
  for (let i = 0; i < topics.length; i += TOPICS_PER_MESSAGE)
    entries.push({ message: { kind: 'distribute', topics: topics.slice(i, i + TOPICS_PER_MESSAGE) } });
  if (entries.length > 0) await queue.send(entries);
};

/**
 * An object store that tells which feeds a run wrote (bytes changed): the publisher's list of
 * changed feeds, without the publisher knowing about the hub.
 */
export const watchFeedWrites = (objects: ObjectStore, written: (path: string) => void): ObjectStore => {
  const { borrow } = objects;
  return {
    ...(objects.writesInFlight !== undefined ? { writesInFlight: objects.writesInFlight } : {}),
    async putIfChanged(key, body, contentType) {
      const changed = await objects.putIfChanged(key, body, contentType);
      if (changed && isFeedTopic(key)) written(key);
      return changed;
    },
    remove: (key) => objects.remove(key),
    get: (key) => objects.get(key),
    ...(borrow ? { borrow: (key: string) => borrow.call(objects, key) } : {}),
  };
};
