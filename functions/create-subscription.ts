import { formBody, html, httpApi, isFormBody, json, jsonBody, queryParams } from '../shared/http.js';
import { renderErrorPage, renderRequestedPage } from '../shared/render/subscription-pages.js';
import { lazy } from '../shared/services/deps.js';
import { subscriptionDeps } from '../shared/services/subscription-deps.js';
import { formFields, requestSubscription, type SubscriptionDeps } from '../shared/services/subscriptions.js';

/**
 * POST /api/subscriptions: `{email, tags, cadence}` as JSON (202 JSON) or as the subscribe form
 * posts it (202 page). The answer never tells whether the address was known.
 */
export const makeHandler = (deps: SubscriptionDeps | (() => SubscriptionDeps) = subscriptionDeps) => {
  const get = lazy(deps);
  return httpApi(
    async (event) => {
      queryParams(event, []);
      const form = isFormBody(event);
      const answer = await requestSubscription(
        get(),
        form ? formFields(await formBody(event)) : jsonBody(event),
      );
      if (form) return html(202, renderRequestedPage(get().site, answer));
      return json(202, {
        message:
          'If this address can receive email, a confirmation link is on its way to it; it works for 48 hours.',
        ...answer,
      });
    },
    { errorPage: (error) => renderErrorPage(get().site, error) },
  );
};

export const handler = makeHandler();
