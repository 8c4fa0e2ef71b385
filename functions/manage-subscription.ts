import {
  formBody,
  html,
  httpApi,
  isFormBody,
  json,
  jsonBody,
  queryParams,
  wantsHtml,
} from '../shared/http.js';
import { renderErrorPage, renderManagePage } from '../shared/render/subscription-pages.js';
import { lazy } from '../shared/services/deps.js';
import { subscriptionLinkDeps } from '../shared/services/subscription-link-deps.js';
import {
  formFields,
  type LinkDeps,
  type ManageView,
  manageSubscription,
  viewManage,
} from '../shared/services/subscriptions.js';

/**
 * GET /api/subscriptions/manage?token=…: the form to change topics and cadence. POST (the form,
 * or JSON `{tags, cadence}`) applies it, validated like a sign-up.
 */
export const makeHandler = (deps: LinkDeps | (() => LinkDeps) = subscriptionLinkDeps) => {
  const get = lazy(deps);
  return httpApi(
    async (event) => {
      const { token } = queryParams(event, ['token']);
      let view: ManageView;
      if (event.requestContext.http.method === 'POST') {
        const input = isFormBody(event) ? formFields(await formBody(event)) : jsonBody(event);
        view = await manageSubscription(get(), token, input);
      } else {
        view = await viewManage(get(), token);
      }
      const { subscriber } = view;
      if (!wantsHtml(event)) {
        return json(200, {
          topics: subscriber.topics,
          cadence: subscriber.cadence,
          offered: view.offered,
          changed: view.changed,
        });
      }
      const query = `?token=${encodeURIComponent(token ?? '')}`;
      return html(
        200,
        renderManagePage(get().site, {
          email: subscriber.email,
          topics: subscriber.topics,
          offered: view.offered,
          cadence: subscriber.cadence,
          action: query,
          leave: `unsubscribe${new URL(view.links.unsubscribeAll).search}`,
          ...(event.requestContext.http.method === 'POST'
            ? { notice: view.changed ? 'Saved.' : 'Nothing changed.' }
            : {}),
        }),
      );
    },
    { errorPage: (error) => renderErrorPage(get().site, error) },
  );
};

export const handler = makeHandler();
