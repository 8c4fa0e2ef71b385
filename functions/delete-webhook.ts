import { callerOf, httpApi } from '../shared/http.js';
import { lazy } from '../shared/services/deps.js';
import { webhookDeps } from '../shared/services/webhook-deps.js';
import { removeWebhook, type WebhookDeps } from '../shared/services/webhooks.js';

/** DELETE /api/webhooks/{id}: unsubscribes an endpoint the caller's key registered. */
export const makeHandler = (deps: WebhookDeps | (() => WebhookDeps) = webhookDeps) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    await removeWebhook(get(), callerOf(event), event.pathParameters?.id ?? '');
    return { statusCode: 204 };
  });
};

export const handler = makeHandler();
