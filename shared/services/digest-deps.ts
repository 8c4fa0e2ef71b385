import { makeDigestStore } from '../adapters/digest-store.js';
import { createDocumentClient, createLowLevelClient } from '../adapters/dynamodb.js';
import { createSesClient, makeSesMailer } from '../adapters/ses-mailer.js';
import { createSqsClient, makeSqsDigestQueue } from '../adapters/sqs.js';
import { createSecretsClient, secretsManagerTokenSecret } from '../adapters/token-secret.js';
import { ENV, optionalEnv, requireEnv, siteConfigFromEnv } from '../config.js';
import { emfMetrics } from '../metrics.js';
import { digestComposer } from './digest-email.js';
import { digestScheduleFromEnv, digestSendRateFromEnv } from './digest-settings.js';
import type { DigestDeps } from './digests.js';

let cached: Omit<DigestDeps, 'remainingMs'> | undefined;

/** The digest functions' wiring: store, SQS queue, SES, the token secret, the site's settings. */
export const digestDeps = (): Omit<DigestDeps, 'remainingMs'> => {
  if (!cached) {
    const now = () => Date.now();
    const endpoint = optionalEnv(ENV.dynamodbEndpoint);
    const schedule = digestScheduleFromEnv();
    cached = {
      store: makeDigestStore(
        createDocumentClient({ endpoint }),
        requireEnv(ENV.tableName),
        createLowLevelClient({ endpoint }),
      ),
      queue: makeSqsDigestQueue(createSqsClient(), requireEnv(ENV.digestQueueUrl)),
      mailer: makeSesMailer(createSesClient(), { configurationSet: requireEnv(ENV.sesConfigurationSet) }),
      compose: digestComposer({
        site: siteConfigFromEnv(),
        from: requireEnv(ENV.fromAddress),
        tokenSecret: secretsManagerTokenSecret(createSecretsClient(), requireEnv(ENV.tokenSecretArn)),
        now,
        timeZone: schedule.timeZone,
      }),
      schedule,
      sendRate: digestSendRateFromEnv(),
      now,
      metrics: emfMetrics,
    };
  }
  return cached;
};
