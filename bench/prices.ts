/**
 * us-east-1 list prices (on-demand, pay as you go) the cost model multiplies its counts by, and
 * AWS's always-free allowances, as looked up on PRICES_DATE.
 *
 * `source` is the pricing page each price belongs to. `checked` says how it was confirmed on that
 * date: `aws` when the figure was read on an aws.amazon.com page, `secondary` when only on
 * third-party pages quoting AWS's pricing page (two or more agreeing), `unconfirmed` when neither
 * (the figure is the one last known; check it before relying on it). docs/costs.md prints this
 * table, so the doc and the code name the same date.
 */
export const PRICES_DATE = '2026-12-06';

export type Service =
  | 'DynamoDB'
  | 'Lambda'
  | 'API Gateway'
  | 'SNS'
  | 'SES'
  | 'SQS'
  | 'S3'
  | 'CloudFront'
  | 'CloudWatch'
  | 'CloudWatch Logs'
  | 'Secrets Manager'
  | 'KMS';

export interface Price {
  service: Service;
  /** What is counted, in the unit `per` counts. */
  item: string;
  /** Dollars for `per` units. */
  usd: number;
  per: number;
  unit: string;
  source: string;
  checked: 'aws' | 'secondary' | 'unconfirmed';
  /** Always-free allowance a month, in the item's units (never the 12-month new-account offers). */
  free?: number;
  /** Where the allowance comes from, or why there is none. */
  freeNote?: string;
}

const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const API_GATEWAY = 'https://aws.amazon.com/api-gateway/pricing/';
const SNS = 'https://aws.amazon.com/sns/pricing/';
const SES = 'https://aws.amazon.com/ses/pricing/';
const SQS = 'https://aws.amazon.com/sqs/pricing/';
const S3 = 'https://aws.amazon.com/s3/pricing/';
const CLOUDFRONT = 'https://aws.amazon.com/cloudfront/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const SECRETS = 'https://aws.amazon.com/secrets-manager/pricing/';
const KMS = 'https://aws.amazon.com/kms/pricing/';

export const PRICES = {
  // On-demand throughput after the November 2024 reduction (half the earlier $1.25 / $0.25).
  dynamoWrite: {
    service: 'DynamoDB',
    item: 'write request units (table and indexes)',
    usd: 0.625,
    per: 1e6,
    unit: 'WRU',
    source: DYNAMODB,
    checked: 'secondary',
    freeNote: 'none for on-demand (the 25 WCU/RCU allowance is provisioned capacity)',
  },
  dynamoRead: {
    service: 'DynamoDB',
    item: 'read request units',
    usd: 0.125,
    per: 1e6,
    unit: 'RRU',
    source: DYNAMODB,
    checked: 'secondary',
    freeNote: 'none for on-demand',
  },
  dynamoStorage: {
    service: 'DynamoDB',
    item: 'storage, table and indexes (Standard class)',
    usd: 0.25,
    per: 1,
    unit: 'GB-month',
    source: DYNAMODB,
    checked: 'secondary',
    free: 25,
    freeNote: '25 GB always free',
  },
  dynamoPitr: {
    service: 'DynamoDB',
    item: 'point-in-time recovery (continuous backups)',
    usd: 0.2,
    per: 1,
    unit: 'GB-month',
    source: DYNAMODB,
    checked: 'unconfirmed',
  },
  lambdaRequests: {
    service: 'Lambda',
    item: 'invocations',
    usd: 0.2,
    per: 1e6,
    unit: 'requests',
    source: LAMBDA,
    checked: 'secondary',
    free: 1e6,
    freeNote: '1M requests always free',
  },
  lambdaArmGbSeconds: {
    service: 'Lambda',
    item: 'duration, Arm (the stack runs arm64)',
    usd: 0.0000133334,
    per: 1,
    unit: 'GB-s',
    source: LAMBDA,
    checked: 'secondary',
    free: 400_000,
    freeNote: '400,000 GB-s always free',
  },
  apiRequests: {
    service: 'API Gateway',
    item: 'HTTP API requests (first 300M)',
    usd: 1.0,
    per: 1e6,
    unit: 'requests',
    source: API_GATEWAY,
    checked: 'aws',
    freeNote: 'none always free (1M a month for 12 months for new accounts only)',
  },
  snsPublishes: {
    service: 'SNS',
    item: 'publish requests (each 64 KB chunk)',
    usd: 0.5,
    per: 1e6,
    unit: 'requests',
    source: SNS,
    checked: 'secondary',
    free: 1e6,
    freeNote: '1M publishes always free',
  },
  sesEmails: {
    service: 'SES',
    item: 'outbound emails',
    usd: 0.1,
    per: 1000,
    unit: 'emails',
    source: SES,
    checked: 'secondary',
    freeNote: 'none always free (3,000 a month for 12 months for new accounts only)',
  },
  sqsRequests: {
    service: 'SQS',
    item: 'standard queue requests (each 64 KB chunk)',
    usd: 0.4,
    per: 1e6,
    unit: 'requests',
    source: SQS,
    checked: 'secondary',
    free: 1e6,
    freeNote: '1M requests always free',
  },
  s3Put: {
    service: 'S3',
    item: 'PUT requests',
    usd: 0.005,
    per: 1000,
    unit: 'requests',
    source: S3,
    checked: 'unconfirmed',
    freeNote: 'none always free (12 months for new accounts only)',
  },
  s3Get: {
    service: 'S3',
    item: 'GET and HEAD requests',
    usd: 0.0004,
    per: 1000,
    unit: 'requests',
    source: S3,
    checked: 'unconfirmed',
  },
  s3Storage: {
    service: 'S3',
    item: 'storage (Standard)',
    usd: 0.023,
    per: 1,
    unit: 'GB-month',
    source: S3,
    checked: 'unconfirmed',
  },
  cloudfrontRequests: {
    service: 'CloudFront',
    item: 'HTTPS requests (United States)',
    usd: 0.01,
    per: 10_000,
    unit: 'requests',
    source: CLOUDFRONT,
    checked: 'secondary',
    free: 10e6,
    freeNote: '10M requests always free',
  },
  cloudfrontTransfer: {
    service: 'CloudFront',
    item: 'data transfer out (United States, first 10 TB price for all)',
    usd: 0.085,
    per: 1,
    unit: 'GB',
    source: CLOUDFRONT,
    checked: 'aws',
    free: 1024,
    freeNote: '1 TB always free',
  },
  cloudfrontFunctions: {
    service: 'CloudFront',
    item: 'CloudFront Functions invocations',
    usd: 0.1,
    per: 1e6,
    unit: 'invocations',
    source: CLOUDFRONT,
    checked: 'unconfirmed',
    free: 2e6,
    freeNote: '2M invocations always free',
  },
  customMetrics: {
    service: 'CloudWatch',
    item: 'custom metrics (first 10,000)',
    usd: 0.3,
    per: 1,
    unit: 'metric-months',
    source: CLOUDWATCH,
    checked: 'secondary',
    free: 10,
    freeNote: '10 metrics always free',
  },
  alarmMetrics: {
    service: 'CloudWatch',
    item: 'standard-resolution alarm metrics',
    usd: 0.1,
    per: 1,
    unit: 'alarm-metric-months',
    source: CLOUDWATCH,
    checked: 'secondary',
    free: 10,
    freeNote: '10 alarm metrics always free',
  },
  dashboards: {
    service: 'CloudWatch',
    item: 'dashboards',
    usd: 3.0,
    per: 1,
    unit: 'dashboard-months',
    source: CLOUDWATCH,
    checked: 'secondary',
    free: 3,
    freeNote: '3 dashboards (up to 50 metrics each) always free',
  },
  logsIngestion: {
    service: 'CloudWatch Logs',
    item: 'log ingestion (Standard class)',
    usd: 0.5,
    per: 1,
    unit: 'GB',
    source: CLOUDWATCH,
    checked: 'secondary',
    free: 5,
    freeNote: '5 GB of log data (ingestion, storage and Insights scans together) always free',
  },
  logsStorage: {
    service: 'CloudWatch Logs',
    item: 'log storage',
    usd: 0.03,
    per: 1,
    unit: 'GB-month',
    source: CLOUDWATCH,
    checked: 'secondary',
  },
  secrets: {
    service: 'Secrets Manager',
    item: 'secrets',
    usd: 0.4,
    per: 1,
    unit: 'secret-months',
    source: SECRETS,
    checked: 'secondary',
    freeNote: 'none always free (a 30-day trial only)',
  },
  secretCalls: {
    service: 'Secrets Manager',
    item: 'API calls',
    usd: 0.05,
    per: 10_000,
    unit: 'calls',
    source: SECRETS,
    checked: 'secondary',
  },
  kmsKeys: {
    service: 'KMS',
    item: 'customer managed keys (rotation on: +$1 a rotated version after the first year)',
    usd: 1.0,
    per: 1,
    unit: 'key-months',
    source: KMS,
    checked: 'aws',
  },
  kmsRequests: {
    service: 'KMS',
    item: 'requests (symmetric)',
    usd: 0.03,
    per: 10_000,
    unit: 'requests',
    source: KMS,
    checked: 'aws',
    free: 20_000,
    freeNote: '20,000 requests always free',
  },
} as const satisfies Record<string, Price>;

export type PriceKey = keyof typeof PRICES;
