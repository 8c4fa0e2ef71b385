import {
  type CounterState,
  counterRef,
  type DayEntry,
  type EntryState,
  entryRef,
  type ListingStore,
  type Mark,
} from '../adapters/event-store.js';
import { isTombstone, type NewsEvent, type StoredEvent, type Tag } from '../domain/event.js';
import { type CountOp, type EntryPlan, planEntry, unreflected } from '../domain/tag-count.js';
import { tagShardOf } from '../keys.js';
import { logger } from '../logger.js';
import { mapLimit } from '../map-limit.js';

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

/** Writes of one kind in flight at once, per batch: counters, then entries, then the change log. */
export const PROJECTION_CONCURRENCY = 16;

interface EntryWork {
  slug: string;
  name: string;
  id: string;
  date: string;
  live: NewsEvent | undefined;
  plan: EntryPlan;
  /** The entry as read, for the condition of its write. */
  stored: EntryState | undefined;
}

/**
 * Brings the per-tag listings and tag counts in line with the changed events, and returns the
 * sequence numbers of the changes that failed.
 *
 * Entries follow each event's current stored state, not the record's delta, so a duplicate, a
 * replay or an out-of-order batch converges on the same entries. Counts move by ops, each applied
 * once to a counter shard with a marker, then shown by the entry's own single write
 * (shared/domain/tag-count.ts; docs/architecture.md, "Counting without transactions"): the batch
 * reads the entries and counter shards it touches (work bounded by the batch, never by a tag's
 * size), plans each (tag, event) from them, applies the ops (one write per counter shard), then
 * writes the entries, each step with bounded concurrency.
 */
export const projectChanges = async (
  deps: ListingDeps,
  changes: readonly EventChange[],
): Promise<Set<string>> => {
  const failed = new Set<string>();
  if (changes.length === 0) return failed;
  const byId = new Map<string, EventChange[]>();
  for (const change of changes) byId.set(change.id, [...(byId.get(change.id) ?? []), change]);
  const failId = (id: string) => {
    for (const change of byId.get(id) ?? []) failed.add(change.sequenceNumber);
  };

  // Which tags each event touches (before, after, now), and what should be.
  const wanted: { slug: string; name: string; id: string; date: string; live: NewsEvent | undefined }[] = [];
  let current: Map<string, StoredEvent>;
  let entries: Map<string, EntryState>;
  let counters: Map<string, CounterState>;
  const read = new Set<string>();
  try {
    current = await deps.store.getEventsNow([...byId.keys()]);
    for (const [id, records] of byId) {
      const now = current.get(id);
      const live = now && !isTombstone(now) ? now : undefined;
      const tags = new Map<string, Tag>();
      for (const image of [...records.flatMap((r) => [r.oldImage, r.newImage]), now]) {
        for (const tag of image?.tags ?? []) tags.set(tag.slug, tag);
      }
      const date = now?.date ?? records[0]?.newImage?.date ?? records[0]?.oldImage?.date;
      if (!date) continue;
      for (const tag of tags.values()) {
        const has = live?.tags.find((t) => t.slug === tag.slug);
        wanted.push({ slug: tag.slug, name: has?.name ?? tag.name, id, date, live: has ? live : undefined });
      }
    }
    [entries, counters] = await Promise.all([
      deps.store.readEntries(wanted),
      deps.store.readCounters(wanted.map((w) => ({ slug: w.slug, shard: tagShardOf(w.id) }))),
    ]);
    for (const w of wanted) read.add(entryRef(w.slug, w.id));
    // The entries of other events' markers on these counters (their last batch's): read too, so
    // this batch's writes can remove the markers they show.
    const others = [...counters.entries()].flatMap(([ref, counter]) => {
      const slug = ref.slice(0, ref.lastIndexOf('#'));
      return counter.ops
        .filter((op) => !read.has(entryRef(slug, op.id)))
        .map((op) => ({ slug, date: op.date, id: op.id }));
    });
    if (others.length > 0) {
      for (const [ref, entry] of await deps.store.readEntries(others)) entries.set(ref, entry);
      for (const o of others) read.add(entryRef(o.slug, o.id));
    }
  } catch (error) {
    logger.warn('reading changed events and their listings failed; the batch will be retried', {
      error: error as Error,
    });
    return new Set(changes.map((c) => c.sequenceNumber));
  }

  // Plan every (tag, event); group the ops by counter shard, with the markers they may remove.
  const work: EntryWork[] = wanted.map((w) => {
    const stored = entries.get(entryRef(w.slug, w.id));
    const ops = (counters.get(counterRef(w.slug, tagShardOf(w.id)))?.ops ?? []).filter(
      (op) => op.id === w.id,
    );
    return { ...w, stored, plan: planEntry(w, stored, ops, w.live?.revision) };
  });
  interface Group {
    slug: string;
    shard: number;
    name: string;
    ops: CountOp[];
    prune: CountOp[];
    ids: Set<string>;
    /** A batch stopped half-way here: the summary may have missed a crossing. */
    resumed: boolean;
  }
  const groups = new Map<string, Group>();
  for (const item of work) {
    const shard = tagShardOf(item.id);
    const ref = counterRef(item.slug, shard);
    let group = groups.get(ref);
    if (!group) {
      const counter = counters.get(ref);
      group = { slug: item.slug, shard, name: item.name, ops: [], prune: [], ids: new Set(), resumed: false };
      // Markers of other events that their entries, read now, already show: this write removes them.
      groups.set(ref, group);
      if (counter) group.prune.push(...reflectedOf(item.slug, counter.ops, entries, read));
    }
    if (item.live) group.name = item.name;
    group.ops.push(...item.plan.ops);
    group.ids.add(item.id);
    const mine = (counters.get(ref)?.ops ?? []).filter((op) => op.id === item.id);
    if (unreflected(mine, item.stored).length > 0) group.resumed = true;
  }

  // Day entries follow each event's stored state, like its tag entries, beside the counting.
  const days = dayEntriesOf(byId, current);
  const dayWrite = deps.store.writeDayEntries(days.puts, days.deletes).catch((error: unknown) => {
    logger.warn('day listing update failed; the changes will be retried', { error: error as Error });
    for (const id of days.ids) failId(id);
  });

  // 1. The ops, one write per counter shard; an event whose ops failed writes no entry.
  const summaries = new Map<string, string>();
  await mapLimit([...groups.values()], PROJECTION_CONCURRENCY, async (group) => {
    try {
      if (group.ops.length > 0) {
        const move = await deps.store.applyCountOps(
          group.slug,
          group.shard,
          group.name,
          group.ops,
          group.prune,
        );
        if (move.before > 0 !== move.after > 0) summaries.set(group.slug, group.name);
      }
      if (group.resumed) summaries.set(group.slug, group.name);
    } catch (error) {
      logger.warn('tag count update failed; its changes will be retried', {
        slug: group.slug,
        error: error as Error,
      });
      for (const id of group.ids) failId(id);
    }
  });

  // 2. The entries, each written once, with the op that counted it.
  const changedAt = deps.now();
  const fresh = new Set<string>();
  await mapLimit(
    work.filter((w) => !failed.has(byId.get(w.id)?.[0]?.sequenceNumber ?? '')),
    PROJECTION_CONCURRENCY,
    async (item) => {
      const { plan, stored } = item;
      try {
        let done = true;
        if (plan.entry.action === 'put' && item.live) {
          done = await deps.store.putTagEntry(
            item.slug,
            item.live,
            stored && stored.revision === item.live.revision ? stored.changedAt || changedAt : changedAt,
            plan.entry.counted,
            stored?.counted,
          );
          if (!stored || stored.revision < item.live.revision) fresh.add(item.id);
        } else if (plan.entry.action === 'delete' && stored) {
          done = await deps.store.deleteTagEntry(item.slug, item.date, item.id, stored.counted);
        }
        // Another writer changed the entry since it was read: plan again from a fresh read.
        if (!done) throw new Error(`tag entry ${item.slug}/${item.id} changed while it was projected`);
      } catch (error) {
        logger.warn('listing update failed; the change will be retried', {
          id: item.id,
          error: error as Error,
        });
        failId(item.id);
      }
    },
  );

  await dayWrite;

  // 3. Summaries of tags whose count crossed zero; the change log.
  await mapLimit([...summaries.entries()], PROJECTION_CONCURRENCY, async ([slug, name]) => {
    try {
      await deps.store.refreshTagSummary(slug, name);
    } catch (error) {
      logger.warn('tag summary update failed; its changes will be retried', { slug, error: error as Error });
      for (const group of groups.values()) if (group.slug === slug) for (const id of group.ids) failId(id);
    }
  });
  const logged = [...byId.keys()].flatMap((id) => {
    const now = current.get(id);
    if (!now || isTombstone(now) || now.tags.length === 0) return [];
    if ((byId.get(id) ?? []).some((c) => failed.has(c.sequenceNumber))) return [];
    // A replay (no entry written for this revision) logs the change at the time its entries carry,
    // overwriting the same log item, so a redelivered record never puts an event in a second digest.
    let at = changedAt;
    if (!fresh.has(id)) {
      const entry = now.tags
        .map((t) => entries.get(entryRef(t.slug, id)))
        .find((e) => e?.revision === now.revision);
      if (entry?.changedAt) at = entry.changedAt;
    }
    return [{ id, revision: now.revision, changedAt: at }];
  });
  try {
    await deps.store.logChanges(logged);
  } catch (error) {
    logger.warn('logging changes failed; they will be retried', { error: error as Error });
    for (const change of logged) failId(change.id);
  }
  return failed;
};

/**
 * What each changed event's day listing should hold: the entry of its live state, and no entry at
 * any other time it was published under (a deleted id created again is published anew).
 */
const dayEntriesOf = (
  byId: ReadonlyMap<string, readonly EventChange[]>,
  current: ReadonlyMap<string, StoredEvent>,
): { puts: DayEntry[]; deletes: DayEntry[]; ids: string[] } => {
  const puts: DayEntry[] = [];
  const deletes: DayEntry[] = [];
  for (const [id, records] of byId) {
    const now = current.get(id);
    const live = now && !isTombstone(now) ? now : undefined;
    if (live) puts.push({ date: live.date, id, publishedAt: live.publishedAt });
    const gone = new Map<string, DayEntry>();
    for (const image of [...records.flatMap((r) => [r.oldImage, r.newImage]), now]) {
      if (!image || image.publishedAt === live?.publishedAt) continue;
      gone.set(image.publishedAt, { date: image.date, id, publishedAt: image.publishedAt });
    }
    deletes.push(...gone.values());
  }
  return { puts, deletes, ids: [...byId.keys()] };
};

/** The markers on a counter that the entries read show already (only those may be removed). */
const reflectedOf = (
  slug: string,
  ops: readonly CountOp[],
  entries: Map<string, EntryState>,
  read: Set<string>,
): CountOp[] => {
  const byId = new Map<string, CountOp[]>();
  for (const op of ops) byId.set(op.id, [...(byId.get(op.id) ?? []), op]);
  const reflected: CountOp[] = [];
  for (const [id, mine] of byId) {
    const ref = entryRef(slug, id);
    // An entry not read in this batch: nothing known about it, its markers stay.
    if (!read.has(ref)) continue;
    const open = unreflected(mine, entries.get(ref));
    reflected.push(...mine.filter((op) => !open.includes(op)));
  }
  return reflected;
};

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
