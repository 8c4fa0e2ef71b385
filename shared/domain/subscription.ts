/**
 * Subscribers and their digests: the shapes every part of the subscription capability shares
 * (the subscription API, the digest job, the email feedback handler).
 */

export const CADENCES = ['daily', 'weekly'] as const;
export type Cadence = (typeof CADENCES)[number];

/** A tag a subscriber follows: the tag's URL slug and its display name. */
export interface TagRef {
  slug: string;
  name: string;
}

/**
 * A topic label a subscriber follows (an event's `topic`, such as "Armed conflicts and attacks"):
 * its URL slug (`topicSlug`) and the label itself.
 */
export interface TopicRef {
  slug: string;
  name: string;
}

/**
 * One subscriber per address. `pending` until the address is confirmed (expires unconfirmed);
 * `confirmed` receives digests; `unsubscribed` keeps the record (and its ledger) but gets nothing.
 */
export interface Subscriber {
  /** HMAC of the normalized address: stable, not guessable, no email index needed. */
  id: string;
  email: string;
  /** The tags followed. (Records stored before topic labels could be followed name these `topics`.) */
  tags: TagRef[];
  /** The topic labels followed. */
  topics: TopicRef[];
  cadence: Cadence;
  status: 'pending' | 'confirmed' | 'unsubscribed';
  createdAt: string;
  confirmedAt?: string;
  /**
   * The end of the last window a digest covered (or the confirmation time before the first
   * digest): the next digest starts here. The ledger is keyed by it.
   */
  cursor?: string;
  /** Bumped when the subscriber leaves everything, so links issued before stop working. */
  tokenVersion: number;
  /**
   * Random, set when the record is created: links carry it, so links made for an earlier record of
   * the same address (lapsed, or deleted) never work for this one. Absent on records made before nonces.
   */
  nonce?: string;
  /** Bumped by "sign out all my links": confirmation and manage links made before stop working (absent = 0). */
  linkGeneration?: number;
}

/** Up to this many tags per subscriber. */
export const MAX_TAGS = 20;
/**
 * Up to this many topic labels per subscriber. With MAX_TAGS, at most 30 things followed: a digest
 * marks each event with one bit per thing followed, in one 32-bit word.
 */
export const MAX_TOPICS = 10;

/** Whether a subscriber follows anything at all (no digest goes to one who follows nothing). */
export const followsAnything = (subscriber: Pick<Subscriber, 'tags' | 'topics'>): boolean =>
  subscriber.tags.length > 0 || subscriber.topics.length > 0;
