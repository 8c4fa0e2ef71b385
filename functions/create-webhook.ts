import { callerOf, httpApi, json, jsonBody } from '../shared/http.js';
import { lazy } from '../shared/services/deps.js';
import { createWebhookDeps } from '../shared/services/webhook-deps.js';
import { addWebhook, type WebhookDeps } from '../shared/services/webhooks.js';

/**
 * POST /api/webhooks: subscribes an integrator's URL to the changes, filtered by tags and change
 * types, as a webhook of the caller's key (at most WEBHOOKS_PER_KEY of them; https only in AWS).
 */
export const makeHandler = (deps: WebhookDeps | (() => WebhookDeps) = createWebhookDeps) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    const webhook = await addWebhook(get(), callerOf(event), jsonBody(event));
    return json(201, webhook, { location: `/api/webhooks/${webhook.id}` });
  });
};

export const handler = makeHandler();
