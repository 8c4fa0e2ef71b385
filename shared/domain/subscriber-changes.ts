/**
 * What each subscriber action does to the stored subscriber: pure decisions, written by the
 * subscription store with one conditional write each (a lost race re-reads and decides again).
 */
import { SIGNUP_POLICY } from './signup.js';
import {
  type Cadence,
  type DeliveryPreferences,
  followsAnything,
  MAX_TAGS,
  MAX_TOPICS,
  type Subscriber,
  samePreferences,
  type TagRef,
  type TopicRef,
} from './subscription.js';
import { CONFIRM_TOKEN_SECONDS, preferencesOfClaim, type TokenClaims } from './tokens.js';

/** A subscriber as stored: the shared fields plus what only the subscription side reads. */
export interface SubscriberRecord extends Subscriber {
  /** When the subscriber last changed what they follow, cadence or status (a later change wins over an older link). */
  changedAt: string;
  /** Never confirmed: epoch seconds after which the record is void (the table's TTL attribute). */
  expiresAt?: number;
  /** When the last confirmation email went out; requests within `CONFIRMATION_RESEND_SECONDS` send none. */
  confirmationSentAt?: string;
  unsubscribedAt?: string;
  /** Set by the email feedback handler: the address bounced or complained. */
  suppressedAt?: string;
  /** Bumped by every write of the subscription side and the feedback handler (optimistic locking). */
  revision: number;
}

/**
 * At most one confirmation email per address in this many seconds, so a form cannot flood an
 * inbox: the mailbox limit's spacing, so a request the record would serve is one the limit allows.
 */
export const CONFIRMATION_RESEND_SECONDS = SIGNUP_POLICY.mailboxSpacingSeconds;

const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** A never-confirmed record past its expiry counts as absent (DynamoDB's TTL deletes it in its own time). */
export const isLapsed = (record: SubscriberRecord, nowSeconds: number): boolean =>
  record.expiresAt !== undefined && record.expiresAt <= nowSeconds;

/** Whether the digest planner should find this subscriber (the GSI3 keys are written exactly then). */
export const receivesDigests = (record: SubscriberRecord): boolean =>
  record.status === 'confirmed' && record.suppressedAt === undefined && followsAnything(record);

export interface SubscriptionRequest {
  id: string;
  email: string;
  tags: TagRef[];
  topics: TopicRef[];
  cadence: Cadence;
  /** The delivery time asked for, resolved against the settings; absent: the defaults, unchosen. */
  preferences?: DeliveryPreferences;
  /** A fresh random nonce, used if the request creates the record. */
  nonce: string;
}

/**
 * A sign-up: `create` a pending record, `update` an existing one (the request itself travels in the
 * signed confirmation link), or `none` (suppressed, or a confirmation was sent moments ago).
 */
export type RequestPlan =
  | { kind: 'none' }
  | { kind: 'create'; next: SubscriberRecord; replacing?: SubscriberRecord }
  | { kind: 'update'; next: SubscriberRecord; previous: SubscriberRecord };

export const planRequest = (
  stored: SubscriberRecord | undefined,
  request: SubscriptionRequest,
  suppressed: boolean,
  now: string,
): RequestPlan => {
  if (suppressed) return { kind: 'none' };
  const nowSeconds = seconds(now);
  const expiresAt = nowSeconds + CONFIRM_TOKEN_SECONDS;
  if (!stored || isLapsed(stored, nowSeconds)) {
    const next: SubscriberRecord = {
      id: request.id,
      email: request.email,
      tags: request.tags,
      topics: request.topics,
      cadence: request.cadence,
      status: 'pending',
      createdAt: now,
      // Links made for a lapsed record of the same address stay dead.
      tokenVersion: stored ? stored.tokenVersion + 1 : 0,
      nonce: request.nonce,
      changedAt: now,
      expiresAt,
      confirmationSentAt: now,
      revision: stored ? stored.revision + 1 : 1,
      ...request.preferences,
    };
    return stored ? { kind: 'create', next, replacing: stored } : { kind: 'create', next };
  }
  if (
    stored.confirmationSentAt !== undefined &&
    nowSeconds - seconds(stored.confirmationSentAt) < CONFIRMATION_RESEND_SECONDS
  ) {
    return { kind: 'none' };
  }
  const next: SubscriberRecord = { ...stored, confirmationSentAt: now };
  if (stored.status === 'pending') {
    next.tags = request.tags;
    next.topics = request.topics;
    next.cadence = request.cadence;
    if (request.preferences) Object.assign(next, withPreferences(next, request.preferences));
    next.changedAt = now;
  }
  // Never confirmed: the record lives as long as its newest confirmation link.
  if (stored.expiresAt !== undefined) next.expiresAt = expiresAt;
  return { kind: 'update', next, previous: stored };
};

const sameRefs = (a: readonly TagRef[], b: readonly TagRef[]): boolean =>
  a.length === b.length && a.every((t, i) => t.slug === b[i]?.slug && t.name === b[i]?.name);

const unchangedBy = (stored: SubscriberRecord, next: SubscriberRecord): boolean =>
  stored.status === next.status &&
  stored.cadence === next.cadence &&
  sameRefs(stored.tags, next.tags) &&
  sameRefs(stored.topics, next.topics) &&
  samePreferences(stored, next);

/** The record with these preferences: all of them replaced, quiet hours cleared when not given. */
const withPreferences = (record: SubscriberRecord, preferences: DeliveryPreferences): SubscriberRecord => {
  const next: SubscriberRecord = { ...record, ...preferences };
  if (preferences.quietHours === undefined) delete next.quietHours;
  return next;
};

/** `kept` followed by what of `added` it lacks (by slug), up to `max`. */
const union = <T extends TagRef>(kept: readonly T[], added: readonly T[], max: number): T[] =>
  [...kept, ...added.filter((t) => !kept.some((s) => s.slug === t.slug))].slice(0, max);

/** What a confirmation link asks for: tags and topic labels, as they are named now. */
export interface Requested {
  tags: readonly TagRef[];
  topics: readonly TopicRef[];
}

export type ChangePlan = { kind: 'unchanged' } | { kind: 'update'; next: SubscriberRecord };

/**
 * Confirming a request (its tags, topic labels and cadence come from the signed link). A pending
 * or unsubscribed subscriber gets exactly what was requested; a confirmed one keeps what they
 * follow and gains the new ones (up to MAX_TAGS and MAX_TOPICS). A link older than the subscriber's last change changes
 * nothing, so clicking it again, or after using the manage page, is harmless.
 */
export const planConfirm = (
  stored: SubscriberRecord,
  claims: TokenClaims,
  requested: Requested,
  now: string,
): ChangePlan => {
  const cadence = claims.cadence ?? stored.cadence;
  if (stored.status === 'confirmed' && claims.iat !== undefined && seconds(stored.changedAt) > claims.iat) {
    return { kind: 'unchanged' };
  }
  const confirmed = stored.status === 'confirmed';
  const tags = confirmed ? union(stored.tags, requested.tags, MAX_TAGS) : [...requested.tags];
  const topics = confirmed ? union(stored.topics, requested.topics, MAX_TOPICS) : [...requested.topics];
  const asked = claims.pref ? preferencesOfClaim(claims.pref) : undefined;
  const next: SubscriberRecord = {
    ...(asked ? withPreferences(stored, asked) : stored),
    status: 'confirmed',
    tags,
    topics,
    cadence,
    changedAt: now,
  };
  if (stored.status !== 'confirmed') next.confirmedAt = now;
  // The first digest starts at the first confirmation; only the digest job moves the cursor after.
  next.cursor = stored.cursor ?? now;
  delete next.expiresAt;
  delete next.unsubscribedAt;
  return unchangedBy(stored, next) ? { kind: 'unchanged' } : { kind: 'update', next };
};

/** The manage page: the subscriber's tags, topic labels, cadence and (when given) delivery preferences, replaced. */
export const planManage = (
  stored: SubscriberRecord,
  follows: Requested,
  cadence: Cadence,
  now: string,
  preferences?: DeliveryPreferences,
): ChangePlan => {
  const next: SubscriberRecord = {
    ...(preferences ? withPreferences(stored, preferences) : stored),
    tags: [...follows.tags],
    topics: [...follows.topics],
    cadence,
    changedAt: now,
  };
  return unchangedBy(stored, next) ? { kind: 'unchanged' } : { kind: 'update', next };
};

/** What one unsubscribe link leaves: a tag or a topic label, by slug. */
export type Followed = { kind: 'tag' | 'topic'; slug: string };

/**
 * Leaving one tag or topic label; leaving the last thing followed stops digests but keeps the
 * manage link working.
 */
export const planLeave = (stored: SubscriberRecord, left: Followed, now: string): ChangePlan => {
  const field = left.kind === 'tag' ? 'tags' : 'topics';
  if (!stored[field].some((t) => t.slug === left.slug)) return { kind: 'unchanged' };
  return {
    kind: 'update',
    next: { ...stored, [field]: stored[field].filter((t) => t.slug !== left.slug), changedAt: now },
  };
};

/** Leaving everything: nothing more is sent, and every link issued so far stops working. */
export const planLeaveAll = (stored: SubscriberRecord, now: string): ChangePlan => {
  if (stored.status === 'unsubscribed') return { kind: 'unchanged' };
  return {
    kind: 'update',
    next: {
      ...stored,
      status: 'unsubscribed',
      tokenVersion: stored.tokenVersion + 1,
      changedAt: now,
      unsubscribedAt: now,
    },
  };
};

/**
 * "Sign out all my links": every confirmation and manage link made so far stops working. Unsubscribe
 * links keep working, since emails already sent carry them and leaving must always be possible.
 */
export const planSignOut = (stored: SubscriberRecord): ChangePlan => ({
  kind: 'update',
  next: { ...stored, linkGeneration: (stored.linkGeneration ?? 0) + 1 },
});
