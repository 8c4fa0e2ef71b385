import { formBody, html, httpApi, isFormBody, json, jsonBody, wantsHtml } from '../shared/http.js';
import { linkRequestOf, onlyTheToken, withLinkHeaders } from '../shared/link-token.js';
import {
  deliveryViewOf,
  renderErrorPage,
  renderManagePage,
  renderSignedOutPage,
} from '../shared/render/subscription-pages.js';
import { lazy } from '../shared/services/deps.js';
import { subscriptionLinkDeps } from '../shared/services/subscription-link-deps.js';
import {
  deliveryDefaultsOf,
  followsOut,
  formFields,
  type LinkDeps,
  type ManageView,
  manageSubscription,
  preferencesOf,
  signOutLinks,
  viewManage,
} from '../shared/services/subscriptions.js';

/** The route of "sign out all my links" (shared/routes.ts), served by this function too. */
export const SIGN_OUT_ROUTE = 'POST /api/subscriptions/sign-out';

/**
 * GET /api/subscriptions/manage?token=…: the form to change tags, topic labels and cadence. POST
 * (the form, the token in it; or JSON `{tags, topicLabels, cadence}`, the token in the query) applies it, validated like a
 * sign-up, delivery preferences included. POST /api/subscriptions/sign-out: every confirmation and manage link made so far stops working.
 */
export const makeHandler = (deps: LinkDeps | (() => LinkDeps) = subscriptionLinkDeps) => {
  const get = lazy(deps);
  return withLinkHeaders(
    httpApi(
      async (event) => {
        const post = event.requestContext.http.method === 'POST';
        const form = post && isFormBody(event) ? formFields(await formBody(event)) : undefined;
        const { token, field, fields } = linkRequestOf(event, form);
        if (event.routeKey === SIGN_OUT_ROUTE) {
          onlyTheToken(fields);
          await signOutLinks(get(), token, field);
          return wantsHtml(event)
            ? html(200, renderSignedOutPage(get().site))
            : json(200, { signedOut: true });
        }
        let view: ManageView;
        if (post) {
          view = await manageSubscription(get(), token, form ? fields : jsonBody(event), field);
        } else {
          view = await viewManage(get(), token, field);
        }
        const { subscriber } = view;
        if (!wantsHtml(event)) {
          return json(200, {
            ...followsOut(subscriber),
            cadence: subscriber.cadence,
            ...preferencesOf(subscriber),
            offered: { tags: view.offered.tags, topicLabels: view.offered.topics },
            changed: view.changed,
          });
        }
        return html(
          200,
          renderManagePage(get().site, {
            email: subscriber.email,
            tags: subscriber.tags,
            topics: subscriber.topics,
            offered: view.offered,
            cadence: subscriber.cadence,
            delivery: deliveryViewOf(subscriber, deliveryDefaultsOf(get())),
            token: token ?? '',
            leaveToken: new URL(view.unsubscribeAll).searchParams.get('token') ?? '',
            feed: view.feed,
            ...(post ? { notice: view.changed ? 'Saved.' : 'Nothing changed.' } : {}),
          }),
        );
      },
      { errorPage: (error) => renderErrorPage(get().site, error) },
    ),
  );
};

export const handler = makeHandler();
