import type { Issue } from '../errors.js';
import { FEED_CONTENT_TYPES, type FeedFormat, type SiteConfig, urlOf } from './site.js';

/**
 * Tidings as its own WebSub hub (W3C WebSub, 2018): what a subscription request may say, how
 * intent is verified, how a distribution is signed and retried. Pure: time comes in as numbers.
 */

/** Where the hub answers, as an object path under the site (`/api/websub`). */
export const HUB_PATH = 'api/websub';
export const hubUrl = (site: Pick<SiteConfig, 'siteUrl'>): string => urlOf(site, HUB_PATH);

/** External hubs a site may name besides its own (setting `websubHubs`). */
export const EXTERNAL_HUBS_MAX = 5;

/**
 * The external hubs of the `websubHubs` setting (`WEBSUB_HUBS`, comma-separated): https URLs
 * without credentials (http too with `policy` local, for a hub on this machine), at most
 * EXTERNAL_HUBS_MAX. Throws with the rule broken.
 */
export const parseExternalHubs = (
  value: string | readonly string[] | undefined,
  name: string,
  policy: CallbackPolicy = 'aws',
): string[] => {
  if (value === undefined) return [];
  const hubs = (typeof value === 'string' ? value.split(',') : [...value])
    .map((h) => h.trim())
    .filter(Boolean);
  if (hubs.length > EXTERNAL_HUBS_MAX)
    throw new Error(`${name}: at most ${EXTERNAL_HUBS_MAX} hubs (got ${hubs.length})`);
  const schemes = policy === 'local' ? ['https:', 'http:'] : ['https:'];
  for (const hub of hubs) {
    let url: URL | undefined;
    try {
      url = new URL(hub);
    } catch {
      // reported below
    }
    if (!url || !schemes.includes(url.protocol) || url.username || url.password || url.hash)
      throw new Error(
        `${name}: each hub must be an ${policy === 'local' ? 'http(s)' : 'https'} URL without credentials (got ${JSON.stringify(hub.slice(0, 100))})`,
      );
  }
  return hubs;
};

/** The body of a `hub.mode=publish` ping to an external hub: the topic changed. */
export const publishPing = (topicUrl: string): string =>
  new URLSearchParams({ 'hub.mode': 'publish', 'hub.url': topicUrl, 'hub.topic': topicUrl }).toString();

/** Lease bounds (the issue's: 10 days by default, at least an hour, at most 30 days). */
export const LEASE = { defaultSeconds: 10 * 86_400, minSeconds: 3_600, maxSeconds: 30 * 86_400 } as const;
/** A secret must be under this many bytes (WebSub §5.1). */
export const SECRET_MAX_BYTES = 200;
/** A callback URL longer than this is refused: it is stored and sent on every delivery. */
export const CALLBACK_MAX = 2048;
/** How long a subscription waiting for its verification counts against the caps. */
export const PENDING_SECONDS = 3_600;

/** Defaults of the caps (settings `websubPerHost`, `websubPerFeed`). */
export const DEFAULT_WEBSUB_PER_HOST = 100;
export const DEFAULT_WEBSUB_PER_FEED = 10_000;

/**
 * Delays before each retry of a failed delivery, in seconds. Each fits SQS's 15-minute message
 * delay, so a retry is one delayed message: 7 attempts at 0, 1, 6, 21, 36, 51 and 66 minutes.
 */
export const RETRY_DELAYS_SECONDS: readonly number[] = [60, 300, 900, 900, 900, 900];
export const MAX_DELIVERY_ATTEMPTS = RETRY_DELAYS_SECONDS.length + 1;
/** The delay before attempt `attempt + 1`, or undefined when `attempt` was the last. */
export const retryDelaySeconds = (attempt: number): number | undefined => RETRY_DELAYS_SECONDS[attempt - 1];

export type HubMode = 'subscribe' | 'unsubscribe';

/** A subscription request as the hub accepted it. */
export interface HubRequest {
  mode: HubMode;
  /** The feed's object path (`feeds/tags/russia.atom`); the topic URL is `urlOf(site, topic)`. */
  topic: string;
  callback: string;
  leaseSeconds: number;
  secret?: string;
}

/**
 * A feed this site publishes, by its object path: the site feed, a tag's or a topic label's, in
 * one of the three formats. Archive documents are not topics: they never change once closed.
 */
const FEED_TOPIC = /^feeds\/(?:all|(?:tags|topics)\/[a-z0-9]+(?:-[a-z0-9]+)*)\.(rss|atom|json)$/;

export const isFeedTopic = (path: string): boolean => FEED_TOPIC.test(path);

export const feedFormatOf = (path: string): FeedFormat | undefined =>
  FEED_TOPIC.exec(path)?.[1] as FeedFormat | undefined;

/** The content type a distribution of this feed carries. */
export const feedContentType = (path: string): string => {
  const format = feedFormatOf(path);
  if (!format) throw new Error(`not a feed topic: ${path}`);
  return FEED_CONTENT_TYPES[format];
};

/** The object path of a topic URL of this site, or undefined when it is not one of its feeds. */
export const topicPathOf = (site: Pick<SiteConfig, 'siteUrl'>, topic: string): string | undefined => {
  const base = `${site.siteUrl.replace(/\/+$/, '')}/`;
  if (!topic.startsWith(base)) return undefined;
  const path = topic.slice(base.length);
  return isFeedTopic(path) ? path : undefined;
};

/** Where callbacks may be: `aws` (https, public addresses) or `local` (http(s) on this machine). */
export type CallbackPolicy = 'aws' | 'local';

const FIELDS = ['hub.mode', 'hub.topic', 'hub.callback', 'hub.lease_seconds', 'hub.secret'] as const;

/**
 * Checks a hub request (the form's fields, each given once) against the rules; `issues` name the
 * field and the rule. Whether the callback's host resolves to an allowed address is the adapter's
 * check, made again when connecting.
 */
export const parseHubRequest = (
  form: ReadonlyMap<string, readonly string[]>,
  site: Pick<SiteConfig, 'siteUrl'>,
  policy: CallbackPolicy,
): { ok: true; request: HubRequest } | { ok: false; issues: Issue[] } => {
  const issues: Issue[] = [];
  for (const [name, values] of form) {
    if (!(FIELDS as readonly string[]).includes(name)) {
      // Other hub.* fields are refused; a reader's own extra fields are not ours to judge.
      if (name.startsWith('hub.'))
        issues.push({ path: name, rule: `is not a field of this hub (${FIELDS.join(', ')})` });
    } else if (values.length > 1) issues.push({ path: name, rule: 'must be given once' });
  }
  const one = (name: (typeof FIELDS)[number]): string | undefined => form.get(name)?.[0];

  const mode = one('hub.mode');
  if (mode !== 'subscribe' && mode !== 'unsubscribe')
    issues.push({ path: 'hub.mode', rule: 'must be subscribe or unsubscribe' });

  const topicUrl = one('hub.topic');
  const topic = topicUrl === undefined ? undefined : topicPathOf(site, topicUrl);
  if (topic === undefined)
    issues.push({
      path: 'hub.topic',
      rule: `must be the URL of a feed of this site (${urlOf(site, 'feeds/all.atom')}, or a tag's feed under ${urlOf(site, 'feeds/tags/')})`,
    });

  const callback = one('hub.callback');
  const callbackRule = callback === undefined ? 'is required' : callbackIssue(callback, policy);
  if (callbackRule) issues.push({ path: 'hub.callback', rule: callbackRule });

  const leaseText = one('hub.lease_seconds');
  let leaseSeconds: number = LEASE.defaultSeconds;
  if (leaseText !== undefined && leaseText !== '') {
    leaseSeconds = /^\d{1,10}$/.test(leaseText) ? Number(leaseText) : Number.NaN;
    if (!(leaseSeconds >= LEASE.minSeconds && leaseSeconds <= LEASE.maxSeconds))
      issues.push({
        path: 'hub.lease_seconds',
        rule: `must be a whole number of seconds from ${LEASE.minSeconds} (an hour) to ${LEASE.maxSeconds} (30 days)`,
      });
  }

  const secret = one('hub.secret');
  if (secret !== undefined && new TextEncoder().encode(secret).byteLength >= SECRET_MAX_BYTES)
    issues.push({ path: 'hub.secret', rule: `must be under ${SECRET_MAX_BYTES} bytes` });
  if (secret === '') issues.push({ path: 'hub.secret', rule: 'must not be empty when given' });

  if (issues.length > 0 || topic === undefined || callback === undefined) return { ok: false, issues };
  return {
    ok: true,
    request: {
      mode: mode as HubMode,
      topic,
      callback,
      leaseSeconds,
      ...(secret !== undefined ? { secret } : {}),
    },
  };
};

/** What is wrong with a callback URL under the policy, or undefined. */
export const callbackIssue = (callback: string, policy: CallbackPolicy): string | undefined => {
  if (callback.length > CALLBACK_MAX) return `must be at most ${CALLBACK_MAX} characters`;
  let url: URL;
  try {
    url = new URL(callback);
  } catch {
    return 'must be an absolute URL';
  }
  if (policy === 'aws' && url.protocol !== 'https:') return 'must be an https URL';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  return undefined;
};

/** The callback's host, lowercased: what the per-host cap counts. */
export const callbackHost = (callback: string): string => new URL(callback).hostname.toLowerCase();

/**
 * The verification GET: the callback with its own query kept and the hub's parameters added
 * (WebSub §5.3).
 */
export const verificationUrl = (
  callback: string,
  params: { mode: HubMode; topicUrl: string; challenge: string; leaseSeconds?: number },
): string => {
  const url = new URL(callback);
  url.searchParams.append('hub.mode', params.mode);
  url.searchParams.append('hub.topic', params.topicUrl);
  url.searchParams.append('hub.challenge', params.challenge);
  if (params.leaseSeconds !== undefined)
    url.searchParams.append('hub.lease_seconds', String(params.leaseSeconds));
  return url.href;
};

/** Whether the callback's answer confirms intent: a 2xx whose body is the challenge exactly. */
export const confirmsIntent = (status: number, body: string, challenge: string): boolean =>
  status >= 200 && status < 300 && body === challenge;

/** The `Link` header of a distribution (WebSub §7): the hub and the topic's own URL. */
export const linkHeader = (hub: string, self: string): string => `<${hub}>; rel="hub", <${self}>; rel="self"`;

/** A subscription as the hub keeps it. */
export interface HubSubscription {
  topic: string;
  callback: string;
  /** `pending` until the callback confirms; an active one renewed stays active meanwhile. */
  state: 'pending' | 'active';
  leaseSeconds: number;
  secret?: string;
  /** Epoch seconds when it lapses (the table's TTL); a read ignores one already past. */
  expiresAt: number;
  createdAt: string;
  /** When its lease last began (verified). */
  verifiedAt?: string;
}

/** Whether a subscription still holds at `nowSeconds` (the TTL removes lapsed ones only eventually). */
export const isLive = (sub: Pick<HubSubscription, 'expiresAt'>, nowSeconds: number): boolean =>
  sub.expiresAt > nowSeconds;

/** A subscription whose lease begins now. */
export const activated = (
  request: HubRequest,
  nowSeconds: number,
  at: string,
  createdAt: string,
): HubSubscription => ({
  topic: request.topic,
  callback: request.callback,
  state: 'active',
  leaseSeconds: request.leaseSeconds,
  ...(request.secret !== undefined ? { secret: request.secret } : {}),
  expiresAt: nowSeconds + request.leaseSeconds,
  createdAt,
  verifiedAt: at,
});

/** Work on the hub's queue: verify a request, distribute changed feeds, deliver one feed to one callback. */
export type HubMessage =
  | { kind: 'verify'; request: HubRequest }
  | { kind: 'distribute'; topics: string[] }
  | { kind: 'deliver'; topic: string; callback: string; attempt: number };
