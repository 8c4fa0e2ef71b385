import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { traced } from '../tracing.js';

export interface DynamoSettings {
  /** Set for the local runtime and tests (dynalite); unset in AWS. */
  endpoint?: string;
  region?: string;
}

const clientConfig = (settings: DynamoSettings): DynamoDBClientConfig =>
  settings.endpoint
    ? {
        endpoint: settings.endpoint,
        region: settings.region ?? 'local',
        // dynalite accepts any credentials; the SDK insists on having some.
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 5,
      }
    : { region: settings.region };

/** One document client per cold start; handlers receive it through their deps. */
export const createDocumentClient = (settings: DynamoSettings = {}): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(traced(new DynamoDBClient(clientConfig(settings))), {
    marshallOptions: { removeUndefinedValues: true },
  });

/**
 * A low-level client for a path of many small requests (a digest run's ledger claims, one per
 * email): it resolves its middleware stack once per command type instead of on every request
 * (`cacheMiddleware`), a good part of what a request costs its sender. The document client
 * refuses that option, hence a client of its own; add any middleware before its first request.
 */
export const createLowLevelClient = (settings: DynamoSettings = {}): DynamoDBClient =>
  traced(new DynamoDBClient({ ...clientConfig(settings), cacheMiddleware: true }));
