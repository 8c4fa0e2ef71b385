import { httpApi } from '../shared/http.js';
import { lazy } from '../shared/services/deps.js';
import { webhookDeps } from '../shared/services/webhook-deps.js';
import { removeWebhook, type WebhookDeps } from '../shared/services/webhooks.js';

/** DELETE /api/webhooks/{id}: unsubscribes the endpoint. */
export const makeHandler = (deps: WebhookDeps | (() => WebhookDeps) = webhookDeps) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    await removeWebhook(get(), event.pathParameters?.id ?? '');
    return { statusCode: 204 };
  });
};

export const handler = makeHandler();
