/**
 * Instant alerts: who follows what, and when a subscriber's waiting events go out. Pure decisions
 * (time comes in as epoch milliseconds); the alert store writes them, the alert service applies them.
 *
 * The rule: a lone event goes out after a short gather (`gatherMs`, well within a minute); after
 * an alert, further events wait until `coalesceMs` after it and go together in one alert; at most `dailyCap`
 * alerts a local day (the rest wait for the next day's first); nothing during quiet hours.
 */
import type { DigestSection } from './digest.js';
import { isTombstone, type NewsEvent, type StoredEvent } from './event.js';
import { topicSlug } from './slug.js';
import { receivesDigests, type SubscriberRecord } from './subscriber-changes.js';
import type { Subscriber } from './subscription.js';
import { canonicalZone, instantOf, offsetAt } from './zones.js';

/**
 * The alert queue's subscription to the topic of changes takes creations and corrections only,
 * filtered by change type alone (a policy of tags would hold at most 150 values): a deletion
 * adds nothing to anyone's waiting events, and a deleted event waiting is dropped when looked at.
 */
export const ALERT_FILTER_POLICY = { changeType: ['created', 'updated'] } as const;

/** What a subscriber can follow (the table's `FOLLOW#<kind>#<slug>` partitions). */
export interface FollowRef {
  kind: 'tag' | 'topic';
  slug: string;
}

export interface AlertSettings {
  /** After an alert, further events wait this long after it and then go together. */
  coalesceMs: number;
  /** Alerts per subscriber and local day at most. */
  dailyCap: number;
  /** The zone of subscribers who chose none. */
  defaultTimeZone: string;
  /** How long a lone event waits for others of the same burst before it goes out. */
  gatherMs: number;
}

/**
 * 20 s: a burst of posts (a batch, an editor correcting a headline) arrives within seconds and goes
 * out as one alert, and a lone event still leaves well within a minute.
 */
export const ALERT_GATHER_MS = 20_000;

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
  coalesceMs: 10 * 60_000,
  dailyCap: 12,
  defaultTimeZone: 'UTC',
  gatherMs: ALERT_GATHER_MS,
};

/**
 * A subscriber's alert bookkeeping (one item beside the subscriber), as the flush sees it. Arrivals
 * only add to `pending` (a set: each event once). `claimId` is a send not known to have finished
 * (no receipt): in progress since `claimedAt`, or left by a failed send or a worker that died; its
 * events are back in `pending` and its record (`lastSentAt`, `day`, `sentToday`) undone here.
 */
export interface AlertState {
  /** Ids of events waiting to be sent. */
  pending: string[];
  lastSentAt?: string;
  /** The local day (`YYYY-MM-DD` in the subscriber's zone) `sentToday` counts. */
  day?: string;
  sentToday: number;
  /** A worker sending this subscriber's alert now, since `claimedAt`. */
  claimId?: string;
  claimedAt?: string;
  /**
   * The claim and last send as the table held them when read: a new claim is written only if
   * neither changed since (another worker claimed, or sent what was read here).
   */
  read?: { claimId?: string; lastSentAt?: string };
}

/** What a sent alert records on the state: it opens a coalescing window and counts against its day. */
export type SentRecord = Pick<AlertState, 'lastSentAt' | 'day' | 'sentToday'>;

/**
 * The state as the table holds it. A claim is one write made before its send, with the send
 * already recorded: the events moved from `pending` to `sending`, the new `lastSentAt`, `day` and
 * `sentToday`, and what they were `before`. A receipt written after the mail service accepted the
 * message finishes it; until then the send may not have happened.
 */
export interface StoredAlertState {
  pending: string[];
  lastSentAt?: string;
  day?: string;
  sentToday: number;
  claimId?: string;
  claimedAt?: string;
  /** The events of the claim's alert. */
  sending: string[];
  /** The record as it was before the claim, to undo it. */
  before?: SentRecord;
}

/**
 * The state a look decides on: a claim with its receipt (`sent`, the id of the last claim whose
 * alert the mail service accepted) is a finished send; one without it is not, so its events wait
 * again and its record is undone, while `claimId` tells the flush that a send may be under way.
 */
export const settleAlertState = (stored: StoredAlertState, sent: string | undefined): AlertState => {
  const read = {
    ...(stored.claimId === undefined ? {} : { claimId: stored.claimId }),
    ...(stored.lastSentAt === undefined ? {} : { lastSentAt: stored.lastSentAt }),
  };
  const recorded = (record: SentRecord): SentRecord => ({
    ...(record.lastSentAt === undefined ? {} : { lastSentAt: record.lastSentAt }),
    ...(record.day === undefined ? {} : { day: record.day }),
    sentToday: record.sentToday,
  });
  if (stored.claimId === undefined || stored.claimId === sent)
    return { pending: [...stored.pending], ...recorded(stored), read };
  return {
    pending: [...new Set([...stored.pending, ...stored.sending])],
    // A claim written without `before` recorded nothing ahead of its send: the record stands.
    ...recorded(stored.before ?? stored),
    claimId: stored.claimId,
    ...(stored.claimedAt === undefined ? {} : { claimedAt: stored.claimedAt }),
    read,
  };
};

export const emptyAlertState = (): AlertState => ({ pending: [], sentToday: 0 });

/** What an alert's timing reads of a subscriber. */
export type AlertPrefs = Pick<Subscriber, 'timeZone' | 'quietHours'>;

/** Whether this subscriber should be on the followers index: confirmed, not suppressed, instant. */
export const receivesAlerts = (record: SubscriberRecord): boolean =>
  record.cadence === 'instant' && receivesDigests(record);

/** The follower items a subscriber should have: one per tag and one per topic label followed. */
export const followsOf = (record: SubscriberRecord | undefined): FollowRef[] =>
  record && receivesAlerts(record)
    ? [
        ...record.tags.map((t): FollowRef => ({ kind: 'tag', slug: t.slug })),
        ...record.topics.map((t): FollowRef => ({ kind: 'topic', slug: t.slug })),
      ]
    : [];

const followId = (f: FollowRef): string => `${f.kind}#${f.slug}`;

/** The follower items to add and remove when a subscriber goes from `before` to `after`. */
export const followChanges = (
  before: SubscriberRecord | undefined,
  after: SubscriberRecord | undefined,
): { add: FollowRef[]; remove: FollowRef[] } => {
  const was = new Map(followsOf(before).map((f) => [followId(f), f]));
  const now = new Map(followsOf(after).map((f) => [followId(f), f]));
  return {
    add: [...now].filter(([id]) => !was.has(id)).map(([, f]) => f),
    remove: [...was].filter(([id]) => !now.has(id)).map(([, f]) => f),
  };
};

/** Whom a change may concern: the followers of each of its tags and of its topic label. */
export const followedBy = (event: { tags: readonly { slug: string }[]; topic?: string }): FollowRef[] => {
  const refs: FollowRef[] = event.tags.map((t) => ({ kind: 'tag', slug: t.slug }));
  if (event.topic) {
    const slug = topicSlug(event.topic);
    if (slug) refs.push({ kind: 'topic', slug });
  }
  return refs;
};

// ---- Local time, from the zones the digests plan with (shared/domain/zones.ts).

/** Whether Intl knows this IANA zone name. */
export const isTimeZone = (zone: string): boolean => canonicalZone(zone) !== undefined;

/** The zone a subscriber's day is counted in: theirs if valid, else the default. */
export const zoneOf = (prefs: AlertPrefs, settings: Pick<AlertSettings, 'defaultTimeZone'>): string =>
  prefs.timeZone && isTimeZone(prefs.timeZone) ? prefs.timeZone : settings.defaultTimeZone;

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  /** `YYYY-MM-DD`. */
  date: string;
}

const SLOT_MS = 15 * 60_000;
/** Per zone, the last UTC quarter hour asked about and its offset (undefined: it changes inside). */
const slotOffsets = new Map<string, { slot: number; offset: number | undefined }>();

/**
 * `zone`'s offset at `ms`, through Intl once per zone and UTC quarter hour: clocks change on
 * quarter hours, so one offset holds for the whole slot, checked at both its ends (a slot where
 * they differ is asked of Intl each time). Every alert of a look asks about the same few instants.
 */
const cachedOffsetAt = (ms: number, zone: string): number => {
  const slot = Math.floor(ms / SLOT_MS);
  let known = slotOffsets.get(zone);
  if (known?.slot !== slot) {
    const start = offsetAt(zone, slot * SLOT_MS);
    const end = offsetAt(zone, (slot + 1) * SLOT_MS - 1000);
    known = { slot, offset: start === end ? start : undefined };
    slotOffsets.set(zone, known);
  }
  return known.offset ?? offsetAt(zone, ms);
};

/** The wall-clock time in `zone` at instant `ms`. */
export const localTime = (ms: number, zone: string): LocalTime => {
  const wall = new Date(Math.floor(ms / 1000) * 1000 + cachedOffsetAt(ms, zone));
  const year = wall.getUTCFullYear();
  const month = wall.getUTCMonth() + 1;
  const day = wall.getUTCDate();
  const date = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  return { year, month, day, hour: wall.getUTCHours(), minute: wall.getUTCMinutes(), date };
};

/**
 * The instant the wall clock in `zone` shows `hour`:00 on `year-month-day` (the day may overflow:
 * day 32 is the next month's first). An hour the clocks skip gives the first instant after the gap;
 * one they repeat, its first (zones.ts `instantOf`).
 */
export const instantOfLocal = (
  zone: string,
  year: number,
  month: number,
  day: number,
  hour: number,
): number => instantOf(zone, Date.UTC(year, month - 1, day, hour));

/** The first instant at or after `ms` when the local clock shows `hour`:00. */
export const nextLocalHour = (ms: number, zone: string, hour: number): number => {
  const here = localTime(ms, zone);
  const today = instantOfLocal(zone, here.year, here.month, here.day, hour);
  return today >= ms ? today : instantOfLocal(zone, here.year, here.month, here.day + 1, hour);
};

/** The start of the next local day after `ms`. */
export const nextLocalMidnight = (ms: number, zone: string): number => {
  const here = localTime(ms, zone);
  return instantOfLocal(zone, here.year, here.month, here.day + 1, 0);
};

/** Whether the local hour at `ms` is in the quiet hours (`from` ≤ h < `to`, across midnight when from > to). */
export const inQuietHours = (ms: number, zone: string, quiet: AlertPrefs['quietHours']): boolean => {
  if (!quiet || quiet.from === quiet.to) return false;
  const { hour } = localTime(ms, zone);
  return quiet.from < quiet.to
    ? hour >= quiet.from && hour < quiet.to
    : hour >= quiet.from || hour < quiet.to;
};

/**
 * The earliest instant at or after `ms` at which an alert may go out: not in quiet hours, and not
 * on a local day whose cap is spent.
 */
export const earliestAllowed = (
  ms: number,
  state: Pick<AlertState, 'day' | 'sentToday'>,
  prefs: AlertPrefs,
  settings: AlertSettings,
): number => {
  const zone = zoneOf(prefs, settings);
  let at = ms;
  // Each step moves to a quiet end or a midnight; two of each settle any combination.
  for (let step = 0; step < 4; step++) {
    if (inQuietHours(at, zone, prefs.quietHours)) {
      at = nextLocalHour(at, zone, (prefs.quietHours as { to: number }).to);
      continue;
    }
    if (state.day === localTime(at, zone).date && state.sentToday >= settings.dailyCap) {
      at = nextLocalMidnight(at, zone);
      continue;
    }
    break;
  }
  return at;
};

const iso = (ms: number): string => new Date(ms).toISOString();

/** When the coalescing window of the subscriber's last alert ends (0 when there was none). */
const windowEnd = (state: Pick<AlertState, 'lastSentAt'>, settings: AlertSettings): number =>
  state.lastSentAt === undefined ? 0 : Date.parse(state.lastSentAt) + settings.coalesceMs;

/**
 * When the first of new events arriving at `now` into an empty `pending` should be looked at:
 * after the gather (so the rest of a burst joins it), and not before the last alert's window ends.
 * Quiet hours and the cap are the flush's to apply (they need the subscriber's preferences).
 */
export const firstLookAt = (
  state: Pick<AlertState, 'lastSentAt'>,
  now: number,
  settings: AlertSettings,
): string => iso(Math.max(now + settings.gatherMs, windowEnd(state, settings)));

export type FlushDecision = { kind: 'idle' } | { kind: 'wait'; until: string } | { kind: 'send' };

/**
 * What looking at a subscriber's waiting events at `now` does: nothing waits; wait (the last
 * alert's window is still open, quiet hours, the day's cap is spent); or send them, together.
 */
export const flushDecision = (
  state: AlertState,
  now: number,
  prefs: AlertPrefs,
  settings: AlertSettings,
): FlushDecision => {
  if (state.pending.length === 0) return { kind: 'idle' };
  const allowed = earliestAllowed(Math.max(windowEnd(state, settings), now), state, prefs, settings);
  return allowed > now ? { kind: 'wait', until: iso(allowed) } : { kind: 'send' };
};

/** What an alert sent at `at` records: it opens a coalescing window and counts against its local day. */
export const afterSend = (
  state: Pick<AlertState, 'day' | 'sentToday'>,
  at: number,
  prefs: AlertPrefs,
  settings: AlertSettings,
): Required<Pick<AlertState, 'lastSentAt' | 'day' | 'sentToday'>> => {
  const day = localTime(at, zoneOf(prefs, settings)).date;
  return { lastSentAt: iso(at), day, sentToday: state.day === day ? state.sentToday + 1 : 1 };
};

/** An event an alert lists, and whether it is a correction of one alerted before. */
export interface AlertItem {
  event: NewsEvent;
  updated: boolean;
}

/**
 * Of the waiting events as they are now, those worth an alert, newest first: a gone or deleted
 * event never is. One published before the subscriber's last alert is a correction (its headline
 * changed, or it would not have been queued again): it is marked updated.
 */
export const selectAlertItems = (
  pending: readonly string[],
  events: ReadonlyMap<string, StoredEvent>,
  lastSentAt?: string,
): AlertItem[] => {
  const items: AlertItem[] = [];
  for (const id of new Set(pending)) {
    const event = events.get(id);
    if (!event || isTombstone(event)) continue;
    const updated = event.revision > 1 && lastSentAt !== undefined && event.publishedAt <= lastSentAt;
    items.push({ event, updated });
  }
  return items.sort(
    (a, b) => b.event.updatedAt.localeCompare(a.event.updatedAt) || a.event.id.localeCompare(b.event.id),
  );
};

/**
 * What the alert worker last did with an event (one record per event, whatever its followers):
 * the revision and headline it queued for them, and whether that queuing finished.
 */
export interface EventAlertRecord {
  revision: number;
  headline: string;
  state: 'queuing' | 'queued';
  at: string;
}

export type QueueDecision =
  | { kind: 'queue' }
  | { kind: 'skip'; reason: 'older' | 'repeat' | 'same-headline' };

/**
 * Whether a change goes out to the event's followers, judged against the event's record: a
 * revision already queued (a redelivered or duplicated change) or being queued by a live worker
 * is not queued again, nor an older one; a correction is queued only if its headline changed
 * from the one queued before. A queuing that never finished (its worker died: older than the
 * lease) is done again.
 */
export const queueDecision = (
  record: EventAlertRecord | undefined,
  change: { revision: number; headline: string },
  now: number,
  leaseMs: number,
): QueueDecision => {
  if (!record) return { kind: 'queue' };
  if (record.revision > change.revision) return { kind: 'skip', reason: 'older' };
  const live = record.state === 'queuing' && Date.parse(record.at) > now - leaseMs;
  if (record.revision === change.revision) {
    return record.state === 'queued' || live ? { kind: 'skip', reason: 'repeat' } : { kind: 'queue' };
  }
  if (record.state === 'queued' && record.headline === change.headline)
    return { kind: 'skip', reason: 'same-headline' };
  return { kind: 'queue' };
};

/** How a window's times read to the subscriber: `2026-03-29 03:00 Europe/Berlin`. */
export const localMinute = (ms: number, zone: string): string => {
  const t = localTime(ms, zone);
  return `${t.date} ${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')} ${zone}`;
};

/** One alert email's content: the subscriber, the events (newest first), the span they changed in. */
export interface Alert {
  subscriber: Subscriber;
  items: AlertItem[];
  /** From the earliest listed change to the send, for the email's words. */
  window: { start: string; end: string };
  /** The zone the email's times are written in. */
  zone: string;
}

/**
 * The alert as sections by what the subscriber follows, as a digest lays them out: each event
 * once, under the first of the subscriber's tags, then topic labels, that it carries, with every
 * one of them it matches.
 */
export const alertSections = (alert: Alert): DigestSection[] => {
  const { tags, topics } = alert.subscriber;
  const sections: DigestSection[] = [
    ...tags.map((ref): DigestSection => ({ kind: 'tag', ref, items: [], omitted: 0 })),
    ...topics.map((ref): DigestSection => ({ kind: 'topic', ref, items: [], omitted: 0 })),
  ];
  for (const item of alert.items) {
    const slugs = new Set(item.event.tags.map((t) => t.slug));
    const label = item.event.topic ? topicSlug(item.event.topic) : undefined;
    const matchingTags = tags.filter((t) => slugs.has(t.slug));
    const matchingTopics = topics.filter((t) => t.slug === label);
    const at = sections.findIndex((s) => (s.kind === 'tag' ? slugs.has(s.ref.slug) : s.ref.slug === label));
    sections[Math.max(0, at)]?.items.push({
      event: item.event,
      tags: matchingTags,
      topics: matchingTopics,
      updated: item.updated,
    });
  }
  return sections.filter((s) => s.items.length > 0);
};
