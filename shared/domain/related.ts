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

/**
 * The events that share the most tags with `event`, at most `limit` of them. Ties go to the newest
 * (see `newestFirst`). The event itself and events sharing no tag are left out; a candidate listed
 * twice counts once (its first occurrence). Tags match by slug.
 */
export const relatedEvents = <E extends RelatedCandidate>(
  event: Pick<NewsEvent, 'id' | 'tags'>,
  candidates: readonly E[],
  limit: number = RELATED_LIMIT,
): RelatedEvent<E>[] => {
  if (!(limit > 0) || event.tags.length === 0) return [];
  const seen = new Set<string>([event.id]);
  const scored: RelatedEvent<E>[] = [];
  for (const candidate of candidates) {
    if (seen.has(candidate.id)) continue;
    seen.add(candidate.id);
    const theirs = slugsOf(candidate);
    const sharedTags = event.tags.filter((t) => theirs.has(t.slug));
    if (sharedTags.length > 0) scored.push({ event: candidate, sharedTags });
  }
  return scored
    .sort((a, b) => b.sharedTags.length - a.sharedTags.length || newestFirst(a.event, b.event))
    .slice(0, Math.floor(limit));
};
