import type {
  EventStore,
  ListingStore,
  MarkRecord,
  PublishStore,
  TagSummary,
} from '../adapters/event-store.js';
import type { ObjectStore } from '../adapters/object-store.js';
import { isTombstone, type NewsEvent, type Tag } from '../domain/event.js';
import { type FeedItemModel, feedItems, feedModelOf } from '../domain/feed-model.js';
import {
  type EventSummary,
  latestFirst,
  RELATED_CANDIDATES_PER_TAG,
  type RelatedEvent,
  relatedEvents,
} from '../domain/related.js';
import {
  dayPath,
  EVENT_FORMATS_CONTENT_TYPES,
  eventPath,
  FEED_CONTENT_TYPES,
  FEED_FORMATS,
  type FeedFormat,
  type FeedScope,
  feedPath,
  HOME_PAGE,
  NOT_FOUND_PAGE,
  OPML_FILE,
  type SiteConfig,
  TAGS_PAGE,
  tagPath,
} from '../domain/site.js';
import { SiteIndex } from '../domain/site-index.js';
import { LATEST_SHARDS } from '../keys.js';
import { logger } from '../logger.js';
import { assembleFeed, renderFeedItem } from '../render/feeds.js';
import { renderEventJson, renderEventXml, renderOpml } from '../render/formats.js';
import {
  type ListedEvent,
  renderDayPage,
  renderEventPage,
  renderHomePage,
  renderNotFoundPage,
  renderTagPage,
  renderTagsIndex,
} from '../render/pages.js';

export interface PublishDeps {
  store: EventStore & PublishStore & Pick<ListingStore, 'recountTag' | 'getEventsNow'>;
  objects: ObjectStore;
  site: SiteConfig;
}

export interface PublishReport {
  /** Objects whose bytes changed and were written. */
  written: number;
  /** Objects rebuilt to the same bytes, so left alone. */
  unchanged: number;
  removed: number;
  marksCleared: number;
  /** Marks left for the next run because a newer change arrived meanwhile, or their rebuild failed. */
  marksKept: number;
  failed: number;
}

/** Events listed on a tag page (the newest; the page says how many there are in all). */
const TAG_PAGE_SIZE = 100;
const HOME_SIZE = 30;
/** Marks rebuilt at once in an incremental run. */
const CONCURRENCY = 8;
/** Objects being written at once. */
const WRITES_IN_FLIGHT = 32;
/** Events read per query when walking every event (DynamoDB stops a page at 1 MB anyway). */
const WALK_PAGE = 1000;

const pool = async <T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> => {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      for (let item = items[next++]; item !== undefined; item = items[next++]) await fn(item);
    }),
  );
};

export const emptyPublishReport = (): PublishReport => ({
  written: 0,
  unchanged: 0,
  removed: 0,
  marksCleared: 0,
  marksKept: 0,
  failed: 0,
});

/** An event's feed item and its text in every format: written once, placed in every feed listing it. */
interface WrittenItem {
  item: FeedItemModel;
  text: Record<FeedFormat, string>;
}

const tagScope = (tag: Tag): FeedScope => ({ kind: 'tag', slug: tag.slug, name: tag.name });

/** What every run does: render with the site's settings and write objects, counting what changed. */
class Output {
  readonly report = emptyPublishReport();
  private readonly writing = new Set<Promise<void>>();
  private failure: unknown;
  private readonly itemOf: (event: NewsEvent) => FeedItemModel;

  constructor(readonly deps: PublishDeps) {
    this.itemOf = feedItems(deps.site);
  }

  get config(): SiteConfig {
    return this.deps.site;
  }

  /** Writes the object (unless its bytes are unchanged), waiting only when many writes are under way. */
  async put(key: string, body: string, contentType: string): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    while (this.writing.size >= WRITES_IN_FLIGHT) await Promise.race(this.writing);
    const write = this.deps.objects.putIfChanged(key, body, contentType).then(
      (written) => {
        if (written) this.report.written++;
        else this.report.unchanged++;
      },
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    const tracked = write.finally(() => this.writing.delete(tracked));
    this.writing.add(tracked);
  }

  /** Waits for every write; fails with the first write that failed. */
  async settled(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing);
    if (this.failure !== undefined) throw this.failure;
  }

  async remove(key: string): Promise<void> {
    if (await this.deps.objects.remove(key)) this.report.removed++;
  }

  writeItem(event: NewsEvent): WrittenItem {
    const item = this.itemOf(event);
    return {
      item,
      text: {
        rss: renderFeedItem(item, 'rss'),
        atom: renderFeedItem(item, 'atom'),
        json: renderFeedItem(item, 'json'),
      },
    };
  }

  async feeds(scope: FeedScope, items: readonly WrittenItem[]): Promise<void> {
    const model = feedModelOf(
      this.config,
      scope,
      items.map((i) => i.item),
    );
    // The model drops repeats and cuts at the feed size: keep the texts of the items it kept.
    const byId = new Map(items.map((i) => [i.item.id, i.text]));
    for (const format of FEED_FORMATS) {
      const texts = model.items.map((item) => byId.get(item.id)?.[format] ?? '');
      await this.put(feedPath(scope, format), assembleFeed(model, format, texts), FEED_CONTENT_TYPES[format]);
    }
  }

  async removeFeeds(scope: FeedScope): Promise<void> {
    await Promise.all(FEED_FORMATS.map((format) => this.remove(feedPath(scope, format))));
  }

  async eventPages(event: NewsEvent, related: readonly RelatedEvent[]): Promise<void> {
    await this.put(
      eventPath(event.id, 'html'),
      renderEventPage(this.config, event, related),
      EVENT_FORMATS_CONTENT_TYPES.html,
    );
    await this.put(
      eventPath(event.id, 'json'),
      renderEventJson(this.config, event),
      EVENT_FORMATS_CONTENT_TYPES.json,
    );
    await this.put(
      eventPath(event.id, 'xml'),
      renderEventXml(this.config, event),
      EVENT_FORMATS_CONTENT_TYPES.xml,
    );
  }

  async dayPage(date: string, events: readonly ListedEvent[]): Promise<void> {
    if (events.length === 0) return this.remove(dayPath(date));
    await this.put(dayPath(date), renderDayPage(this.config, date, events), EVENT_FORMATS_CONTENT_TYPES.html);
  }

  async tagPage(tag: Tag, events: readonly ListedEvent[], total: number): Promise<void> {
    await this.put(
      tagPath(tag.slug),
      renderTagPage(this.config, tag, events, { total }),
      EVENT_FORMATS_CONTENT_TYPES.html,
    );
  }

  async siteListings(latest: readonly ListedEvent[], tags: readonly TagSummary[]): Promise<void> {
    await this.put(
      HOME_PAGE,
      renderHomePage(this.config, latest.slice(0, HOME_SIZE), tags),
      EVENT_FORMATS_CONTENT_TYPES.html,
    );
    await this.put(TAGS_PAGE, renderTagsIndex(this.config, tags), EVENT_FORMATS_CONTENT_TYPES.html);
    await this.put(NOT_FOUND_PAGE, renderNotFoundPage(this.config), EVENT_FORMATS_CONTENT_TYPES.html);
    await this.put(OPML_FILE, renderOpml(this.config, tags), 'text/x-opml; charset=utf-8');
  }
}

/** An incremental run: reads are cached for the run, so each tag is read once whatever needs it. */
class Run extends Output {
  private readonly tagEvents = new Map<string, Promise<NewsEvent[]>>();
  private readonly written = new Map<string, WrittenItem>();
  private readonly eventPagesBuilt = new Map<string, Promise<void>>();
  private tags?: Promise<TagSummary[]>;

  /** A tag's newest events, read once per run at the largest size any page needs, then sliced. */
  async eventsOfTag(slug: string, limit: number): Promise<NewsEvent[]> {
    let cached = this.tagEvents.get(slug);
    if (!cached) {
      const size = Math.max(TAG_PAGE_SIZE, RELATED_CANDIDATES_PER_TAG, this.config.feedSize);
      cached = this.deps.store.listTag(slug, { limit: size }).then((page) => page.items);
      this.tagEvents.set(slug, cached);
    }
    return (await cached).slice(0, limit);
  }

  /** Every tag summary, read once per run; a recount during the run updates it. */
  allTags(): Promise<TagSummary[]> {
    this.tags ??= this.deps.store.listTags();
    return this.tags;
  }

  /** The feed item of an event, written once per run (per revision) however many feeds list it. */
  item(event: NewsEvent): WrittenItem {
    const key = `${event.id}#${event.revision}`;
    let written = this.written.get(key);
    if (!written) {
      written = this.writeItem(event);
      this.written.set(key, written);
    }
    return written;
  }

  /** Each event page at most once per run, however many marks lead to it. */
  eventPage(event: NewsEvent): Promise<void> {
    let page = this.eventPagesBuilt.get(event.id);
    if (!page) {
      page = this.buildEventPage(event);
      this.eventPagesBuilt.set(event.id, page);
    }
    return page;
  }

  private async buildEventPage(event: NewsEvent): Promise<void> {
    const candidates = (
      await Promise.all(event.tags.map((t) => this.eventsOfTag(t.slug, RELATED_CANDIDATES_PER_TAG)))
    ).flat();
    await this.eventPages(event, relatedEvents(event, candidates));
  }

  async event(id: string, stored = this.deps.store.getEvent(id)): Promise<void> {
    const found = await stored;
    if (found && !isTombstone(found)) return this.eventPage(found);
    await Promise.all((['html', 'json', 'xml'] as const).map((format) => this.remove(eventPath(id, format))));
    // Pages that listed it as related must lose the link: rebuild its tags' recent events.
    const neighbours = (
      await Promise.all((found?.tags ?? []).map((t) => this.eventsOfTag(t.slug, RELATED_CANDIDATES_PER_TAG)))
    ).flat();
    await pool([...new Map(neighbours.map((e) => [e.id, e])).values()], (e) => this.eventPage(e));
  }

  async day(date: string): Promise<void> {
    const events: NewsEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.listDay(date, { limit: 100, ...(cursor ? { cursor } : {}) });
      events.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    await this.dayPage(date, events);
  }

  /**
   * A tag's page and feeds. The stream keeps tag counts exact, so a count is recounted from the tag's
   * entries only when this run sees it is wrong: the summary is missing, or disagrees with the
   * entries when the page read all of them, or is smaller than what the page read.
   */
  async tag(slug: string): Promise<void> {
    const size = Math.max(TAG_PAGE_SIZE, this.config.feedSize);
    const [events, tags] = await Promise.all([this.eventsOfTag(slug, size), this.allTags()]);
    const summary = tags.find((t) => t.slug === slug);
    const name = events[0]?.tags.find((t) => t.slug === slug)?.name;
    const complete = events.length < size;
    let total = summary?.count ?? 0;
    const wrong =
      (summary === undefined && events.length > 0) ||
      (complete && total !== events.length) ||
      total < events.length;
    if (wrong) {
      total = await this.deps.store.recountTag(slug, name ?? summary?.name ?? slug);
      const rest = tags.filter((t) => t.slug !== slug);
      if (total > 0) rest.push({ slug, name: name ?? summary?.name ?? slug, count: total });
      this.tags = Promise.resolve(rest);
    }
    if (events.length === 0 || name === undefined) {
      await Promise.all([this.remove(tagPath(slug)), this.removeFeeds({ kind: 'tag', slug, name: slug })]);
      return;
    }
    const tag = { slug, name };
    await this.tagPage(tag, events, total);
    await this.feeds(
      tagScope(tag),
      events.slice(0, this.config.feedSize).map((e) => this.item(e)),
    );
  }

  async site(): Promise<void> {
    const latest = (await this.deps.store.listLatest({ limit: Math.max(HOME_SIZE, this.config.feedSize) }))
      .items;
    await this.siteListings(latest, await this.allTags());
    await this.feeds(
      { kind: 'site' },
      latest.slice(0, this.config.feedSize).map((e) => this.item(e)),
    );
  }

  async settle(mark: MarkRecord, build: () => Promise<void>): Promise<void> {
    try {
      await build();
      await this.settled();
    } catch (error) {
      logger.error('rebuild failed; the mark stays for the next run', { mark, error: error as Error });
      this.report.failed++;
      this.report.marksKept++;
      return;
    }
    if (await this.deps.store.clearMark(mark)) this.report.marksCleared++;
    else this.report.marksKept++;
  }
}

/**
 * Rebuilds what the change stream marked, and only that. Event pages first, then days, tags and
 * the site-wide pages and feeds, so listings never link to a page that is not there yet. A mark is
 * cleared only if no newer change re-marked it while the run worked, and only once what it asked
 * for is written.
 */
export const publishMarked = async (deps: PublishDeps): Promise<PublishReport> => {
  const run = new Run(deps);
  for (const kind of ['event', 'day', 'tag', 'site'] as const) {
    const marks = await deps.store.listMarks(kind);
    // Marked events are read in batches of 100 rather than one by one.
    const events =
      kind === 'event' && marks.length > 0 ? deps.store.getEventsNow(marks.map((m) => m.key)) : undefined;
    await pool(marks, (mark) =>
      run.settle(mark, () => {
        switch (kind) {
          case 'event':
            return run.event(
              mark.key,
              (events ?? Promise.resolve(new Map())).then((found) => found.get(mark.key)),
            );
          case 'day':
            return run.day(mark.key);
          case 'tag':
            return run.tag(mark.key);
          case 'site':
            return run.site();
        }
      }),
    );
  }
  return run.report;
};

/** Every live event's summary, all shards read at once. */
const readSummaries = async (store: PublishStore): Promise<EventSummary[]> => {
  const shards = await Promise.all(
    Array.from({ length: LATEST_SHARDS }, async (_, shard) => {
      const summaries: EventSummary[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listLatestShardSummaries(shard, {
          limit: WALK_PAGE,
          ...(cursor ? { cursor } : {}),
        });
        summaries.push(...page.items);
        cursor = page.cursor;
      } while (cursor);
      return summaries;
    }),
  );
  return shards.flat();
};

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

/** A feed of a full run, written once its last item has been read. */
interface PendingFeed {
  scope: FeedScope;
  /** Positions of its events in the index, newest first. */
  positions: number[];
  waiting: number;
}

/**
 * Rebuilds everything from the store (`npm run publish -- --full`); unchanged bytes are still not
 * rewritten. Two walks over the events, and no query per tag or per event:
 *
 * 1. every event's summary (no body) builds a SiteIndex: every tag's and day's listing, every feed's
 *    items and every "Related" list, the same the incremental run reads from the store;
 * 2. every event in full, newest first: its three pages, and its feed item, written once and placed in
 *    the site feed and its tags' feeds. A feed is written as soon as its oldest item has been read,
 *    so memory holds the items of feeds still waiting, never the archive;
 * 3. day, tag and site pages from the index. Tag counts are checked against the index and recounted
 *    from their entries where they disagree.
 */
export const publishAll = async (deps: PublishDeps): Promise<PublishReport> => {
  const out = new Output(deps);
  const { site, store } = deps;
  // Marks present now are covered by this run; newer ones (changed markedAt) survive it.
  const marks = (
    await Promise.all((['event', 'day', 'tag', 'site'] as const).map((k) => store.listMarks(k)))
  ).flat();

  const index = new SiteIndex(await readSummaries(store));

  // Which feeds wait for which events.
  const feeds: PendingFeed[] = [
    { scope: { kind: 'site' }, positions: index.events.slice(0, site.feedSize).map((_, p) => p), waiting: 0 },
    ...index.tags.map((tag) => ({
      scope: tagScope(tag),
      positions: tag.events.slice(0, site.feedSize),
      waiting: 0,
    })),
  ];
  const feedsOf = new Map<number, PendingFeed[]>();
  for (const feed of feeds) {
    feed.waiting = feed.positions.length;
    for (const position of feed.positions) {
      const list = feedsOf.get(position);
      if (list) list.push(feed);
      else feedsOf.set(position, [feed]);
    }
  }
  // Events read but not yet in all their feeds: kept as read (smaller than their items in three
  // formats), written as items when their first feed is complete, dropped after their last.
  const held = new Map<number, { event?: NewsEvent; written?: WrittenItem; feeds: number }>();
  const writeFeed = async (feed: PendingFeed) => {
    const written: WrittenItem[] = [];
    for (const position of feed.positions) {
      const item = held.get(position);
      if (!item) continue; // deleted since the index was read: its marks will rebuild this feed
      if (!item.written && item.event) {
        item.written = out.writeItem(item.event);
        item.event = undefined;
      }
      if (item.written) written.push(item.written);
      if (--item.feeds === 0) held.delete(position);
    }
    await out.feeds(feed.scope, written);
  };

  for await (const event of walkEvents(store)) {
    const position = index.positionOf(event.id);
    // Created since the index was read: its marks will publish it.
    if (position === undefined) continue;
    await out.eventPages(event, index.related(position));
    const waiting = feedsOf.get(position);
    if (!waiting) continue;
    held.set(position, { event, feeds: waiting.length });
    for (const feed of waiting) if (--feed.waiting === 0) await writeFeed(feed);
  }
  for (const feed of feeds) if (feed.waiting > 0) await writeFeed(feed);

  for (const [date, events] of index.days()) await out.dayPage(date, events);

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
    await out.tagPage(tag, index.eventsOfTag(tag.slug, TAG_PAGE_SIZE), Math.max(count, 0));
  }
  // Summaries of tags no live event has any more.
  for (const summary of counted.values()) {
    const count = await store.recountTag(summary.slug, summary.name);
    if (count > 0) tags.push({ ...summary, count });
    else await Promise.all([out.remove(tagPath(summary.slug)), out.removeFeeds(tagScope(summary))]);
  }
  await out.siteListings(index.events.slice(0, HOME_SIZE), tags);
  await out.settled();

  await pool(marks, async (mark) => {
    if (await store.clearMark(mark)) out.report.marksCleared++;
    else out.report.marksKept++;
  });
  return out.report;
};
