import { createSnsClient } from '../adapters/sns.js';
import { makeSnsWebhooks } from '../adapters/webhooks.js';
import { ENV, requireEnv } from '../config.js';
import type { WebhookDeps } from './webhooks.js';

let cached: WebhookDeps | undefined;

/** The webhook functions' wiring: SNS subscriptions of the topic of changes. */
export const webhookDeps = (): WebhookDeps => {
  cached ??= { webhooks: makeSnsWebhooks(createSnsClient(), requireEnv(ENV.topicArn)) };
  return cached;
};
