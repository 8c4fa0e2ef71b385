import { createDocumentClient } from '../adapters/dynamodb.js';
import { createSesClient, makeSesMailer } from '../adapters/ses-mailer.js';
import { makeSubscriptionStore } from '../adapters/subscription-store.js';
import { createSecretsClient, secretsManagerTokenSecret } from '../adapters/token-secret.js';
import { ENV, optionalEnv, requireEnv, siteConfigFromEnv } from '../config.js';
import type { SubscriptionDeps } from './subscriptions.js';

let cached: SubscriptionDeps | undefined;

/** The subscription functions' wiring: the table, the token secret, SES and the site's settings. */
export const subscriptionDeps = (): SubscriptionDeps => {
  cached ??= {
    store: makeSubscriptionStore(
      createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) }),
      requireEnv(ENV.tableName),
    ),
    tokenSecret: secretsManagerTokenSecret(createSecretsClient(), requireEnv(ENV.tokenSecretArn)),
    mailer: makeSesMailer(createSesClient(), { configurationSet: requireEnv(ENV.sesConfigurationSet) }),
    site: siteConfigFromEnv(),
    from: requireEnv(ENV.fromAddress),
    now: () => new Date().toISOString(),
  };
  return cached;
};
