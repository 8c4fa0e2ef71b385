import { clientOf, crossSiteRule, ORIGIN_HEADER, VIEWER_ADDRESS_HEADER } from '../shared/domain/signup.js';
import { ForbiddenError } from '../shared/errors.js';
import {
  type ApiEvent,
  formBody,
  html,
  httpApi,
  isFormBody,
  json,
  jsonBody,
  queryParams,
} from '../shared/http.js';
import { flushMetrics } from '../shared/metrics.js';
import {
  deliveryViewOf,
  renderCrossSitePage,
  renderErrorPage,
  renderRequestedPage,
} from '../shared/render/subscription-pages.js';
import { lazy } from '../shared/services/deps.js';
import { type SignupFunctionDeps, subscriptionDeps } from '../shared/services/subscription-deps.js';
import {
  deliveryDefaultsOf,
  followsOut,
  preferencesOf,
  requestSubscription,
  signupForm,
} from '../shared/services/subscriptions.js';

class CrossSiteError extends ForbiddenError {}

/** A form posted from another site (a page making its visitors sign a victim up) is refused. */
const refuseCrossSite = (event: ApiEvent, siteUrl: string): void => {
  const refused = crossSiteRule(
    { secFetchSite: event.headers['sec-fetch-site'], origin: event.headers.origin },
    siteUrl,
  );
  if (refused) throw new CrossSiteError(`${refused.path}: ${refused.rule}`);
};

/**
 * Who the sign-up is counted against. The origin secret is read only when a request claims both
 * a viewer address and CloudFront's proof: a direct caller costs no read. Headers are never logged.
 */
const clientOfEvent = async (event: ApiEvent, deps: SignupFunctionDeps): Promise<string> => {
  const request = {
    viewerAddress: event.headers[VIEWER_ADDRESS_HEADER],
    originProof: event.headers[ORIGIN_HEADER],
    sourceIp: event.requestContext.http.sourceIp,
  };
  const claimsCloudFront = request.viewerAddress !== undefined && request.originProof !== undefined;
  const secret = claimsCloudFront && deps.originSecret ? await deps.originSecret() : undefined;
  return clientOf(request, secret);
};

/**
 * POST /api/subscriptions: `{email, tags, topicLabels, cadence}` (and the delivery preferences) as JSON (202 JSON) or as the subscribe form
 * posts it (202 page). The answer never tells whether the address was known, nor whether a limit held.
 */
export const makeHandler = (deps: SignupFunctionDeps | (() => SignupFunctionDeps) = subscriptionDeps) => {
  const get = lazy(deps);
  const api = httpApi(
    async (event) => {
      queryParams(event, []);
      refuseCrossSite(event, get().site.siteUrl);
      const form = isFormBody(event);
      const { input, honeypot } = form
        ? signupForm(await formBody(event))
        : { input: jsonBody(event), honeypot: false };
      const client = await clientOfEvent(event, get());
      const answer = await requestSubscription(get(), input, { client, honeypot });
      if (form) {
        const delivery = deliveryViewOf(answer, deliveryDefaultsOf(get()));
        return html(202, renderRequestedPage(get().site, { ...answer, delivery }));
      }
      return json(202, {
        message:
          'If this address can receive email, a confirmation link is on its way to it; it works for 48 hours.',
        email: answer.email,
        ...followsOut(answer),
        cadence: answer.cadence,
        ...preferencesOf(answer),
      });
    },
    {
      errorPage: (error) =>
        error instanceof CrossSiteError
          ? renderCrossSitePage(get().site, error.message)
          : renderErrorPage(get().site, error),
    },
  );
  return api.use(flushMetrics());
};

export const handler = makeHandler();
