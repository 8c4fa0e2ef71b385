import { makeSqsAlertQueue } from '../adapters/alert-queue.js';
import { makeAlertStore } from '../adapters/alert-store.js';
import { createDocumentClient, createLowLevelClient } from '../adapters/dynamodb.js';
import { createSesClient, makeSesMailer } from '../adapters/ses-mailer.js';
import { createSqsClient } from '../adapters/sqs.js';
import { createSecretsClient, secretsManagerTokenSecret } from '../adapters/token-secret.js';
import { ENV, optionalEnv, requireEnv, siteConfigFromEnv } from '../config.js';
import { emfMetrics } from '../metrics.js';
import { alertComposer } from './alert-email.js';
import { alertSettingsFromEnv } from './alert-settings.js';
import type { AlertDeps } from './alerts.js';
import { digestSendRateFromEnv } from './digest-settings.js';

let cached: AlertDeps | undefined;

/** The alert worker's wiring: the table, its own queue (for looks), SES, the token secret, the rules' settings. */
export const alertDeps = (): AlertDeps => {
  if (!cached) {
    const now = () => Date.now();
    const endpoint = optionalEnv(ENV.dynamodbEndpoint);
    cached = {
      store: makeAlertStore(
        createDocumentClient({ endpoint }),
        requireEnv(ENV.tableName),
        createLowLevelClient({ endpoint }),
      ),
      queue: makeSqsAlertQueue(createSqsClient(), requireEnv(ENV.alertQueueUrl), now),
      mailer: makeSesMailer(createSesClient(), { configurationSet: requireEnv(ENV.sesConfigurationSet) }),
      compose: alertComposer({
        site: siteConfigFromEnv(),
        from: requireEnv(ENV.fromAddress),
        tokenSecret: secretsManagerTokenSecret(createSecretsClient(), requireEnv(ENV.tokenSecretArn)),
        now,
      }),
      settings: alertSettingsFromEnv(),
      // The same per-worker pace as digests (DIGEST_SEND_RATE): the stack splits SES's account rate between them.
      sendRate: digestSendRateFromEnv(),
      now,
      metrics: emfMetrics,
    };
  }
  return cached;
};
