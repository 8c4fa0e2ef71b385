import type { PublishStore, TagSummary } from '../adapters/event-store.js';
import { monthOf } from '../domain/archives.js';
import type { NewsEvent } from '../domain/event.js';
import { latestFirst, RELATED_CANDIDATES_PER_TAG } from '../domain/related.js';
import { type FeedScope, tagPath } from '../domain/site.js';
import { type IndexedTag, SiteIndex } from '../domain/site-index.js';
import { LATEST_SHARDS } from '../keys.js';
import { FullArchive, readArchiveCounts } from './publish-archives.js';
import {
  HOME_SIZE,
  ITEMS_KEPT,
  Output,
  type PublishDeps,
  type PublishReport,
  type SiteObject,
  TAG_PAGE_SIZE,
  tagCountsObject,
  tagScope,
  WALK_PAGE,
  type WrittenItem,
} from './publish-output.js';

/*
 * The full publish (`publishAll`): every page, feed and archive document, from a walk over every
 * live event, holding only what the feeds and pages still waiting need.
 */
/**
 * Every live event, newest first (`latestFirst`): the shards are read side by side, each a page
 * ahead, and merged, so memory holds a few pages and no event is read twice.
 */
async function* walkEvents(store: PublishStore): AsyncGenerator<NewsEvent> {
  interface Shard {
    items: NewsEvent[];
    at: number;
    next?: Promise<{ items: NewsEvent[]; cursor?: string }>;
  }
  const read = (shard: number, cursor?: string) => {
    const page = store.listLatestShard(shard, { limit: WALK_PAGE, ...(cursor ? { cursor } : {}) });
    // Read ahead: if the walk stops on another shard's failure, this one's must not go unhandled.
    page.catch(() => undefined);
    return page;
  };
  const shards: Shard[] = Array.from({ length: LATEST_SHARDS }, (_, shard) => ({
    items: [],
    at: 0,
    next: read(shard),
  }));
  for (;;) {
    let newest: Shard | undefined;
    for (const [number, shard] of shards.entries()) {
      while (shard.at >= shard.items.length && shard.next) {
        const page = await shard.next;
        shard.items = page.items;
        shard.at = 0;
        shard.next = page.cursor ? read(number, page.cursor) : undefined;
      }
      const head = shard.items[shard.at];
      if (head && (!newest || latestFirst(head, newest.items[newest.at] as NewsEvent) < 0)) newest = shard;
    }
    if (!newest) return;
    yield newest.items[newest.at++] as NewsEvent;
  }
}

/** A feed of a full run: its events' positions, newest first, as the walk finds them. */
interface OpenFeed {
  scope: FeedScope;
  positions: number[];
  /** Its events whose pages are not written yet: it waits for them, so it never links to a missing page. */
  pagesToCome: number;
  written: boolean;
}

/** An event read and still needed: by feeds not written yet, or by its own pages. */
interface HeldEvent {
  /** As JSON: a fraction of the object's memory, and of the garbage collector's work. */
  json: string;
  feeds: number;
  /** Tags of its whose newest events are not all read yet: its "Related" list waits for them. */
  waitingOn: number;
  /** The feeds that list it and wait for its pages. */
  listedIn: OpenFeed[];
}

/**
 * Rebuilds everything from the store (`npm run publish -- --full`); unchanged bytes are still not
 * rewritten. One walk over every event, newest first (`latestFirst`, the order of tag entries), and
 * no query per tag or per event. The walk grows a SiteIndex (every tag's and day's listing) and,
 * as it goes:
 *
 * - an event's pages are written as soon as its "Related" list is known: once each of its tags has
 *   its newest `RELATED_CANDIDATES_PER_TAG` events read, which for most events is when they are read;
 * - an event is in a feed when it is among the first `feedSize` read of the site or of a tag, and a
 *   feed is written once it has them all and their pages are written; its items are written once
 *   and placed in every feed that lists the event.
 *
 * Events still needed (by a feed not written yet, or for "Related") are held as JSON. After the walk:
 * the remaining pages and feeds, then day, tag and site pages from the index. Tag counts are checked
 * against the index and recounted from their entries where they disagree.
 */
export const publishAll = async (deps: PublishDeps): Promise<PublishReport> => {
  const out = new Output(deps);
  const { site, store } = deps;
  // Marks present now are covered by this run; a change arriving meanwhile leaves a mark of its own.
  const marks = (
    await Promise.all((['event', 'day', 'tag', 'site'] as const).map((k) => store.listMarks(k)))
  ).flat();

  const recordedArchive = readArchiveCounts(deps.objects, site).catch(() => undefined);
  const index = new SiteIndex();
  const openFeed = (scope: FeedScope): OpenFeed => ({ scope, positions: [], pagesToCome: 0, written: false });
  const siteFeed = openFeed({ kind: 'site' });
  const tagFeeds: OpenFeed[] = [];
  const held = new Map<number, HeldEvent>();
  // Feed items written and kept for feeds written next, the least recently used dropped.
  const items = new Map<number, WrittenItem>();
  // Written once every feed file is, so none describes items its files do not hold yet.
  const records: SiteObject[] = [];
  // Positions of events whose pages wait for a tag (by its number) to have its newest events read.
  const waiting = new Map<number, number[]>();

  const eventAt = (position: number): NewsEvent => {
    const entry = held.get(position);
    if (!entry) throw new Error(`full publish: event ${position} is needed but no longer held`);
    return JSON.parse(entry.json) as NewsEvent;
  };
  const release = (position: number, entry: HeldEvent) => {
    if (entry.feeds > 0 || entry.waitingOn > 0) return;
    held.delete(position);
    items.delete(position);
  };
  const writePages = (position: number, event: NewsEvent) =>
    out.put(out.eventPages(event, index.related(position)));
  const feedIsDue = (feed: OpenFeed) =>
    !feed.written && feed.positions.length === site.feedSize && feed.pagesToCome === 0;
  /** Writes the pages of a held event whose "Related" list is now known, then the feeds that waited for them. */
  const writeHeldPages = async (position: number, entry: HeldEvent) => {
    entry.waitingOn = 0;
    await writePages(position, eventAt(position));
    const due = entry.listedIn.filter((feed) => --feed.pagesToCome === 0 && feedIsDue(feed));
    entry.listedIn = [];
    release(position, entry);
    for (const feed of due) await writeFeed(feed);
  };
  const writeFeed = async (feed: OpenFeed) => {
    feed.written = true;
    const missing = feed.positions.filter((position) => !items.has(position));
    const written = out.writeItems(missing.map(eventAt));
    missing.forEach((position, i) => {
      items.set(position, written[i] as WrittenItem);
    });
    const listed = feed.positions.map((position) => {
      const item = items.get(position) as WrittenItem;
      // Least recently used last.
      items.delete(position);
      items.set(position, item);
      return item;
    });
    for (const position of feed.positions) {
      const entry = held.get(position) as HeldEvent;
      entry.feeds--;
      release(position, entry);
    }
    while (items.size > ITEMS_KEPT) items.delete(items.keys().next().value as number);
    const newest = index.events[feed.positions[0] ?? -1]?.date;
    const { files, record } = out.feeds(feed.scope, listed, { newestMonth: newest && monthOf(newest) });
    records.push(record);
    await out.put(files);
  };

  for await (const event of walkEvents(store)) {
    const before = index.size;
    const position = index.add(event);
    // Read twice (the walk met it again, as when its date changed while the walk ran): it has its place.
    if (index.size === before) continue;
    const feeds: OpenFeed[] = [];
    if (position < site.feedSize) feeds.push(siteFeed);
    for (const number of index.tagsShortOf(position, site.feedSize + 1)) {
      let feed = tagFeeds[number];
      if (!feed) {
        feed = openFeed(tagScope(index.tags[number] as IndexedTag));
        tagFeeds[number] = feed;
      }
      feeds.push(feed);
    }
    const short = index.tagsShortOf(position, RELATED_CANDIDATES_PER_TAG);
    for (const feed of feeds) {
      feed.positions.push(position);
      if (short.length > 0) feed.pagesToCome++;
    }
    if (feeds.length > 0 || short.length > 0)
      held.set(position, {
        json: JSON.stringify(event),
        feeds: feeds.length,
        waitingOn: short.length,
        listedIn: short.length > 0 ? feeds : [],
      });
    for (const number of short) {
      const list = waiting.get(number);
      if (list) list.push(position);
      else waiting.set(number, [position]);
    }
    if (short.length === 0) await writePages(position, event);
    // Tags that now have their newest events read: the pages that waited for them.
    for (const number of index.tagNumbersOf(position)) {
      const list = waiting.get(number);
      if (!list || (index.tags[number] as IndexedTag).events.length < RELATED_CANDIDATES_PER_TAG) continue;
      waiting.delete(number);
      for (const earlier of list) {
        const entry = held.get(earlier) as HeldEvent;
        if (--entry.waitingOn === 0) await writeHeldPages(earlier, entry);
      }
    }
    for (const feed of feeds) if (feedIsDue(feed)) await writeFeed(feed);
  }
  // Every event is read: every "Related" list is known, every feed has all it will have.
  const rest = [...held.entries()].filter(([, entry]) => entry.waitingOn > 0);
  for (const [position, entry] of rest) await writeHeldPages(position, entry);
  // The site's feeds even with no event in them, so none from before stays up.
  for (const feed of [siteFeed, ...tagFeeds])
    if (feed && !feed.written && (feed.positions.length > 0 || feed === siteFeed)) await writeFeed(feed);

  const archive = new FullArchive(out, index);
  for (const [date, events] of index.days())
    await out.put([out.dayPage(date, events, archive.dayAround(date))]);

  const summaries = await store.listTags();
  const counted = new Map(summaries.map((t) => [t.slug, t]));
  const tags: TagSummary[] = [];
  for (const tag of index.tags) {
    const summary = counted.get(tag.slug);
    counted.delete(tag.slug);
    let count = tag.events.length;
    // The index counts the events; the summary, kept by the stream, their tag entries. They agree
    // unless a count drifted (or the stream is still catching up): settle it from the entries.
    if (summary?.count !== count) count = await store.recountTag(tag.slug, tag.name);
    if (count > 0) tags.push({ slug: tag.slug, name: summary?.name ?? tag.name, count });
    await out.put([
      out.tagPage(
        tag,
        index.eventsOfTag(tag.slug, TAG_PAGE_SIZE),
        Math.max(count, 0),
        archive.tagMonths(tag.slug),
      ),
    ]);
  }
  // Summaries of tags no live event has any more.
  for (const summary of counted.values()) {
    const count = await store.recountTag(summary.slug, summary.name);
    if (count > 0) tags.push({ ...summary, count });
    else await Promise.all([out.remove(tagPath(summary.slug)), out.removeFeeds(tagScope(summary))]);
  }
  // The archive: month, year and topic pages, then every month's documents from a second walk.
  await archive.writePages();
  await archive.writeDocuments(walkEvents(store));
  await archive.removeStale(await recordedArchive);
  out.report.archive = archive.figures;
  await out.put(out.siteListings(index.events.slice(0, HOME_SIZE), tags, archive.topics()));
  await out.settled();
  await out.put([...records, archive.record(), tagCountsObject(site, tags)]);
  await out.settled();

  for (const mark of marks) out.clear(mark);
  await out.cleared();
  return out.report;
};
