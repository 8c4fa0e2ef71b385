import type { Node } from 'constructs';
import { parseExternalHubs } from '../shared/domain/websub.js';
import { canonicalZone, supportedZones } from '../shared/domain/zones.js';

/** Deploy settings, from cdk.json context or `-c key=value`, validated before anything is built. */
export interface TidingsConfig {
  /** What happens to the table when the stack is deleted. */
  removalPolicy: 'retain' | 'destroy';
  /** Days that function logs, API access logs and site access logs are kept. */
  logRetentionDays: number;
  /** Requests per second the HTTP API accepts before throttling (steady rate). */
  apiRateLimit: number;
  apiBurstLimit: number;
  /** Sign-ups per second `POST /api/subscriptions` accepts (its own route throttle), and its burst. */
  signupRateLimit: number;
  signupBurstLimit: number;
  /**
   * Requests per second the link routes (confirm, unsubscribe, manage) accept, and their burst: a
   * throttle of their own, so a sign-up flood cannot crowd out one-click unsubscribes (RFC 8058).
   */
  linkRateLimit: number;
  linkBurstLimit: number;
  /** Requests per second subscribers' private feeds accept (polled by feed readers), and their burst. */
  feedRateLimit: number;
  feedBurstLimit: number;
  /** Confirmation emails sent per hour at most, whoever signs up; beyond it sign-ups send nothing. */
  confirmationsPerHour: number;
  /** Webhooks one API key may register. */
  webhooksPerKey: number;
  /** Live WebSub subscriptions per callback host, and per feed (the hub's caps). */
  websubPerHost: number;
  websubPerFeed: number;
  /**
   * Requests per second `POST /api/websub` accepts (its own route throttle), and its burst: each
   * request can make the hub send one verification request, so it is kept low.
   */
  websubRateLimit: number;
  websubBurstLimit: number;
  /** External WebSub hubs every feed names besides the site's own, pinged when a feed changes (optional). */
  websubHubs: string[];
  /**
   * The site's own host name (news.example.org) with its ACM certificate in us-east-1.
   * Without them the site answers on the CloudFront domain.
   */
  domain?: { name: string; certificateArn: string };
  /** Sender of confirmation and digest emails; its domain becomes the SES identity. */
  fromAddress: string;
  /** The domain part of fromAddress, verified in SES with DKIM. */
  sendingDomain: string;
  /** Local hour (0–23, in `defaultTimeZone`) of the digests of subscribers who have not chosen one. */
  digestHour: number;
  /** IANA zone of subscribers who have not chosen one (default UTC): their digest hour, local day and quiet hours. */
  defaultTimeZone: string;
  /** Day of the weekly digest, 0 = Sunday … 6 = Saturday. */
  digestWeekday: number;
  /** Messages per second one digest worker sends at most. */
  digestSendRate: number;
  /** Digest workers running at once (the SQS event source's maximum concurrency, 2–1000). */
  digestConcurrency: number;
  /** Minutes after an instant alert during which further events wait, then go together in one. */
  instantCoalesceMinutes: number;
  /** Instant alerts per subscriber and local day at most; the rest wait for the next day's first. */
  instantDailyCap: number;
  /** Alert workers running at once (the alert queue's maximum concurrency, 2–1000). */
  alertConcurrency: number;
  /** Newest events per feed. */
  feedSize: number;
  /** Minutes between publish runs. */
  publishEveryMinutes: number;
  /**
   * Slice workers of a full publish running at once (the slice queue's maximum concurrency,
   * 2–1000): the benchmark's AWS model projects the job's time with this many.
   */
  publishWorkers: number;
  /**
   * Batches of one stream shard projected at once (the event source's parallelization factor,
   * 1–10). Per-event order holds at any factor: records of one key stay in order.
   */
  streamParallelization: number;
  /** Where alarm notifications are emailed (a subscription to confirm); none when absent. */
  alarmEmail?: string;
  /**
   * X-Ray tracing of every function and the AWS requests it makes (Powertools Tracer). Off by
   * default: traces are billed beyond X-Ray's free tier, and the tracer adds some 130 KB to each
   * bundle, which a bundle built without tracing does not hold at all.
   */
  tracing: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

// Deliberately strict: one address, ASCII, no display name (SES identities are domains).
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$/;
const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const CLOUDFRONT_CERTIFICATE = /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/;

const read = (node: Node, key: string): unknown =>
  node.tryGetContext(`tidings:${key}`) ?? node.tryGetContext(key);

const shown = (raw: unknown) => JSON.stringify(raw);

const wholeNumber = (node: Node, key: string, fallback: number, min: number, max: number): number => {
  const raw = read(node, key);
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key}: must be a whole number from ${min} to ${max} (got ${shown(raw)})`);
  }
  return value;
};

const optionalString = (node: Node, key: string): string | undefined => {
  const raw = read(node, key);
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string') throw new ConfigError(`${key}: must be text (got ${shown(raw)})`);
  return raw.trim();
};

/** `websubHubs`: https URLs, a list in cdk.json or comma-separated with -c. */
const websubHubsOf = (node: Node): string[] => {
  const raw = read(node, 'websubHubs');
  if (
    raw !== undefined &&
    typeof raw !== 'string' &&
    !(Array.isArray(raw) && raw.every((h) => typeof h === 'string'))
  )
    throw new ConfigError(`websubHubs: must be a list of https URLs (got ${shown(raw)})`);
  try {
    return parseExternalHubs(raw as string | string[] | undefined, 'websubHubs');
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
};

const weekday = (node: Node): number => {
  const raw = read(node, 'digestWeekday');
  if (typeof raw === 'string' && WEEKDAYS.includes(raw.trim().toLowerCase())) {
    return WEEKDAYS.indexOf(raw.trim().toLowerCase());
  }
  try {
    return wholeNumber(node, 'digestWeekday', 1, 0, 6);
  } catch {
    throw new ConfigError(
      `digestWeekday: must be 0 (Sunday) to 6 (Saturday) or a day name such as "monday" (got ${shown(raw)})`,
    );
  }
};

const timeZoneOf = (node: Node): string => {
  const raw = optionalString(node, 'defaultTimeZone') ?? 'UTC';
  const zone = canonicalZone(raw);
  if (zone === undefined || !supportedZones().includes(zone)) {
    throw new ConfigError(
      `defaultTimeZone: must be an IANA time zone name such as Europe/Berlin (got ${shown(raw)})`,
    );
  }
  return zone;
};

const domainOf = (node: Node): TidingsConfig['domain'] => {
  const name = optionalString(node, 'domain')?.toLowerCase();
  const certificateArn = optionalString(node, 'certificateArn');
  if (name === undefined && certificateArn === undefined) return undefined;
  if (name === undefined) {
    throw new ConfigError('domain: required with certificateArn (the host name the certificate is for)');
  }
  if (!HOST.test(name)) {
    throw new ConfigError(
      `domain: must be a host name such as news.example.org, no scheme or path (got ${shown(name)})`,
    );
  }
  if (certificateArn === undefined) {
    throw new ConfigError(
      'certificateArn: required with domain (an ACM certificate for it, issued in us-east-1 for CloudFront)',
    );
  }
  if (!CLOUDFRONT_CERTIFICATE.test(certificateArn)) {
    throw new ConfigError(
      `certificateArn: must be an ACM certificate ARN in us-east-1, as CloudFront requires (got ${shown(certificateArn)})`,
    );
  }
  return { name, certificateArn };
};

/** The `tracing` setting alone: each function reads it when it is built (bundling depends on it). */
export const tracingOf = (node: Node): boolean => {
  const raw = read(node, 'tracing');
  if (raw === undefined || raw === false || raw === 'false') return false;
  if (raw === true || raw === 'true') return true;
  throw new ConfigError(`tracing: must be true or false (got ${shown(raw)})`);
};

export const loadConfig = (node: Node): TidingsConfig => {
  const removalPolicy = read(node, 'removalPolicy') ?? 'retain';
  if (removalPolicy !== 'retain' && removalPolicy !== 'destroy') {
    throw new ConfigError(`removalPolicy: must be "retain" or "destroy" (got ${shown(removalPolicy)})`);
  }
  const logRetentionDays = wholeNumber(node, 'logRetentionDays', 30, 1, 3653);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw new ConfigError(
      `logRetentionDays: must be one of ${LOG_RETENTION_DAYS.join(', ')} (got ${logRetentionDays})`,
    );
  }
  const fromAddress = optionalString(node, 'fromAddress');
  if (fromAddress === undefined) {
    throw new ConfigError(
      'fromAddress: required, the address emails are sent from: npx cdk deploy -c fromAddress=news@example.org',
    );
  }
  const sender = EMAIL.exec(fromAddress);
  if (!sender?.[1]) {
    throw new ConfigError(
      `fromAddress: must be one email address such as news@example.org (got ${shown(fromAddress)})`,
    );
  }
  const alarmEmail = optionalString(node, 'alarmEmail');
  if (alarmEmail !== undefined && !EMAIL.test(alarmEmail)) {
    throw new ConfigError(
      `alarmEmail: must be one email address such as ops@example.org (got ${shown(alarmEmail)})`,
    );
  }
  const domain = domainOf(node);
  return {
    removalPolicy,
    logRetentionDays,
    apiRateLimit: wholeNumber(node, 'apiRateLimit', 50, 1, 10_000),
    apiBurstLimit: wholeNumber(node, 'apiBurstLimit', 100, 1, 5_000),
    signupRateLimit: wholeNumber(node, 'signupRateLimit', 5, 1, 10_000),
    signupBurstLimit: wholeNumber(node, 'signupBurstLimit', 10, 1, 5_000),
    // Twice the default digest send rate (5/s × 2 workers): the one-click unsubscribes a digest run
    // brings back fit, with room for people opening confirm and manage links.
    linkRateLimit: wholeNumber(node, 'linkRateLimit', 20, 1, 10_000),
    linkBurstLimit: wholeNumber(node, 'linkBurstLimit', 40, 1, 5_000),
    // Feed readers poll every 15 to 60 minutes: 10/s serves tens of thousands of private feeds.
    feedRateLimit: wholeNumber(node, 'feedRateLimit', 10, 1, 10_000),
    feedBurstLimit: wholeNumber(node, 'feedBurstLimit', 20, 1, 5_000),
    confirmationsPerHour: wholeNumber(node, 'confirmationsPerHour', 300, 1, 1_000_000),
    webhooksPerKey: wholeNumber(node, 'webhooksPerKey', 50, 1, 10_000),
    websubPerHost: wholeNumber(node, 'websubPerHost', 100, 1, 1_000_000),
    websubPerFeed: wholeNumber(node, 'websubPerFeed', 10_000, 1, 1_000_000),
    websubRateLimit: wholeNumber(node, 'websubRateLimit', 5, 1, 10_000),
    websubBurstLimit: wholeNumber(node, 'websubBurstLimit', 10, 1, 5_000),
    websubHubs: websubHubsOf(node),
    ...(domain ? { domain } : {}),
    fromAddress,
    sendingDomain: sender[1].toLowerCase(),
    digestHour: wholeNumber(node, 'digestHour', 7, 0, 23),
    digestWeekday: weekday(node),
    defaultTimeZone: timeZoneOf(node),
    digestSendRate: wholeNumber(node, 'digestSendRate', 5, 1, 1_000),
    digestConcurrency: wholeNumber(node, 'digestConcurrency', 2, 2, 1_000),
    // SQS holds a look back 15 minutes at most; a longer window costs a look every 15 minutes.
    instantCoalesceMinutes: wholeNumber(node, 'instantCoalesceMinutes', 10, 1, 1_440),
    instantDailyCap: wholeNumber(node, 'instantDailyCap', 12, 1, 1_000),
    alertConcurrency: wholeNumber(node, 'alertConcurrency', 2, 2, 1_000),
    // The functions accept 1–500 (shared/config.ts).
    feedSize: wholeNumber(node, 'feedSize', 50, 1, 500),
    // EventBridge rates are whole minutes; a day at most keeps the site from going stale unnoticed.
    publishEveryMinutes: wholeNumber(node, 'publishEveryMinutes', 5, 1, 1_440),
    // 20: the benchmark's AWS model finishes a full publish of 100,000 events within three minutes
    // with 20 workers. 2 is the least maximum concurrency an SQS event source takes, 1,000 the most.
    publishWorkers: wholeNumber(node, 'publishWorkers', 20, 2, 1_000),
    // 4: a batch of 100 waits on some 6 round trips (reads, counters, entries, log, marks, SNS), so
    // one batch at a time caps a shard near the API's ingest; 4 keep up with 2,000 events/s on a
    // couple of shards while a batch's writes (≤ 16 in flight each) stay far below any partition's
    // limit. Lambda concurrency is shards × this factor.
    streamParallelization: wholeNumber(node, 'streamParallelization', 4, 1, 10),
    ...(alarmEmail ? { alarmEmail } : {}),
    tracing: tracingOf(node),
  };
};
