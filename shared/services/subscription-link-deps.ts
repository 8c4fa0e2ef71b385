import { createDocumentClient } from '../adapters/dynamodb.js';
import { makeSubscriptionStore } from '../adapters/subscription-store.js';
import { createSecretsClient, secretsManagerTokenSecret } from '../adapters/token-secret.js';
import { ENV, optionalEnv, requireEnv, siteConfigFromEnv } from '../config.js';
import { digestScheduleFromEnv } from './digest-settings.js';
import type { LinkDeps } from './subscriptions.js';

let cached: LinkDeps | undefined;

/**
 * The wiring of the functions behind the links in emails (confirm, unsubscribe, manage): the
 * table, the token secret and the site's settings. No SES client, so their bundles stay small.
 */
export const subscriptionLinkDeps = (): LinkDeps => {
  cached ??= {
    store: makeSubscriptionStore(
      createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) }),
      requireEnv(ENV.tableName),
    ),
    tokenSecret: secretsManagerTokenSecret(createSecretsClient(), requireEnv(ENV.tokenSecretArn)),
    site: siteConfigFromEnv(),
    now: () => new Date().toISOString(),
    delivery: digestScheduleFromEnv(),
  };
  return cached;
};
