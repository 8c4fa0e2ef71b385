import { makeDigestStore } from '../adapters/digest-store.js';
import { createDocumentClient } from '../adapters/dynamodb.js';
import { makeSubscriptionStore } from '../adapters/subscription-store.js';
import { createSecretsClient, secretsManagerTokenSecret } from '../adapters/token-secret.js';
import { ENV, optionalEnv, requireEnv, siteConfigFromEnv } from '../config.js';
import type { FeedDeps } from './subscriber-feed.js';

let cached: FeedDeps | undefined;

/** The private feed's wiring: subscribers, the change log and events, the token secret, the site. */
export const subscriberFeedDeps = (): FeedDeps => {
  if (!cached) {
    const db = createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) });
    const tableName = requireEnv(ENV.tableName);
    cached = {
      store: makeSubscriptionStore(db, tableName),
      changes: makeDigestStore(db, tableName),
      tokenSecret: secretsManagerTokenSecret(createSecretsClient(), requireEnv(ENV.tokenSecretArn)),
      site: siteConfigFromEnv(),
      now: () => new Date().toISOString(),
    };
  }
  return cached;
};
