import { formBody, html, httpApi, json, queryParams, wantsHtml } from '../shared/http.js';
import {
  renderErrorPage,
  renderUnsubscribedPage,
  renderUnsubscribePage,
} from '../shared/render/subscription-pages.js';
import { lazy } from '../shared/services/deps.js';
import { subscriptionLinkDeps } from '../shared/services/subscription-link-deps.js';
import { formFields, type LinkDeps, unsubscribe, viewUnsubscribe } from '../shared/services/subscriptions.js';

/**
 * GET /api/subscriptions/unsubscribe?token=…: a page with the button, changing nothing (mail
 * scanners open links). POST with `List-Unsubscribe=One-Click` (RFC 8058, also what the button
 * sends): leaves the link's topic, or everything. No login: the signed link is the credential.
 */
export const makeHandler = (deps: LinkDeps | (() => LinkDeps) = subscriptionLinkDeps) => {
  const get = lazy(deps);
  return httpApi(
    async (event) => {
      const { token } = queryParams(event, ['token']);
      const { site } = get();
      if (event.requestContext.http.method === 'POST') {
        const result = await unsubscribe(get(), token, formFields(await formBody(event)));
        const page = renderUnsubscribedPage(site, {
          ...(result.topic ? { topic: result.topic } : {}),
          remaining: result.subscriber?.topics ?? [],
          ...(result.links ? { manage: result.links.manage } : {}),
        });
        return html(200, page);
      }
      const view = await viewUnsubscribe(get(), token);
      if (!wantsHtml(event)) {
        return json(200, {
          subscribed: view.subscriber !== undefined,
          ...(view.topic ? { topic: view.topic } : {}),
        });
      }
      if (!view.subscriber) {
        return html(
          200,
          renderUnsubscribedPage(site, { ...(view.topic ? { topic: view.topic } : {}), remaining: [] }),
        );
      }
      return html(
        200,
        renderUnsubscribePage(site, {
          email: view.subscriber.email,
          ...(view.topic ? { topic: view.topic } : {}),
          // The same URL: the button posts where the link led.
          action: `?token=${encodeURIComponent(token ?? '')}`,
          ...(view.links ? { manage: view.links.manage } : {}),
        }),
      );
    },
    { errorPage: (error) => renderErrorPage(get().site, error) },
  );
};

export const handler = makeHandler();
