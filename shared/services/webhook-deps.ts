import { createDocumentClient } from '../adapters/dynamodb.js';
import { createSnsClient } from '../adapters/sns.js';
import { makeWebhookOwnerStore } from '../adapters/webhook-owners.js';
import { makeSnsWebhooks } from '../adapters/webhooks.js';
import { ENV, optionalEnv, requireEnv } from '../config.js';
import { parseWebhooksPerKey, type WebhookDeps } from './webhooks.js';

/**
 * The webhook functions' wiring: SNS subscriptions of the topic of changes, their owners in the
 * table, https only. Listing and deleting never meet the cap, so only creating reads it.
 */
export const webhookDepsFromEnv = (env: NodeJS.ProcessEnv = process.env): WebhookDeps => ({
  webhooks: makeSnsWebhooks(createSnsClient(), requireEnv(ENV.topicArn, env)),
  owners: makeWebhookOwnerStore(
    createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint, env) }),
    requireEnv(ENV.tableName, env),
  ),
  perKey: Number.POSITIVE_INFINITY,
  httpsOnly: true,
  now: () => new Date().toISOString(),
});

/** Creating webhooks: WEBHOOKS_PER_KEY is required (no default hides a missing setting in AWS). */
export const createWebhookDepsFromEnv = (env: NodeJS.ProcessEnv = process.env): WebhookDeps => ({
  ...webhookDepsFromEnv(env),
  perKey: parseWebhooksPerKey(requireEnv(ENV.webhooksPerKey, env)),
});

let cached: WebhookDeps | undefined;
let cachedForCreate: WebhookDeps | undefined;

/** Built once per cold start, on first use. */
export const webhookDeps = (): WebhookDeps => {
  cached ??= webhookDepsFromEnv();
  return cached;
};

export const createWebhookDeps = (): WebhookDeps => {
  cachedForCreate ??= createWebhookDepsFromEnv();
  return cachedForCreate;
};
