/**
 * A subscriber's digest as a private Atom feed: what their digest would list of the last days, as
 * a feed reader reads it. Pure: the events, the time and the feed's own URL come in as arguments.
 */
import { createHash } from 'node:crypto';
import { buildDigest, type ChangeIndex, DIGEST_EVENT_LIMIT, type DigestWindow } from './digest.js';
import type { NewsEvent } from './event.js';
import { EMPTY_FEED_UPDATED, type FeedLink, type FeedModel, feedItems } from './feed-model.js';
import { HOME_PAGE, type SiteConfig, urlOf } from './site.js';
import type { Subscriber } from './subscription.js';

/** A private feed covers the changes of this many days, like a weekly digest. */
export const PRIVATE_FEED_DAYS = 7;

/** The window a private feed read at `now` covers. */
export const privateFeedWindow = (now: string): DigestWindow => ({
  start: new Date(Date.parse(now) - PRIVATE_FEED_DAYS * 24 * 60 * 60 * 1000).toISOString(),
  end: now,
});

/**
 * A stable id per subscriber that names neither them nor their token: feed readers key entries'
 * read state by it, and it must not change when the URL's token does (a fresh link each digest).
 */
const feedId = (subscriber: Pick<Subscriber, 'id'>): string =>
  `urn:tidings:private-feed:${createHash('sha256').update(`private-feed:${subscriber.id}`).digest('hex').slice(0, 32)}`;

/** `Syria, Russia and 2 more`. */
const shortList = (names: string[]): string =>
  names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');

/**
 * The feed: the events of the subscriber's tags and topics changed in the window, each once,
 * newest first, at most DIGEST_EVENT_LIMIT. `self` is the URL the feed was read at (it carries
 * the token: the feed is the subscriber's alone, and only they see it).
 */
export const privateFeedModel = (
  site: SiteConfig,
  subscriber: Subscriber,
  window: DigestWindow,
  index: ChangeIndex,
  self: string,
): FeedModel => {
  // The window is the feed's own (a week, like a weekly digest), whatever the email cadence, instant included.
  const digest = buildDigest(subscriber, 'weekly', window, index, DIGEST_EVENT_LIMIT);
  const events: NewsEvent[] = digest.sections
    .flatMap((section) => section.items.map((item) => item.event))
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || a.id.localeCompare(b.id));
  const item = feedItems(site);
  const items = events.map(item);
  const atom: FeedLink = { href: self, type: 'application/atom+xml' };
  const names = [...subscriber.tags, ...subscriber.topics].map((t) => t.name);
  return {
    title: `${site.title}: your digest`,
    description: `News events in ${shortList(names) || 'nothing yet'} on ${site.title}, the last ${PRIVATE_FEED_DAYS} days.`,
    id: feedId(subscriber),
    // Atom only: the other formats' links are this feed itself, which the renderer leaves out.
    // No hub: a private feed is nobody's to subscribe to but its reader's.
    links: { html: urlOf(site, HOME_PAGE), feeds: { atom, rss: atom, json: atom }, hubs: [] },
    updated: items.reduce(
      (latest, i) => (Date.parse(i.updated) > Date.parse(latest) ? i.updated : latest),
      EMPTY_FEED_UPDATED,
    ),
    language: site.language,
    author: { name: site.title, url: site.siteUrl },
    items,
  };
};
