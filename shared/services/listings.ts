import type { ListingStore } from '../adapters/event-store.js';
import { isTombstone, type StoredEvent, type Tag } from '../domain/event.js';
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

/**
 * Brings the per-tag listings and tag counts in line with each changed event.
 *
 * It works from the event's current stored state, not from the record's delta: the record only
 * says which tags to look at. Replaying a record, or meeting records out of order, therefore
 * converges on the same listings. Returns the sequence numbers of the changes that failed.
 */
export const projectChanges = async (
  deps: ListingDeps,
  changes: readonly EventChange[],
): Promise<string[]> => {
  const failed = new Set<string>();
  /** Tags to recount, with a display name and the changes that touched them. */
  const touched = new Map<string, { name: string; changes: string[] }>();

  for (const change of changes) {
    try {
      const current = await deps.store.getEvent(change.id);
      const tags = new Map<string, Tag>();
      for (const image of [change.oldImage, change.newImage, current]) {
        for (const tag of image?.tags ?? []) tags.set(tag.slug, tag);
      }
      const live = current && !isTombstone(current) ? current : undefined;
      const date = current?.date ?? change.newImage?.date ?? change.oldImage?.date;
      const keep = new Set(live?.tags.map((t) => t.slug));
      await Promise.all(
        [...tags.values()].map((tag) => {
          if (live && keep.has(tag.slug)) return deps.store.putTagEntry(tag.slug, live);
          return date
            ? deps.store.removeTagEntry(
                tag.slug,
                date,
                change.id,
                current?.revision ?? Number.MAX_SAFE_INTEGER,
              )
            : undefined;
        }),
      );
      for (const tag of tags.values()) {
        const entry = touched.get(tag.slug) ?? { name: tag.name, changes: [] };
        // The live event's spelling of the name wins over older images.
        if (live && keep.has(tag.slug)) entry.name = tag.name;
        entry.changes.push(change.sequenceNumber);
        touched.set(tag.slug, entry);
      }
    } catch (error) {
      logger.warn('listing update failed; the change will be retried', {
        id: change.id,
        error: error as Error,
      });
      failed.add(change.sequenceNumber);
    }
  }

  const startedAt = deps.now();
  await Promise.all(
    [...touched.entries()].map(async ([slug, { name, changes: seqs }]) => {
      try {
        await deps.store.recountTag(slug, name, startedAt);
      } catch (error) {
        logger.warn('tag recount failed; its changes will be retried', { slug, error: error as Error });
        for (const seq of seqs) failed.add(seq);
      }
    }),
  );
  return changes.map((c) => c.sequenceNumber).filter((seq) => failed.has(seq));
};
