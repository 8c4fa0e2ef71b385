import { formBody, html, httpApi, json, wantsHtml } from '../shared/http.js';
import { linkRequestOf, withLinkHeaders } from '../shared/link-token.js';
import {
  renderErrorPage,
  renderUnsubscribedPage,
  renderUnsubscribePage,
} from '../shared/render/subscription-pages.js';
import { lazy } from '../shared/services/deps.js';
import { subscriptionLinkDeps } from '../shared/services/subscription-link-deps.js';
import {
  formFields,
  type LinkDeps,
  scopeOut,
  type UnsubscribeView,
  unsubscribe,
  viewUnsubscribe,
} from '../shared/services/subscriptions.js';

/**
 * GET /api/subscriptions/unsubscribe?token=…: a page with the button, changing nothing (mail
 * scanners open links). POST with `List-Unsubscribe=One-Click` (RFC 8058, the token in the query;
 * or the page's button, the token in the form): leaves the link's tag or topic label, or everything. No login:
 * the signed link is the credential, and it can do nothing else.
 */
/** The tag or topic label a link leaves, for the pages (nothing: everything). */
const scopeOf = (view: UnsubscribeView): Pick<UnsubscribeView, 'tag' | 'topic'> => ({
  ...(view.tag ? { tag: view.tag } : {}),
  ...(view.topic ? { topic: view.topic } : {}),
});

export const makeHandler = (deps: LinkDeps | (() => LinkDeps) = subscriptionLinkDeps) => {
  const get = lazy(deps);
  return withLinkHeaders(
    httpApi(
      async (event) => {
        const { site } = get();
        if (event.requestContext.http.method === 'POST') {
          const { token, field, fields } = linkRequestOf(event, formFields(await formBody(event)));
          const result = await unsubscribe(get(), token, fields, field);
          const page = renderUnsubscribedPage(site, {
            ...scopeOf(result),
            remaining: { tags: result.subscriber?.tags ?? [], topics: result.subscriber?.topics ?? [] },
          });
          return html(200, page);
        }
        const { token, field } = linkRequestOf(event);
        const view = await viewUnsubscribe(get(), token, field);
        if (!wantsHtml(event)) {
          return json(200, {
            subscribed: view.subscriber !== undefined,
            ...scopeOut(view),
          });
        }
        if (!view.subscriber) {
          return html(
            200,
            renderUnsubscribedPage(site, { ...scopeOf(view), remaining: { tags: [], topics: [] } }),
          );
        }
        return html(
          200,
          renderUnsubscribePage(site, {
            email: view.subscriber.email,
            ...scopeOf(view),
            token: token ?? '',
          }),
        );
      },
      { errorPage: (error) => renderErrorPage(get().site, error) },
    ),
  );
};

export const handler = makeHandler();
