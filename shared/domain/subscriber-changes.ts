/**
 * What each subscriber action does to the stored subscriber: pure decisions, written by the
 * subscription store with one conditional write each (a lost race re-reads and decides again).
 */
import { SIGNUP_POLICY } from './signup.js';
import {
  type Cadence,
  type DeliveryPreferences,
  MAX_TOPICS,
  type Subscriber,
  samePreferences,
  type TopicRef,
} from './subscription.js';
import { CONFIRM_TOKEN_SECONDS, preferencesOfClaim, type TokenClaims } from './tokens.js';

/** A subscriber as stored: the shared fields plus what only the subscription side reads. */
export interface SubscriberRecord extends Subscriber {
  /** When the subscriber last changed topics, cadence or status (a later change wins over an older link). */
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
  record.status === 'confirmed' && record.suppressedAt === undefined && record.topics.length > 0;

export interface SubscriptionRequest {
  id: string;
  email: string;
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
    next.topics = request.topics;
    next.cadence = request.cadence;
    if (request.preferences) Object.assign(next, withPreferences(next, request.preferences));
    next.changedAt = now;
  }
  // Never confirmed: the record lives as long as its newest confirmation link.
  if (stored.expiresAt !== undefined) next.expiresAt = expiresAt;
  return { kind: 'update', next, previous: stored };
};

const sameTopics = (a: readonly TopicRef[], b: readonly TopicRef[]): boolean =>
  a.length === b.length && a.every((t, i) => t.slug === b[i]?.slug && t.name === b[i]?.name);

const unchangedBy = (stored: SubscriberRecord, next: SubscriberRecord): boolean =>
  stored.status === next.status &&
  stored.cadence === next.cadence &&
  sameTopics(stored.topics, next.topics) &&
  samePreferences(stored, next);

/** The record with these preferences: all of them replaced, quiet hours cleared when not given. */
const withPreferences = (record: SubscriberRecord, preferences: DeliveryPreferences): SubscriberRecord => {
  const next: SubscriberRecord = { ...record, ...preferences };
  if (preferences.quietHours === undefined) delete next.quietHours;
  return next;
};

export type ChangePlan = { kind: 'unchanged' } | { kind: 'update'; next: SubscriberRecord };

/**
 * Confirming a request (its topics and cadence come from the signed link). A pending or
 * unsubscribed subscriber gets exactly the requested topics; a confirmed one keeps theirs and
 * gains the new ones (up to MAX_TOPICS). A link older than the subscriber's last change changes
 * nothing, so clicking it again, or after using the manage page, is harmless.
 */
export const planConfirm = (
  stored: SubscriberRecord,
  claims: TokenClaims,
  requested: readonly TopicRef[],
  now: string,
): ChangePlan => {
  const cadence = claims.cadence ?? stored.cadence;
  if (stored.status === 'confirmed' && claims.iat !== undefined && seconds(stored.changedAt) > claims.iat) {
    return { kind: 'unchanged' };
  }
  const topics =
    stored.status === 'confirmed'
      ? [...stored.topics, ...requested.filter((t) => !stored.topics.some((s) => s.slug === t.slug))].slice(
          0,
          MAX_TOPICS,
        )
      : [...requested];
  const asked = claims.pref ? preferencesOfClaim(claims.pref) : undefined;
  const next: SubscriberRecord = {
    ...(asked ? withPreferences(stored, asked) : stored),
    status: 'confirmed',
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

/** The manage page: the subscriber's topics, cadence and (when given) delivery preferences, replaced. */
export const planManage = (
  stored: SubscriberRecord,
  topics: readonly TopicRef[],
  cadence: Cadence,
  now: string,
  preferences?: DeliveryPreferences,
): ChangePlan => {
  const next: SubscriberRecord = {
    ...(preferences ? withPreferences(stored, preferences) : stored),
    topics: [...topics],
    cadence,
    changedAt: now,
  };
  return unchangedBy(stored, next) ? { kind: 'unchanged' } : { kind: 'update', next };
};

/** Leaving one topic; leaving the last one stops digests but keeps the manage link working. */
export const planLeaveTopic = (stored: SubscriberRecord, slug: string, now: string): ChangePlan => {
  if (!stored.topics.some((t) => t.slug === slug)) return { kind: 'unchanged' };
  return {
    kind: 'update',
    next: { ...stored, topics: stored.topics.filter((t) => t.slug !== slug), changedAt: now },
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
