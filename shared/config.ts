import { defaultSiteConfig, type SiteConfig } from './domain/site.js';
import { parseExternalHubs } from './domain/websub.js';

/** Environment variable names, imported by the CDK constructs and by the runtime. */
export const ENV = {
  tableName: 'TABLE_NAME',
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  siteUrl: 'SITE_URL',
  topicArn: 'TOPIC_ARN',
  siteBucket: 'SITE_BUCKET',
  siteTitle: 'SITE_TITLE',
  feedSize: 'FEED_SIZE',
  /** Secrets Manager ARN of the token-signing secret (AWS). */
  tokenSecretArn: 'TOKEN_SECRET_ARN',
  /** Secrets Manager ARN of the secret CloudFront sends the API to prove a request came through it (AWS). */
  originSecretArn: 'ORIGIN_SECRET_ARN',
  /** Sender of confirmation and digest emails. */
  fromAddress: 'FROM_ADDRESS',
  /** SES v2 configuration set every message is sent with (bounce and complaint events). */
  sesConfigurationSet: 'SES_CONFIGURATION_SET',
  /** SQS queue of digest work: planning continuations and batches of subscribers. */
  digestQueueUrl: 'DIGEST_QUEUE_URL',
  /** Local hour (0–23, in DEFAULT_TIME_ZONE) of the digests of subscribers who have not chosen one. */
  digestHour: 'DIGEST_HOUR',
  /** Day of the weekly digest of subscribers who have not chosen one, 0 = Sunday … 6 = Saturday. */
  digestWeekday: 'DIGEST_WEEKDAY',
  /** IANA zone of subscribers who have not chosen one (default UTC): their digest hour, alert day and quiet hours. */
  defaultTimeZone: 'DEFAULT_TIME_ZONE',
  /** Messages per second one digest worker sends at most. */
  digestSendRate: 'DIGEST_SEND_RATE',
  /** SQS queue of instant alerts: change messages from the topic, and delayed looks at subscribers. */
  alertQueueUrl: 'ALERT_QUEUE_URL',
  /** Minutes after an alert during which further events wait and then go together. */
  alertCoalesceMinutes: 'ALERT_COALESCE_MINUTES',
  /** Alerts per subscriber and local day at most. */
  alertDailyCap: 'ALERT_DAILY_CAP',
  /** Global budget of confirmation emails per hour (sign-up); beyond it nothing is sent. */
  confirmationsPerHour: 'CONFIRMATIONS_PER_HOUR',
  /** Most webhooks one API key may register. */
  webhooksPerKey: 'WEBHOOKS_PER_KEY',
  /** SQS queue of a full publish's slices: the planner sends them, the slice workers take them. */
  publishQueueUrl: 'PUBLISH_QUEUE_URL',
  /** SQS queue of the WebSub hub's work: verifications, distributions, deliveries and their retries. */
  hubQueueUrl: 'HUB_QUEUE_URL',
  /** Most live WebSub subscriptions per callback host. */
  websubPerHost: 'WEBSUB_PER_HOST',
  /** Most live WebSub subscriptions per feed. */
  websubPerFeed: 'WEBSUB_PER_FEED',
  /** External WebSub hubs every feed names and the hub pings on a change, comma-separated https URLs. */
  websubHubs: 'WEBSUB_HUBS',
  /**
   * `active` when the function is traced with X-Ray. Also fixed in the bundle when it is built:
   * shared/tracing.ts spells it out as `process.env.TIDINGS_TRACING`, which is what the bundler replaces.
   */
  tracing: 'TIDINGS_TRACING',
} as const;

/**
 * Node options of a slice worker, in AWS (its NODE_OPTIONS) and locally: a young generation of
 * 2 x 16 MB and an old space of 320 MB. A slice holds its month (or its tags) and the plan's
 * compact index, some 100-150 MB at 100,000 events over 2,000 tags; without a limit V8 sizes its
 * heap from the function's memory (1,769 MB, for the vCPU) and lets garbage grow to several
 * times that before collecting it.
 */
export const SLICE_WORKER_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=16',
  '--max-old-space-size=320',
];

export class MissingSettingError extends Error {
  constructor(name: string) {
    super(`environment variable ${name} is not set`);
    this.name = 'MissingSettingError';
  }
}

/** Reads a required setting; throws on first use when it is missing rather than running half-configured. */
export const requireEnv = (name: string, env: NodeJS.ProcessEnv = process.env): string => {
  const value = env[name];
  if (value === undefined || value === '') throw new MissingSettingError(name);
  return value;
};

export const optionalEnv = (name: string, env: NodeJS.ProcessEnv = process.env): string | undefined => {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
};

/** The site's settings in a function: SITE_URL is required; title and feed size have product defaults. */
export const siteConfigFromEnv = (env: NodeJS.ProcessEnv = process.env): SiteConfig => {
  const feedSize = Number(optionalEnv(ENV.feedSize, env) ?? 50);
  if (!Number.isInteger(feedSize) || feedSize < 1 || feedSize > 500) {
    throw new Error(`${ENV.feedSize} must be a whole number from 1 to 500`);
  }
  const site = defaultSiteConfig(requireEnv(ENV.siteUrl, env));
  const hubs = parseExternalHubs(optionalEnv(ENV.websubHubs, env), ENV.websubHubs);
  return {
    ...site,
    title: optionalEnv(ENV.siteTitle, env) ?? site.title,
    feedSize,
    ...(hubs.length > 0 ? { hubs } : {}),
  };
};
