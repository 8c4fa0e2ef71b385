import type { NewsEvent, Tag } from './event.js';

/** What listings and "Related" need of an event: everything but its body, sources and image. */
export type EventSummary = Pick<
  NewsEvent,
  'id' | 'date' | 'headline' | 'topic' | 'tags' | 'publishedAt' | 'updatedAt' | 'revision'
>;

/** What "Related" looks at in an event, and what the page shows of it. */
export type RelatedCandidate = Pick<NewsEvent, 'id' | 'date' | 'publishedAt' | 'headline' | 'tags'>;

/** An event to list under "Related", with the tags it shares (the page's "Context: …" line). */
export interface RelatedEvent<E extends RelatedCandidate = RelatedCandidate> {
  event: E;
  /** The shared tags as the page's own event names them, in that event's tag order. */
  sharedTags: Tag[];
}

export const RELATED_LIMIT = 5;
/** "Related" looks among the newest events of each of the event's tags, this many per tag. */
export const RELATED_CANDIDATES_PER_TAG = 50;

/** Strings compared by code unit, so the order never depends on the runtime's locale data. */
const compareDesc = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);

/** Newest first: by date, then first publication, then id (descending) so equal events still order one way. */
export const newestFirst = (
  a: Pick<NewsEvent, 'date' | 'publishedAt' | 'id'>,
  b: Pick<NewsEvent, 'date' | 'publishedAt' | 'id'>,
): number =>
  compareDesc(a.date, b.date) || compareDesc(a.publishedAt, b.publishedAt) || compareDesc(a.id, b.id);

/**
 * The order of a tag's entries and of the latest-events index: by date, then id, descending. "Newest"
 * in a tag (its feed, its page, the candidates for "Related") means first in this order.
 */
export const latestFirst = (a: Pick<NewsEvent, 'date' | 'id'>, b: Pick<NewsEvent, 'date' | 'id'>): number =>
  compareDesc(a.date, b.date) || compareDesc(a.id, b.id);

/**
 * A candidate's tag slugs, kept with the candidate while it lives: the same candidates (a tag's
 * newest) are weighed for every event of the tag.
 */
const slugSets = new WeakMap<RelatedCandidate, ReadonlySet<string>>();
const slugsOf = (candidate: RelatedCandidate): ReadonlySet<string> => {
  let slugs = slugSets.get(candidate);
  if (!slugs) {
    slugs = new Set(candidate.tags.map((t) => t.slug));
    slugSets.set(candidate, slugs);
  }
  return slugs;
};

/** Whether a candidate sharing `a` tags ranks before one sharing `b`: more shared tags, then newer (`newestFirst`). */
const ranksBefore = (a: number, aEvent: RelatedCandidate, b: number, bEvent: RelatedCandidate): boolean =>
  a > b || (a === b && newestFirst(aEvent, bEvent) < 0);

/**
 * The events that share the most tags with `event`, at most `limit` of them. Ties go to the newest
 * (see `newestFirst`). The event itself and events sharing no tag are left out; an event listed
 * twice (two of its tags list it) counts once. Tags match by slug.
 *
 * Every event page weighs its tags' newest (200 candidates for four tags): the best `limit` are kept
 * as they come, and only those are given their shared tags, rather than sorting every candidate.
 */
export const relatedEvents = <E extends RelatedCandidate>(
  event: Pick<NewsEvent, 'id' | 'tags'>,
  candidates: readonly E[],
  limit: number = RELATED_LIMIT,
): RelatedEvent<E>[] => {
  const size = Math.floor(limit);
  if (!(size > 0) || event.tags.length === 0) return [];
  // The best so far, best first, and how many tags each shares.
  const best: E[] = [];
  const shared: number[] = [];
  for (const candidate of candidates) {
    if (candidate.id === event.id) continue;
    const theirs = slugsOf(candidate);
    let count = 0;
    for (const tag of event.tags) if (theirs.has(tag.slug)) count++;
    if (count === 0) continue;
    const full = best.length === size;
    if (full && !ranksBefore(count, candidate, shared[size - 1] as number, best[size - 1] as E)) continue;
    // A copy of one kept is left out. A copy of one not kept ranks no better than it did: no set of
    // every id seen is needed (it cost a third of the time).
    if (best.some((kept) => kept.id === candidate.id)) continue;
    // Into its place, the last one dropped when the list is full.
    let at = full ? size - 1 : best.length;
    while (at > 0 && ranksBefore(count, candidate, shared[at - 1] as number, best[at - 1] as E)) {
      best[at] = best[at - 1] as E;
      shared[at] = shared[at - 1] as number;
      at--;
    }
    best[at] = candidate;
    shared[at] = count;
  }
  return best.map((candidate) => {
    const theirs = slugsOf(candidate);
    return { event: candidate, sharedTags: event.tags.filter((t) => theirs.has(t.slug)) };
  });
};
