import { formBody, html, httpApi, isFormBody, json, wantsHtml } from '../shared/http.js';
import { linkRequestOf, onlyTheToken, withLinkHeaders } from '../shared/link-token.js';
import {
  deliveryViewOf,
  renderConfirmedPage,
  renderConfirmPage,
  renderErrorPage,
} from '../shared/render/subscription-pages.js';
import { lazy } from '../shared/services/deps.js';
import { subscriptionLinkDeps } from '../shared/services/subscription-link-deps.js';
import {
  confirmSubscription,
  deliveryDefaultsOf,
  followsOut,
  formFields,
  type LinkDeps,
  preferencesOf,
  viewConfirm,
} from '../shared/services/subscriptions.js';

/**
 * GET /api/subscriptions/confirm?token=…: a page with the button, changing nothing (link scanners
 * open links). POST (the button: the token in the form; or an API client: the token in the
 * query) confirms, idempotently, and shows the subscription.
 */
export const makeHandler = (deps: LinkDeps | (() => LinkDeps) = subscriptionLinkDeps) => {
  const get = lazy(deps);
  return withLinkHeaders(
    httpApi(
      async (event) => {
        const { site } = get();
        if (event.requestContext.http.method !== 'POST') {
          const { token, field } = linkRequestOf(event);
          const view = await viewConfirm(get(), token, field);
          if (!wantsHtml(event)) {
            return json(200, {
              status: view.subscriber.status,
              ...followsOut(view),
              cadence: view.cadence,
              ...view.preferences,
              confirmed: false,
            });
          }
          return html(
            200,
            renderConfirmPage(site, {
              email: view.subscriber.email,
              tags: view.tags,
              topics: view.topics,
              cadence: view.cadence,
              delivery: deliveryViewOf(view.preferences, deliveryDefaultsOf(get())),
              token: token ?? '',
            }),
          );
        }
        const { token, field, fields } = linkRequestOf(
          event,
          isFormBody(event) ? formFields(await formBody(event)) : {},
        );
        onlyTheToken(fields);
        const { subscriber, links, changed } = await confirmSubscription(get(), token, field);
        if (wantsHtml(event)) {
          return html(
            200,
            renderConfirmedPage(site, {
              tags: subscriber.tags,
              topics: subscriber.topics,
              cadence: subscriber.cadence,
              delivery: deliveryViewOf(subscriber, deliveryDefaultsOf(get())),
              manage: links.manage,
              unsubscribeAll: links.unsubscribeAll,
            }),
          );
        }
        return json(200, {
          status: subscriber.status,
          ...followsOut(subscriber),
          cadence: subscriber.cadence,
          ...preferencesOf(subscriber),
          changed,
        });
      },
      { errorPage: (error) => renderErrorPage(get().site, error) },
    ),
  );
};

export const handler = makeHandler();
