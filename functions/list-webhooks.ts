import { callerOf, httpApi, json, queryParams } from '../shared/http.js';
import { lazy } from '../shared/services/deps.js';
import { webhookDeps } from '../shared/services/webhook-deps.js';
import { listWebhooks, type WebhookDeps } from '../shared/services/webhooks.js';

/** GET /api/webhooks: the caller's key's webhooks, URLs without query strings, with filter and status. */
export const makeHandler = (deps: WebhookDeps | (() => WebhookDeps) = webhookDeps) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    queryParams(event, []);
    return json(200, { webhooks: await listWebhooks(get(), callerOf(event)) });
  });
};

export const handler = makeHandler();
