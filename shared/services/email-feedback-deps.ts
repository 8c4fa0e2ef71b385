import { createDocumentClient } from '../adapters/dynamodb.js';
import { makeSubscriptionStore } from '../adapters/subscription-store.js';
import { createSecretsClient, secretsManagerTokenSecret } from '../adapters/token-secret.js';
import { ENV, optionalEnv, requireEnv } from '../config.js';
import { emfMetrics } from '../metrics.js';
import type { EmailFeedbackDeps } from './email-feedback.js';

let cached: EmailFeedbackDeps | undefined;

/** The feedback handler's wiring: the table and the token secret (subscriber ids are HMACs under it); no SES. */
export const emailFeedbackDeps = (): EmailFeedbackDeps => {
  cached ??= {
    store: makeSubscriptionStore(
      createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) }),
      requireEnv(ENV.tableName),
    ),
    tokenSecret: secretsManagerTokenSecret(createSecretsClient(), requireEnv(ENV.tokenSecretArn)),
    now: () => new Date().toISOString(),
    metrics: emfMetrics,
  };
  return cached;
};
