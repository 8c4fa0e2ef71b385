import type { Tag } from './event.js';
import type { FeedScope } from './site.js';
import { topicSlug } from './slug.js';

/**
 * The archive by month: RFC 5005 archived feeds (one document per scope and month, every event of
 * that month in that scope), the month and year pages, and the day pages' neighbours. Months are
 * `YYYY-MM`, days `YYYY-MM-DD`; both order as strings.
 *
 * What the publisher knows of the whole history is counts only (`ArchiveCounts`): events per day for
 * the site, per month for each tag and topic label. An incremental run reads the months that
 * changed, puts their counts in, and from the counts before and after knows which documents'
 * `prev-archive` / `next-archive` links changed.
 */

export const monthOf = (date: string): string => date.slice(0, 7);
export const yearOf = (dateOrMonth: string): string => dateOrMonth.slice(0, 4);

/** Counts by key (day or month); a key with no events is absent. */
export type Counts = Record<string, number>;

/** A tag's or topic label's history: the name its newest event gives it, and its events per month. */
export interface ScopeHistory {
  name: string;
  months: Counts;
}

export interface ArchiveCounts {
  /** The site's events per day. */
  days: Counts;
  /** By slug. */
  tags: Record<string, ScopeHistory>;
  /** By slug (`topicSlug` of the label). */
  topics: Record<string, ScopeHistory>;
}

/** What the archive needs of an event. */
export type ArchivedEvent = { date: string; tags: readonly Tag[]; topic?: string | undefined };

export const emptyCounts = (): ArchiveCounts => ({ days: {}, tags: {}, topics: {} });

/** A topic label as a scope (its slug by the slug rules, reserved slugs included). */
export const topicScope = (label: string): FeedScope & { kind: 'topic' } => ({
  kind: 'topic',
  slug: topicSlug(label),
  name: label,
});

const add = (counts: Counts, key: string, by = 1): void => {
  counts[key] = (counts[key] ?? 0) + by;
};

const addTo = (scopes: Record<string, ScopeHistory>, slug: string, name: string, month: string): void => {
  const history = scopes[slug];
  if (history) add(history.months, month);
  // Events come newest first where it matters (the name as the newest event spells it).
  else scopes[slug] = { name, months: { [month]: 1 } };
};

/** Counts one event into `counts`. Give events newest first so names are the newest spellings. */
export const countEvent = (counts: ArchiveCounts, event: ArchivedEvent): void => {
  const month = monthOf(event.date);
  add(counts.days, event.date);
  for (const tag of event.tags) addTo(counts.tags, tag.slug, tag.name, month);
  if (event.topic !== undefined && event.topic !== '') {
    const scope = topicScope(event.topic);
    if (scope.slug !== '') addTo(counts.topics, scope.slug, scope.name, month);
  }
};

/** The counts of these events (newest first). */
export const countEvents = (events: Iterable<ArchivedEvent>): ArchiveCounts => {
  const counts = emptyCounts();
  for (const event of events) countEvent(counts, event);
  return counts;
};

/** Keys with events, oldest first. */
export const keysOf = (counts: Counts): string[] =>
  Object.keys(counts)
    .filter((k) => (counts[k] ?? 0) > 0)
    .sort();

/** The months of a site's days with their counts. */
export const monthsOfDays = (days: Counts): Counts => {
  const months: Counts = {};
  for (const [day, count] of Object.entries(days)) if (count > 0) add(months, monthOf(day), count);
  return months;
};

/** The key before and after `key` among `keys` (sorted), whether or not `key` is one of them. */
export const neighboursOf = (keys: readonly string[], key: string): { older?: string; newer?: string } => {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((keys[mid] as string) < key) low = mid + 1;
    else high = mid;
  }
  const older = keys[low - 1];
  const newer = keys[keys[low] === key ? low + 1 : low];
  return { ...(older !== undefined ? { older } : {}), ...(newer !== undefined ? { newer } : {}) };
};

/** An archive document's neighbours in its scope: `prev` is the older month, `next` the newer. */
export interface ArchiveLinks {
  prev?: string;
  next?: string;
}

export const archiveLinksOf = (months: readonly string[], month: string): ArchiveLinks => {
  const { older, newer } = neighboursOf(months, month);
  return { ...(older ? { prev: older } : {}), ...(newer ? { next: newer } : {}) };
};

/**
 * Whose links change when the keys `changed` (months, or days) gain or lose their events: the
 * neighbours, among the keys with events after the change, of each key whose presence changed.
 * The changed keys themselves are rebuilt anyway, and are not listed.
 */
export const neighboursToRebuild = (before: Counts, after: Counts, changed: Iterable<string>): string[] => {
  const now = keysOf(after);
  const out = new Set<string>();
  const changedSet = new Set(changed);
  for (const key of changedSet) {
    const was = (before[key] ?? 0) > 0;
    const is = (after[key] ?? 0) > 0;
    if (was === is) continue;
    const { older, newer } = neighboursOf(now, key);
    for (const k of [older, newer]) if (k !== undefined && !changedSet.has(k)) out.add(k);
  }
  return [...out].sort();
};

/** The newest key with events (a scope's newest month: where its current feed's `prev-archive` points). */
export const newestOf = (counts: Counts): string | undefined => keysOf(counts).at(-1);

/**
 * Replaces the counts of `months` in `into` by those in `fresh` (the counts of every event of
 * those months, read now): days of those months for the site, those months for each tag and topic.
 */
export const replaceMonths = (
  into: ArchiveCounts,
  fresh: ArchiveCounts,
  months: ReadonlySet<string>,
): void => {
  for (const day of Object.keys(into.days)) if (months.has(monthOf(day))) delete into.days[day];
  Object.assign(into.days, fresh.days);
  for (const kind of ['tags', 'topics'] as const) {
    const scopes = into[kind];
    for (const [slug, history] of Object.entries(scopes)) {
      for (const month of months) delete history.months[month];
      if (keysOf(history.months).length === 0 && !fresh[kind][slug]) delete scopes[slug];
    }
    for (const [slug, history] of Object.entries(fresh[kind])) {
      const known = scopes[slug];
      if (!known) scopes[slug] = { name: history.name, months: { ...history.months } };
      else {
        Object.assign(known.months, history.months);
        // The name as the newest months spell it.
        if (newestOf(history.months) === newestOf(known.months)) known.name = history.name;
      }
    }
  }
};

/** A scope's months with events, from the counts. */
export const monthsOf = (counts: ArchiveCounts, scope: FeedScope): Counts =>
  scope.kind === 'site'
    ? monthsOfDays(counts.days)
    : ((scope.kind === 'tag' ? counts.tags : counts.topics)[scope.slug]?.months ?? {});

/** Whether the event is in the scope. */
export const inScope = (scope: FeedScope, event: ArchivedEvent): boolean =>
  scope.kind === 'site' ||
  (scope.kind === 'tag'
    ? event.tags.some((t) => t.slug === scope.slug)
    : event.topic !== undefined && topicScope(event.topic).slug === scope.slug);
