import type { ListingStore, Mark } from '../adapters/event-store.js';
import { isTombstone, type NewsEvent, type StoredEvent, type Tag } from '../domain/event.js';
import { logger } from '../logger.js';

/** One change to an event item, as a stream record carries it. */
export interface EventChange {
  /** Opaque position in the stream; reported back when this change fails. */
  sequenceNumber: string;
  id: string;
  oldImage?: StoredEvent;
  newImage?: StoredEvent;
}

export interface ListingDeps {
  store: ListingStore;
  now: () => string;
}

interface TagCount {
  name: string;
  delta: number;
  /** Something unexpected (a replay, a partial earlier attempt): count from the entries instead. */
  recount: boolean;
  changes: string[];
  /** Entries created or touched here, to flag as counted once the count is settled. */
  entries: { date: string; id: string }[];
}

/**
 * Brings the per-tag listings and tag counts in line with the changed events, and returns the
 * sequence numbers of the changes that failed.
 *
 * Entries follow each event's current stored state, not the record's delta: the records only
 * say which tags to look at, so a duplicate, a replay or an out-of-order batch converges on the
 * same entries. Counts move by +1/-1 only when a counted entry is removed or a new one created,
 * and an entry is flagged `counted` only after its count has moved. Whenever a write meets any
 * other state (a replay, or an earlier attempt that stopped between entry and count), the tag
 * is recounted from its entries instead. Counts are therefore exact without transactions.
 */
export const projectChanges = async (
  deps: ListingDeps,
  changes: readonly EventChange[],
): Promise<Set<string>> => {
  const failed = new Set<string>();
  if (changes.length === 0) return failed;
  const byId = new Map<string, EventChange[]>();
  for (const change of changes) byId.set(change.id, [...(byId.get(change.id) ?? []), change]);

  let current: Map<string, StoredEvent>;
  try {
    current = await deps.store.getEventsNow([...byId.keys()]);
  } catch (error) {
    logger.warn('reading changed events failed; the batch will be retried', { error: error as Error });
    return new Set(changes.map((c) => c.sequenceNumber));
  }

  // When the change reached the listings: what digests window on (a late stream is not a lost change).
  const changedAt = deps.now();
  const counts = new Map<string, TagCount>();
  await Promise.all(
    [...byId.entries()].map(async ([id, records]) => {
      const seqs = records.map((r) => r.sequenceNumber);
      const now = current.get(id);
      const live = now && !isTombstone(now) ? now : undefined;
      const tags = new Map<string, Tag>();
      for (const image of [...records.flatMap((r) => [r.oldImage, r.newImage]), now]) {
        for (const tag of image?.tags ?? []) tags.set(tag.slug, tag);
      }
      const date = now?.date ?? records[0]?.newImage?.date ?? records[0]?.oldImage?.date;
      const keep = new Set(live?.tags.map((t) => t.slug));
      let fresh = false;
      try {
        await Promise.all(
          [...tags.values()].map(async (tag) => {
            const count = counts.get(tag.slug) ?? {
              name: tag.name,
              delta: 0,
              recount: false,
              changes: [],
              entries: [],
            };
            counts.set(tag.slug, count);
            count.changes.push(...seqs);
            if (live && keep.has(tag.slug)) {
              count.name = live.tags.find((t) => t.slug === tag.slug)?.name ?? tag.name;
              const outcome = await deps.store.upsertTagEntry(tag.slug, live, changedAt);
              if (outcome !== 'current') fresh = true;
              if (outcome === 'created') count.delta += 1;
              else if (outcome === 'current' || outcome === 'uncounted') count.recount = true;
              if (outcome !== 'updated') count.entries.push({ date: live.date, id });
            } else if (date) {
              const outcome = await deps.store.removeTagEntry(
                tag.slug,
                date,
                id,
                now?.revision ?? Number.MAX_SAFE_INTEGER,
              );
              if (outcome === 'removed') count.delta -= 1;
              else if (outcome === 'removed-uncounted') count.recount = true;
              else if (
                outcome === 'absent' &&
                records.some((r) => r.oldImage && hasTag(r.oldImage, tag.slug))
              ) {
                count.recount = true;
              }
            }
          }),
        );
        if (live && live.tags.length > 0) await logChange(deps, live, fresh, changedAt);
      } catch (error) {
        logger.warn('listing update failed; the change will be retried', { id, error: error as Error });
        for (const seq of seqs) failed.add(seq);
      }
    }),
  );

  await Promise.all(
    [...counts.entries()].map(async ([slug, count]) => {
      try {
        if (count.recount) await deps.store.recountTag(slug, count.name);
        else if (count.delta !== 0) await deps.store.adjustTagCount(slug, count.name, count.delta);
        await Promise.all(count.entries.map((e) => deps.store.markEntryCounted(slug, e.date, e.id)));
      } catch (error) {
        logger.warn('tag count update failed; its changes will be retried', { slug, error: error as Error });
        for (const seq of count.changes) failed.add(seq);
      }
    }),
  );
  return failed;
};

/**
 * Logs the change for digests. A revision projected for the first time is logged now; a replay
 * (every entry already current) logs it again at the time its entries carry, overwriting the same
 * log item, so a redelivered stream record never puts an event in a second digest.
 */
const logChange = async (deps: ListingDeps, live: NewsEvent, fresh: boolean, now: string): Promise<void> => {
  let changedAt = now;
  if (!fresh) {
    const tag = live.tags[0] as Tag;
    const entry = await deps.store.entryChangedAt(tag.slug, live.date, live.id);
    if (entry && entry.revision === live.revision) changedAt = entry.changedAt;
  }
  await deps.store.logChange({ id: live.id, revision: live.revision, changedAt });
};

const hasTag = (event: StoredEvent, slug: string): boolean => event.tags.some((t) => t.slug === slug);

/** What a change makes stale on the site: its event, its day, its tags (before and after) and the home page. */
export const marksOf = (change: EventChange): Mark[] => {
  const marks: Mark[] = [
    { kind: 'event', key: change.id },
    { kind: 'site', key: 'all' },
  ];
  for (const image of [change.oldImage, change.newImage]) {
    if (!image) continue;
    marks.push({ kind: 'day', key: image.date });
    for (const tag of image.tags) marks.push({ kind: 'tag', key: tag.slug });
  }
  return marks;
};
