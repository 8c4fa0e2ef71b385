import type { NewsEvent, Tag } from './event.js';

/** An event to list under "Related", with the tags it shares (the page's "Context: …" line). */
export interface RelatedEvent {
  event: NewsEvent;
  /** The shared tags as the page's own event names them, in that event's tag order. */
  sharedTags: Tag[];
}

export const RELATED_LIMIT = 5;

/** Strings compared by code unit, so the order never depends on the runtime's locale data. */
const compareDesc = (a: string, b: string): number => (a < b ? 1 : a > b ? -1 : 0);

/** Newest first: by date, then first publication, then id (descending) so equal events still order one way. */
export const newestFirst = (a: NewsEvent, b: NewsEvent): number =>
  compareDesc(a.date, b.date) || compareDesc(a.publishedAt, b.publishedAt) || compareDesc(a.id, b.id);

/**
 * The events that share the most tags with `event`, at most `limit` of them. Ties go to the newest
 * (see `newestFirst`). The event itself and events sharing no tag are left out; a candidate listed
 * twice counts once (its first occurrence). Tags match by slug.
 */
export const relatedEvents = (
  event: NewsEvent,
  candidates: readonly NewsEvent[],
  limit: number = RELATED_LIMIT,
): RelatedEvent[] => {
  if (!(limit > 0) || event.tags.length === 0) return [];
  const seen = new Set<string>([event.id]);
  const scored: RelatedEvent[] = [];
  for (const candidate of candidates) {
    if (seen.has(candidate.id)) continue;
    seen.add(candidate.id);
    const theirs = new Set(candidate.tags.map((t) => t.slug));
    const sharedTags = event.tags.filter((t) => theirs.has(t.slug));
    if (sharedTags.length > 0) scored.push({ event: candidate, sharedTags });
  }
  return scored
    .sort((a, b) => b.sharedTags.length - a.sharedTags.length || newestFirst(a.event, b.event))
    .slice(0, Math.floor(limit));
};
