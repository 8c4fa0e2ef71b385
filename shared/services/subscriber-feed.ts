import type { DigestStore } from '../adapters/digest-store.js';
import { indexChanges } from '../domain/digest.js';
import { privateFeedModel, privateFeedWindow } from '../domain/subscriber-feed.js';
import { renderFeed } from '../render/feeds.js';
import { type LinkDeps, linkedSubscriber, type TokenField } from './subscriptions.js';

/** What serving a private feed needs besides following links: the changes of the last days. */
export interface FeedDeps extends LinkDeps {
  changes: Pick<DigestStore, 'windowChanges'>;
}

/**
 * A subscriber's private feed: their tags and topics over the last days as Atom, for the holder of
 * a current feed link. Signing out all links, leaving, or a new record of the address ends it.
 * `self` is the URL the feed was asked for, which the feed names as its own.
 */
export const subscriberFeed = async (
  deps: FeedDeps,
  token: string | undefined,
  self: string,
  field: TokenField = 'query.token',
): Promise<string> => {
  const subscriber = await linkedSubscriber(deps, token, 'feed', field);
  const window = privateFeedWindow(deps.now());
  const index = indexChanges(await deps.changes.windowChanges(window.start, window.end));
  return renderFeed(privateFeedModel(deps.site, subscriber, window, index, self), 'atom');
};
