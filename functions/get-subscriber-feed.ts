import { type ApiEvent, httpApi } from '../shared/http.js';
import { LINK_HEADERS, linkRequestOf } from '../shared/link-token.js';
import { renderErrorPage } from '../shared/render/subscription-pages.js';
import { lazy } from '../shared/services/deps.js';
import { type FeedDeps, subscriberFeed } from '../shared/services/subscriber-feed.js';
import { subscriberFeedDeps } from '../shared/services/subscriber-feed-deps.js';

/**
 * A private feed is read by one reader's feed reader: it may keep it a few minutes, no shared cache
 * may (`private`), and no page it links to learns its URL. Errors are never kept (`LINK_HEADERS`).
 */
export const FEED_HEADERS = {
  'content-type': 'application/atom+xml; charset=utf-8',
  'cache-control': 'private, max-age=300',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex',
  'x-content-type-options': 'nosniff',
} as const;

/** The URL the feed was asked at, as the feed names itself: the site's own address, then the path and token. */
const selfOf = (deps: FeedDeps, event: ApiEvent, token: string | undefined): string =>
  `${deps.site.siteUrl.replace(/\/+$/, '')}${event.rawPath}?token=${encodeURIComponent(token ?? '')}`;

/**
 * GET /api/subscriptions/feed?token=…: the subscriber's digest as a private Atom feed (their tags
 * and topics over the last days). The token is a feed link's (its own keys); signing out all links
 * ends it. It reads, and changes nothing.
 */
export const makeHandler = (deps: FeedDeps | (() => FeedDeps) = subscriberFeedDeps) => {
  const get = lazy(deps);
  const api = httpApi(
    async (event) => {
      const { token, field } = linkRequestOf(event);
      const body = await subscriberFeed(get(), token, selfOf(get(), event, token), field);
      return { statusCode: 200, headers: { ...FEED_HEADERS }, body };
    },
    // A feed URL opened in a browser: its error as a page.
    { errorPage: (error) => renderErrorPage(get().site, error) },
  );
  return async (event: ApiEvent, context: Parameters<typeof api>[1]) => {
    const result = await api(event, context);
    return result.statusCode === 200
      ? result
      : { ...result, headers: { ...result.headers, ...LINK_HEADERS } };
  };
};

export const handler = makeHandler();
