import { html, httpApi, json, queryParams, wantsHtml } from '../shared/http.js';
import { renderConfirmedPage, renderErrorPage } from '../shared/render/subscription-pages.js';
import { lazy } from '../shared/services/deps.js';
import { subscriptionLinkDeps } from '../shared/services/subscription-link-deps.js';
import { confirmSubscription, type LinkDeps } from '../shared/services/subscriptions.js';

/** GET /api/subscriptions/confirm?token=…: confirms (idempotent) and shows the subscription. */
export const makeHandler = (deps: LinkDeps | (() => LinkDeps) = subscriptionLinkDeps) => {
  const get = lazy(deps);
  return httpApi(
    async (event) => {
      const { token } = queryParams(event, ['token']);
      const { subscriber, links, changed } = await confirmSubscription(get(), token);
      if (wantsHtml(event)) {
        return html(
          200,
          renderConfirmedPage(get().site, {
            topics: subscriber.topics,
            cadence: subscriber.cadence,
            manage: links.manage,
            unsubscribeAll: links.unsubscribeAll,
          }),
        );
      }
      return json(200, {
        status: subscriber.status,
        topics: subscriber.topics,
        cadence: subscriber.cadence,
        changed,
      });
    },
    { errorPage: (error) => renderErrorPage(get().site, error) },
  );
};

export const handler = makeHandler();
