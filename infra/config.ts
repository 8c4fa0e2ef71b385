import type { Node } from 'constructs';

/** Deploy settings, from cdk.json context or `-c key=value`, validated before anything is built. */
export interface TidingsConfig {
  /** What happens to the table when the stack is deleted. */
  removalPolicy: 'retain' | 'destroy';
  /** Days that function logs are kept. */
  logRetentionDays: number;
  /** Requests per second the HTTP API accepts before throttling (steady rate). */
  apiRateLimit: number;
  apiBurstLimit: number;
  /** Public base URL of the site, for permalinks (https://news.example.org). */
  siteUrl?: string;
  /** Newest events per feed. */
  feedSize: number;
  /** Minutes between publish runs. */
  publishEveryMinutes: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const read = (node: Node, key: string): unknown =>
  node.tryGetContext(`tidings:${key}`) ?? node.tryGetContext(key);

const positiveInt = (node: Node, key: string, fallback: number): number => {
  const raw = read(node, key);
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${key}: must be a positive whole number (got ${JSON.stringify(raw)})`);
  }
  return value;
};

export const loadConfig = (node: Node): TidingsConfig => {
  const removalPolicy = read(node, 'removalPolicy') ?? 'retain';
  if (removalPolicy !== 'retain' && removalPolicy !== 'destroy') {
    throw new ConfigError(
      `removalPolicy: must be "retain" or "destroy" (got ${JSON.stringify(removalPolicy)})`,
    );
  }
  const logRetentionDays = positiveInt(node, 'logRetentionDays', 30);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    throw new ConfigError(
      `logRetentionDays: must be one of ${LOG_RETENTION_DAYS.join(', ')} (got ${logRetentionDays})`,
    );
  }
  const siteUrl = read(node, 'siteUrl');
  if (
    siteUrl !== undefined &&
    (typeof siteUrl !== 'string' || !/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(siteUrl))
  ) {
    throw new ConfigError(
      `siteUrl: must be an absolute http(s) URL such as https://news.example.org (got ${JSON.stringify(siteUrl)})`,
    );
  }
  return {
    ...(typeof siteUrl === 'string' ? { siteUrl: siteUrl.replace(/\/+$/, '') } : {}),
    removalPolicy,
    logRetentionDays,
    apiRateLimit: positiveInt(node, 'apiRateLimit', 50),
    apiBurstLimit: positiveInt(node, 'apiBurstLimit', 100),
    feedSize: positiveInt(node, 'feedSize', 50),
    publishEveryMinutes: positiveInt(node, 'publishEveryMinutes', 5),
  };
};
