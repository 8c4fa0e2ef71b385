/**
 * Subscribers and their digests: the shapes every part of the subscription capability shares
 * (the subscription API, the digest job, the email feedback handler).
 */

export const CADENCES = ['daily', 'weekly', 'instant'] as const;
export type Cadence = (typeof CADENCES)[number];
/** The cadences a digest run serves; instant subscribers get alerts instead. */
export const DIGEST_CADENCES = ['daily', 'weekly'] as const satisfies readonly Cadence[];

/** A topic a subscriber follows: the tag's URL slug and its display name. */
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
  /** IANA zone the subscriber's day and quiet hours are counted in (absent: the `defaultTimeZone` setting). */
  timeZone?: string;
  /** Local hours during which instant alerts wait: from `from`:00 up to `to`:00, across midnight when from > to. */
  quietHours?: { from: number; to: number };
}

/** Up to this many topics per subscriber. */
export const MAX_TOPICS = 20;
