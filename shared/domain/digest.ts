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

const DAY_MS = 24 * 60 * 60 * 1000;

/** How long one cadence window lasts. */
export const cadenceMs = (cadence: Cadence): number => (cadence === 'daily' ? DAY_MS : 7 * DAY_MS);

/** When digests go out: the UTC hour of day, and the weekday (0 = Sunday) of weekly digests. */
export interface DigestSchedule {
  hour: number;
  weekday: number;
}

/** The most recent scheduled send time of a cadence at or before `now`. */
export const latestBoundary = (cadence: Cadence, schedule: DigestSchedule, now: number): number => {
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
  cadence: Cadence,
  end: string,
): DigestWindow | undefined => {
  const cursor = subscriber.cursor ?? subscriber.confirmedAt;
  if (cursor === undefined || cursor >= end) return undefined;
  const first = subscriber.confirmedAt !== undefined && cursor <= subscriber.confirmedAt;
  const earliest = new Date(Date.parse(end) - cadenceMs(cadence)).toISOString();
  return { start: first && cursor < earliest ? earliest : cursor, end };
};

/** A tag's changed event as the change index returns it, with when the change reached it. */
export interface TopicChange {
  event: NewsEvent;
  changedAt: string;
}

/**
 * Builds one subscriber's digest from the changes of each of their topics: each event once (under
 * the first of its topics in the subscriber's order, with every matching topic), newest change
 * first, capped at `limit`. Changes outside the window are ignored, so one read of a topic serves
 * subscribers with different windows.
 */
export const buildDigest = (
  subscriber: Subscriber,
  cadence: Cadence,
  window: DigestWindow,
  changesOf: (slug: string) => readonly TopicChange[],
  limit = DIGEST_EVENT_LIMIT,
): Digest => {
  const found = new Map<string, { change: TopicChange; topics: TopicRef[] }>();
  for (const topic of subscriber.topics) {
    for (const change of changesOf(topic.slug)) {
      if (change.changedAt <= window.start || change.changedAt > window.end) continue;
      const seen = found.get(change.event.id);
      if (!seen) found.set(change.event.id, { change, topics: [topic] });
      else if (!seen.topics.some((t) => t.slug === topic.slug)) seen.topics.push(topic);
    }
  }
  const newestFirst = [...found.values()].sort(
    (a, b) =>
      b.change.changedAt.localeCompare(a.change.changedAt) ||
      a.change.event.id.localeCompare(b.change.event.id),
  );
  const sections = new Map<string, DigestSection>(
    subscriber.topics.map((topic) => [topic.slug, { topic, items: [], omitted: 0 }]),
  );
  newestFirst.forEach(({ change, topics }, rank) => {
    const section = sections.get((topics[0] as TopicRef).slug) as DigestSection;
    if (rank >= limit) {
      for (const topic of topics) (sections.get(topic.slug) as DigestSection).omitted++;
      return;
    }
    // A correction of an event published before the window (a late first projection is not one).
    const updated = change.event.revision > 1 && change.event.publishedAt <= window.start;
    section.items.push({ event: change.event, topics, updated });
  });
  return {
    subscriber,
    cadence,
    window,
    sections: [...sections.values()].filter((s) => s.items.length > 0 || s.omitted > 0),
    total: newestFirst.length,
    shown: Math.min(limit, newestFirst.length),
  };
};
