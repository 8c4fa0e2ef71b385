import type { NewsEvent } from './event.js';
import { topicSlug } from './slug.js';
import type { DeliveryPreferences, DigestCadence, Subscriber, TagRef, TopicRef } from './subscription.js';
import type { Delivery } from './zones.js';

/** The most events one digest lists; the rest are reached through its tag and topic links. */
export const DIGEST_EVENT_LIMIT = 50;

/** A half-open window of changes: `start < updatedAt <= end`, ISO timestamps. */
export interface DigestWindow {
  start: string;
  end: string;
}

/** One event in a digest, with every one of the subscriber's tags and topic labels it carries. */
export interface DigestItem {
  event: NewsEvent;
  tags: TagRef[];
  /** The followed topic label it carries (none, or its one label). */
  topics: TopicRef[];
  /** Published before the window and corrected inside it. */
  updated: boolean;
}

/**
 * Events grouped by what the subscriber follows, their tags first, then their topic labels; an
 * event appears once, under the first of these it matches.
 */
export interface DigestSection {
  kind: 'tag' | 'topic';
  /** The tag or the topic label. */
  ref: TagRef | TopicRef;
  items: DigestItem[];
  /** Events of this tag or label in the window that the cap left out. */
  omitted: number;
}

export interface Digest {
  subscriber: Subscriber;
  cadence: DigestCadence;
  window: DigestWindow;
  sections: DigestSection[];
  /** Distinct events in the window across all tags and labels followed (before the cap). */
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
  /** The subscriber's private Atom feed of their tags and topics (a feed link, not an email link). */
  feed: string;
  /** Leaves one tag. */
  unsubscribeTag: (slug: string) => string;
  /** Leaves one topic label. */
  unsubscribeTopicLabel: (slug: string) => string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** How long one cadence window lasts. */
export const cadenceMs = (cadence: DigestCadence): number => (cadence === 'daily' ? DAY_MS : 7 * DAY_MS);

/**
 * The deployment's default delivery: the local hour, the weekday (0 = Sunday) of weekly digests and
 * the zone, for subscribers who have not chosen their own.
 */
export interface DigestSchedule {
  hour: number;
  weekday: number;
  timeZone: string;
}

/** A subscriber's delivery time: their own choice, or the deployment's default. */
export const deliveryOf = (subscriber: DeliveryPreferences, schedule: DigestSchedule): Delivery => ({
  timeZone: subscriber.timeZone ?? schedule.timeZone,
  hour: subscriber.deliveryHour ?? schedule.hour,
  weekday: subscriber.deliveryWeekday ?? schedule.weekday,
});

/** The most recent scheduled send time of a cadence at or before `now`, in UTC (the schedule's zone ignored). */
export const latestBoundary = (
  cadence: DigestCadence,
  schedule: Pick<DigestSchedule, 'hour' | 'weekday'>,
  now: number,
): number => {
  const day = new Date(now);
  let boundary = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), schedule.hour);
  if (boundary > now) boundary -= DAY_MS;
  if (cadence === 'weekly') {
    const back = (new Date(boundary).getUTCDay() - schedule.weekday + 7) % 7;
    boundary -= back * DAY_MS;
  }
  return boundary;
};

/**
 * The window a subscriber's next digest covers, ending at `end`: from their cursor (the end of
 * their last digest), except that the first digest after confirming covers one cadence window
 * at most, never the backlog. Undefined when the subscriber is not due (nothing since the cursor).
 */
export const digestWindow = (
  subscriber: Pick<Subscriber, 'cursor' | 'confirmedAt'>,
  cadence: DigestCadence,
  end: string,
): DigestWindow | undefined => {
  const cursor = subscriber.cursor ?? subscriber.confirmedAt;
  if (cursor === undefined || cursor >= end) return undefined;
  const first = subscriber.confirmedAt !== undefined && cursor <= subscriber.confirmedAt;
  const earliest = new Date(Date.parse(end) - cadenceMs(cadence)).toISOString();
  return { start: first && cursor < earliest ? earliest : cursor, end };
};

/** A changed event as the change log returns it, with when the change reached it. */
export interface DigestChange {
  event: NewsEvent;
  changedAt: string;
}

/**
 * A run's changes indexed for building thousands of digests from them: each event once, numbered
 * oldest change first, and per tag and per topic label the numbers of the events carrying it, in
 * order. A digest then walks small arrays of numbers instead of the changes themselves, and finds
 * its window by binary search. Built once per run (`indexChanges`); read, never changed, by `buildDigest`.
 */
export interface ChangeIndex {
  /** Oldest change first; at the same instant the reverse of the digest's order (id descending). */
  readonly changes: readonly DigestChange[];
  /** Per tag slug, ascending positions in `changes` of the events carrying it. */
  readonly byTag: ReadonlyMap<string, Int32Array>;
  /** Per topic label slug, ascending positions in `changes` of the events labelled with it. */
  readonly byTopic: ReadonlyMap<string, Int32Array>;
  /**
   * One word per change, for `buildDigest`'s own use: which of the subscriber's tags and labels
   * each event carries (one bit each: MAX_TAGS + MAX_TOPICS is 30). All zero between calls
   * (building a digest is synchronous and clears what it set).
   */
  readonly marks: Uint32Array;
}

/** The digest's order: newest change first, then by event id. */
const digestOrder = (a: DigestChange, b: DigestChange): number =>
  b.changedAt.localeCompare(a.changedAt) || a.event.id.localeCompare(b.event.id);

const append = (lists: Map<string, number[]>, slug: string, position: number): void => {
  const list = lists.get(slug);
  if (list) list.push(position);
  else lists.set(slug, [position]);
};

const frozen = (lists: Map<string, number[]>): Map<string, Int32Array> =>
  new Map([...lists].map(([slug, list]) => [slug, Int32Array.from(list)]));

/** Indexes changes by tag and by topic label (each event once, at its latest change if listed twice). */
export const indexChanges = (changes: Iterable<DigestChange>): ChangeIndex => {
  const latest = new Map<string, DigestChange>();
  for (const change of changes) {
    const known = latest.get(change.event.id);
    if (!known || change.changedAt > known.changedAt) latest.set(change.event.id, change);
  }
  const ordered = [...latest.values()].sort((a, b) => digestOrder(b, a));
  const tags = new Map<string, number[]>();
  const topics = new Map<string, number[]>();
  ordered.forEach((change, position) => {
    for (const tag of change.event.tags) append(tags, tag.slug, position);
    const label = change.event.topic;
    if (label !== undefined && label !== '') append(topics, topicSlug(label), position);
  });
  return {
    changes: ordered,
    byTag: frozen(tags),
    byTopic: frozen(topics),
    marks: new Uint32Array(ordered.length),
  };
};

/** The first of `length` positions for which `before` is false (it holds for a prefix). */
const firstNotBefore = (length: number, before: (position: number) => boolean): number => {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

/** The first position in `changes` whose change is after `time`. */
const firstAfter = (changes: readonly DigestChange[], time: string): number =>
  firstNotBefore(changes.length, (i) => (changes[i] as DigestChange).changedAt <= time);

/** The first index of `list` (ascending) holding `position` or more. */
const firstFrom = (list: Int32Array, position: number): number =>
  firstNotBefore(list.length, (i) => (list[i] as number) < position);

/**
 * Builds one subscriber's digest from a run's indexed changes: each event once, whether a followed
 * tag, a followed topic label or both bring it (under the first of the subscriber's tags, then
 * labels, that it carries, with every one it matches), newest change first, capped at `limit`.
 * Changes outside the window are ignored, so one index serves subscribers with different windows.
 */
export const buildDigest = (
  subscriber: Subscriber,
  cadence: DigestCadence,
  window: DigestWindow,
  index: ChangeIndex,
  limit = DIGEST_EVENT_LIMIT,
): Digest => {
  const { changes, byTag, byTopic, marks } = index;
  // Bit i of an event's mark: it carries follows[i].
  const follows: { kind: 'tag' | 'topic'; ref: TagRef | TopicRef }[] = [
    ...subscriber.tags.map((ref) => ({ kind: 'tag' as const, ref })),
    ...subscriber.topics.map((ref) => ({ kind: 'topic' as const, ref })),
  ];
  // The window as positions: changes[lo] to changes[hi - 1] are in (start, end].
  const lo = firstAfter(changes, window.start);
  const hi = Math.max(lo, firstAfter(changes, window.end));
  const inWindow: number[] = [];
  let total = 0;
  follows.forEach((follow, i) => {
    const list = (follow.kind === 'tag' ? byTag : byTopic).get(follow.ref.slug);
    const from = list ? firstFrom(list, lo) : 0;
    const to = list ? firstFrom(list, hi) : 0;
    inWindow.push(to - from);
    for (let k = from; k < to; k++) {
      const position = (list as Int32Array)[k] as number;
      if (marks[position] === 0) total++;
      marks[position] = (marks[position] as number) | (1 << i);
    }
  });
  const sections: DigestSection[] = follows.map(({ kind, ref }) => ({ kind, ref, items: [], omitted: 0 }));
  let shown = 0;
  for (let position = hi - 1; position >= lo && shown < limit; position--) {
    const carried = marks[position] as number;
    if (carried === 0) continue;
    const change = changes[position] as DigestChange;
    const item: DigestItem = { event: change.event, tags: [], topics: [], updated: false };
    for (let i = 0; i < follows.length; i++) {
      if ((carried & (1 << i)) === 0) continue;
      const follow = follows[i] as (typeof follows)[number];
      (follow.kind === 'tag' ? item.tags : item.topics).push(follow.ref);
      (sections[i] as DigestSection).omitted--;
    }
    // A correction of an event published before the window (a late first projection is not one).
    item.updated = change.event.revision > 1 && change.event.publishedAt <= window.start;
    // Its section: the first of the subscriber's tags and labels it carries (the lowest bit set).
    (sections[31 - Math.clz32(carried & -carried)] as DigestSection).items.push(item);
    shown++;
  }
  marks.fill(0, lo, hi);
  // What the cap left out of each section: its changes in the window less those shown (anywhere).
  sections.forEach((section, i) => {
    section.omitted += inWindow[i] as number;
  });
  return {
    subscriber,
    cadence,
    window,
    sections: sections.filter((s) => s.items.length > 0 || s.omitted > 0),
    total,
    shown,
  };
};
