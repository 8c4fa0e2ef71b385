import type { NewsEvent } from './event.js';
import type { Cadence, Subscriber, TopicRef } from './subscription.js';

/** The most events one digest lists; the rest are reached through its topic links. */
export const DIGEST_EVENT_LIMIT = 50;

/** A half-open window of changes: `start < updatedAt <= end`, ISO timestamps. */
export interface DigestWindow {
  start: string;
  end: string;
}

/** One event in a digest, with every one of the subscriber's topics it carries. */
export interface DigestItem {
  event: NewsEvent;
  topics: TopicRef[];
  /** Published before the window and corrected inside it. */
  updated: boolean;
}

/** Events grouped by topic; an event appears once, under the first of its topics in the subscriber's order. */
export interface DigestSection {
  topic: TopicRef;
  items: DigestItem[];
  /** Events of this topic in the window that the cap left out. */
  omitted: number;
}

export interface Digest {
  subscriber: Subscriber;
  cadence: Cadence;
  window: DigestWindow;
  sections: DigestSection[];
  /** Distinct events in the window across all topics (before the cap). */
  total: number;
  /** Events listed (at most DIGEST_EVENT_LIMIT). */
  shown: number;
}

/** The personal links every digest and confirmation email carries (signed, scoped to the subscriber). */
export interface SubscriberLinks {
  manage: string;
  unsubscribeAll: string;
  /** One-click target for the List-Unsubscribe header (RFC 8058): leaves everything. */
  oneClick: string;
  unsubscribeTopic: (slug: string) => string;
}
