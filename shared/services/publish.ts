import {
  type EventStore,
  type ListingStore,
  type MarkRecord,
  markBatchOf,
  type PublishStore,
  type TagSummary,
} from '../adapters/event-store.js';
import { BATCH_WRITE_MAX } from '../adapters/items.js';
import { borrowObject, type ObjectBody, type ObjectStore } from '../adapters/object-store.js';
import { type Counts, monthOf } from '../domain/archives.js';
import { isTombstone, type NewsEvent, type StoredEvent, type Tag } from '../domain/event.js';
import { type FeedItemRef, feedHeadOf, feedItemRefs, feedItems } from '../domain/feed-model.js';
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
  feedItemsPath,
  feedPath,
  HOME_PAGE,
  NOT_FOUND_PAGE,
  OPML_FILE,
  type SiteConfig,
  TAGS_PAGE,
  tagPath,
} from '../domain/site.js';
import { type IndexedTag, SiteIndex } from '../domain/site-index.js';
import { LATEST_SHARDS } from '../keys.js';
import { logger } from '../logger.js';
import {
  assembleFeedParts,
  FEED_ITEMS_VERSION,
  feedItemBytes,
  feedItemHasContent,
  feedItemLayout,
  renderFeedItems,
} from '../render/feeds.js';
import { renderEventJson, renderEventXml, renderOpml } from '../render/formats.js';
import {
  type ListedEvent,
  renderDayPage,
  renderEventPage,
  renderHomePage,
  renderNotFoundPage,
  renderTagPage,
  renderTagsIndex,
  type TopicCount,
} from '../render/pages.js';
import {
  type ArchiveFigures,
  FullArchive,
  IncrementalArchive,
  readArchiveCounts,
  readMonth,
} from './publish-archives.js';

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
  /**
   * Marks left for the next run because their rebuild failed (or clearing them did). A change that
   * arrives while a run works leaves a mark of its own, counted by the next run.
   */
  marksKept: number;
  /**
   * Marks left for the next run on purpose: not taken before the run's deadline, or (while a
   * backlog of event marks waits) listings rebuilt ahead of it whose marks stay for the run that
   * takes the backlog's last events. Not a failure: the next runs take them.
   */
  marksDeferred: number;
  failed: number;
  /** What the archive (months, years, topic labels) added to a full run. */
  archive?: ArchiveFigures;
}

/** Events listed on a tag page: the newest, as many as its feeds hold (the page says how many there are in all). */
const TAG_PAGE_SIZE = 50;
const HOME_SIZE = 30;
/**
 * Marks rebuilt at once in an incremental run. Each waits on the store and on writes more than it
 * works, so many at once keep both busy.
 */
const CONCURRENCY = 32;
/** Objects being written at once, unless the store says how many it takes. */
const WRITES_IN_FLIGHT = 32;
/**
 * Events read per query when walking every event. The walk holds a page and the next of each of
 * the 8 shards: at 1,000 events a page, a page outlived several young-generation collections, so
 * nearly every event read was copied twice and promoted before it died. At 250, a full run of
 * 100,000 events took 84-96 s against 107-115 s, and 27 s less CPU (two pairs, run one after the
 * other, with the store on disk), for some 300 queries more (400 in all).
 */
const WALK_PAGE = 250;
/** Feed items kept in a full run for feeds written next (each is a few kilobytes in three formats). */
const ITEMS_KEPT = 1024;

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
  marksDeferred: 0,
  failed: 0,
});

/** An object to write: its key, bytes and content type. */
interface SiteObject {
  key: string;
  body: ObjectBody;
  type: string;
}

/**
 * An event's feed item as written: what a feed needs of it, and its text in every format, placed as
 * it is in every feed that lists the event.
 */
interface WrittenItem {
  /** `<event id>#<revision>`: the same key gives the same text (for one site and item version). */
  key: string;
  ref: FeedItemRef;
  hasContent: boolean;
  /** Written by this run (text), or kept from the feed as written before (its bytes). */
  text: Record<FeedFormat, string | Buffer>;
}

const itemKey = (event: Pick<NewsEvent, 'id' | 'revision'>): string => `${event.id}#${event.revision}`;

/**
 * The tag counts a run listed, kept for the next one (`_publish/tag-counts.json`): the site's pages
 * list every tag with its count, and summing every tag's counter shards on each run would read
 * four items per tag a minute. A count moves only with a change to one of the tag's entries, which
 * marks the tag, so an incremental run reads the counters of its marked tags and takes the others
 * from here, and re-reads a slice of those too, chosen at random (`TAG_COUNT_SLICES`): a count
 * this record got wrong (a counter moved by hand: repairs mark their tags) heals in that many runs on average. The
 * record holds counts only, so a full run and incremental runs over the same data write it alike.
 */
const TAG_COUNTS_RECORD = '_publish/tag-counts.json';
const TAG_COUNTS_VERSION = 1;
export const TAG_COUNT_SLICES = 32;

interface TagCountsRecord {
  version: number;
  site: string;
  counts: Record<string, number>;
}

/** A tag's slice, the same from run to run. */
export const tagCountSliceOf = (slug: string): number => {
  let hash = 0;
  for (let i = 0; i < slug.length; i++) hash = (hash * 31 + slug.charCodeAt(i)) >>> 0;
  return hash % TAG_COUNT_SLICES;
};

const tagCountsObject = (site: SiteConfig, tags: readonly TagSummary[]) => ({
  key: TAG_COUNTS_RECORD,
  body: JSON.stringify({
    version: TAG_COUNTS_VERSION,
    site: site.siteUrl,
    counts: Object.fromEntries(
      [...tags]
        .sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0))
        .map((t) => [t.slug, t.count]),
    ),
  } satisfies TagCountsRecord),
  type: 'application/json',
});

/**
 * Beside each feed, the publisher keeps what its items are (`_publish/feeds/...`): the key of each
 * item in order. An incremental run reuses the text of an item whose key is unchanged, cut from the
 * feed as written, instead of writing it again: a tag's feed gains one item and keeps 49. It is
 * written only after the feed's three files are, so it never describes newer items than theirs.
 */
export interface FeedItemsRecord {
  version: number;
  site: string;
  /** [key, has content (1) or not (0)], in the feed's order. */
  items: [string, number][];
  /** Where the items lie in each file (`feedItemLayout`), so a run need not search for them. */
  layout?: Partial<Record<FeedFormat, number[]>>;
}

/** A feed's three files and the record of its items, to write; `release` gives back the old files' bytes it keeps. */
interface FeedFiles {
  files: SiteObject[];
  record: SiteObject;
  release: () => void;
}

const tagScope = (tag: Tag): FeedScope => ({ kind: 'tag', slug: tag.slug, name: tag.name });

/** What every run does: render with the site's settings and write objects, counting what changed. */
class Output {
  readonly report = emptyPublishReport();
  /** Writes under way, and who waits for one to end (for room) or for all to end. */
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly idle: (() => void)[] = [];
  private failure: unknown;
  /** Marks whose rebuild is written, waiting to be cleared a batch at a time, and the clearings. */
  private readonly toClear: MarkRecord[] = [];
  private stampsToClear = 0;
  private readonly clearing: Promise<void>[] = [];
  private readonly itemOf: (event: NewsEvent) => ReturnType<ReturnType<typeof feedItems>>;
  protected readonly refOf: ReturnType<typeof feedItemRefs>;

  constructor(readonly deps: PublishDeps) {
    this.itemOf = feedItems(deps.site);
    this.refOf = feedItemRefs(deps.site);
  }

  get config(): SiteConfig {
    return this.deps.site;
  }

  /**
   * Starts writing the objects (each unless its bytes are unchanged), waiting only when many writes
   * are under way. Resolves to a promise of these writes' completion, which fails with their first
   * failure; a failure also fails `settled`.
   */
  async put(objects: readonly SiteObject[]): Promise<{ written: Promise<void> }> {
    const writes: Promise<void>[] = [];
    const limit = this.deps.objects.writesInFlight ?? WRITES_IN_FLIGHT;
    for (const { key, body, type } of objects) {
      if (this.failure !== undefined) throw this.failure;
      while (this.inFlight >= limit) await new Promise<void>((wake) => this.waiting.push(wake));
      this.inFlight++;
      const write = this.deps.objects.putIfChanged(key, body, type).then(this.count);
      write.then(
        () => this.done(),
        (error: unknown) => {
          this.failure ??= error;
          this.done();
        },
      );
      writes.push(write);
    }
    const written =
      writes.length === 1 ? (writes[0] as Promise<void>) : Promise.all(writes).then(() => undefined);
    // Whoever waits for these writes sees a failure; a run that does not wait sees it in `settled`.
    written.catch(() => undefined);
    return { written };
  }

  /** Counts a write's outcome: whether its bytes changed. */
  protected readonly count = (written: boolean): void => {
    if (written) this.report.written++;
    else this.report.unchanged++;
  };

  /** A write ended: the next waiting for room (or for every write to end) goes on. */
  private done(): void {
    this.inFlight--;
    this.waiting.shift()?.();
    if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
  }

  /** Writes the objects and waits until they are written. */
  async write(objects: readonly SiteObject[]): Promise<void> {
    await (await this.put(objects)).written;
  }

  /** Waits for every write; fails with the first write that failed. */
  async settled(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((wake) => this.idle.push(wake));
    if (this.failure !== undefined) throw this.failure;
  }

  /** Clears a mark whose rebuild is written, with others: a batch request clears 25 stored marks. */
  clear(mark: MarkRecord): void {
    this.toClear.push(mark);
    this.stampsToClear += mark.stamps.length;
    if (this.stampsToClear >= BATCH_WRITE_MAX) this.clearWaiting();
  }

  private clearWaiting(): void {
    const marks = this.toClear.splice(0);
    this.stampsToClear = 0;
    if (marks.length === 0) return;
    this.clearing.push(
      this.deps.store.clearMarks(marks).then(
        () => {
          this.report.marksCleared += marks.length;
        },
        (error: unknown) => {
          // Harmless: the next run rebuilds them once more.
          logger.warn('could not clear marks', { marks: marks.length, error: error as Error });
          this.report.marksKept += marks.length;
        },
      ),
    );
  }

  /** Clears the marks still waiting, and waits until every clearing is done. */
  async cleared(): Promise<void> {
    this.clearWaiting();
    await Promise.all(this.clearing);
  }

  async remove(key: string): Promise<void> {
    if (await this.deps.objects.remove(key)) this.report.removed++;
  }

  async removeFeeds(scope: FeedScope): Promise<void> {
    await Promise.all(
      [...FEED_FORMATS.map((format) => feedPath(scope, format)), feedItemsPath(scope)].map((key) =>
        this.remove(key),
      ),
    );
  }

  /** The feed items of events, written together (see `renderFeedItems`). */
  writeItems(events: readonly NewsEvent[]): WrittenItem[] {
    const items = events.map(this.itemOf);
    const texts = Object.fromEntries(FEED_FORMATS.map((f) => [f, renderFeedItems(items, f)])) as Record<
      FeedFormat,
      string[]
    >;
    return events.map((event, i) => {
      const item = items[i] as (typeof items)[number];
      return {
        key: itemKey(event),
        ref: { id: item.id, updated: item.updated },
        hasContent: feedItemHasContent(item),
        text: { rss: texts.rss[i] ?? '', atom: texts.atom[i] ?? '', json: texts.json[i] ?? '' },
      };
    });
  }

  /**
   * A feed's three files from its items, newest first (repeats dropped, cut at the feed size), and
   * the record of its items, to write once the files are written.
   */
  feeds(
    scope: FeedScope,
    all: readonly WrittenItem[],
    place: { newestMonth?: string | undefined } = {},
  ): { files: SiteObject[]; record: SiteObject } {
    const seen = new Set<string>();
    const items: WrittenItem[] = [];
    for (const item of all) {
      if (items.length >= this.config.feedSize) break;
      if (seen.has(item.ref.id)) continue;
      seen.add(item.ref.id);
      items.push(item);
    }
    const head = feedHeadOf(
      this.config,
      scope,
      items.map((i) => i.ref),
      place,
    );
    const anyContent = items.some((i) => i.hasContent);
    const files: SiteObject[] = [];
    const layout: Record<string, number[]> = {};
    for (const format of FEED_FORMATS) {
      const texts = items.map((i) => i.text[format]);
      const parts = assembleFeedParts(head, format, texts, anyContent);
      layout[format] = feedItemLayout(parts, texts);
      files.push({ key: feedPath(scope, format), body: parts, type: FEED_CONTENT_TYPES[format] });
    }
    const record: FeedItemsRecord = {
      version: FEED_ITEMS_VERSION,
      site: this.config.siteUrl,
      items: items.map((i) => [i.key, i.hasContent ? 1 : 0]),
      layout,
    };
    return {
      files,
      record: { key: feedItemsPath(scope), body: JSON.stringify(record), type: 'application/json' },
    };
  }

  eventPages(event: NewsEvent, related: readonly RelatedEvent[]): SiteObject[] {
    return [
      {
        key: eventPath(event.id, 'html'),
        body: renderEventPage(this.config, event, related),
        type: EVENT_FORMATS_CONTENT_TYPES.html,
      },
      {
        key: eventPath(event.id, 'json'),
        body: renderEventJson(this.config, event),
        type: EVENT_FORMATS_CONTENT_TYPES.json,
      },
      {
        key: eventPath(event.id, 'xml'),
        body: renderEventXml(this.config, event),
        type: EVENT_FORMATS_CONTENT_TYPES.xml,
      },
    ];
  }

  dayPage(
    date: string,
    events: readonly ListedEvent[],
    around: { prev?: string; next?: string } = {},
  ): SiteObject {
    return {
      key: dayPath(date),
      body: renderDayPage(this.config, date, events, around),
      type: EVENT_FORMATS_CONTENT_TYPES.html,
    };
  }

  tagPage(tag: Tag, events: readonly ListedEvent[], total: number, months?: Counts): SiteObject {
    return {
      key: tagPath(tag.slug),
      body: renderTagPage(this.config, tag, events, { total, ...(months ? { months } : {}) }),
      type: EVENT_FORMATS_CONTENT_TYPES.html,
    };
  }

  siteListings(
    latest: readonly ListedEvent[],
    tags: readonly TagSummary[],
    topics?: readonly TopicCount[],
  ): SiteObject[] {
    return [
      {
        key: HOME_PAGE,
        body: renderHomePage(this.config, latest.slice(0, HOME_SIZE), tags, topics ? { topics } : {}),
        type: EVENT_FORMATS_CONTENT_TYPES.html,
      },
      { key: TAGS_PAGE, body: renderTagsIndex(this.config, tags), type: EVENT_FORMATS_CONTENT_TYPES.html },
      { key: NOT_FOUND_PAGE, body: renderNotFoundPage(this.config), type: EVENT_FORMATS_CONTENT_TYPES.html },
      { key: OPML_FILE, body: renderOpml(this.config, tags, topics), type: 'text/x-opml; charset=utf-8' },
    ];
  }
}

/** Do the bytes an item had in a feed belong to the event with this permalink (as its id)? */
const textIsOf = (text: Buffer, format: FeedFormat, permalink: string): boolean => {
  const url = permalink.replaceAll('&', '&amp;');
  switch (format) {
    case 'rss':
      return text.includes(`<guid isPermaLink="true">${url}</guid>`);
    case 'atom':
      return text.includes(`<id>${url}</id>`);
    case 'json':
      return text.includes(`"id": ${JSON.stringify(permalink)},`);
  }
};

/**
 * An incremental run. Every tag it needs is read once (summaries: no bodies), all at the start, so
 * the store works while pages render. A feed's items are taken from the feed as last written when
 * their event is unchanged, and written otherwise, each at most once per run.
 */
class Run extends Output {
  private readonly tagEvents = new Map<string, Promise<EventSummary[]>>();
  private readonly written = new Map<string, WrittenItem>();
  private readonly events = new Map<string, NewsEvent>();
  private readonly eventPagesBuilt = new Map<string, Promise<void>>();
  private readonly records: Promise<void>[] = [];
  private tags?: Promise<TagSummary[]>;
  /** The archive's part of the run, set by `publishMarked`. */
  archive?: IncrementalArchive;

  /** Events a tag's page, feeds and the "Related" lists of its events read: its newest. */
  get tagReadSize(): number {
    return Math.max(TAG_PAGE_SIZE, RELATED_CANDIDATES_PER_TAG, this.config.feedSize);
  }

  /** A tag's newest events, read once per run at the largest size anything needs, then sliced. */
  async eventsOfTag(slug: string, limit = this.tagReadSize): Promise<EventSummary[]> {
    let cached = this.tagEvents.get(slug);
    if (!cached) {
      cached = this.readTag(slug);
      // Read ahead: a failure is seen by whoever awaits it, not left unhandled.
      cached.catch(() => undefined);
      this.tagEvents.set(slug, cached);
    }
    return (await cached).slice(0, limit);
  }

  /** A tag's newest events: its entries' listings, merged over the tag's shards. */
  private async readTag(slug: string): Promise<EventSummary[]> {
    return (await this.deps.store.listTagSummaries(slug, { limit: this.tagReadSize })).items;
  }

  /** Tags marked in this incremental run: their counts are read; the others' taken from the last run's record. */
  markedTags?: ReadonlySet<string>;

  /** Every tag summary, read once per run; a recount during the run updates it in place. */
  allTags(): Promise<TagSummary[]> {
    this.tags ??= this.readTags();
    return this.tags;
  }

  private async readTags(): Promise<TagSummary[]> {
    const marked = this.markedTags;
    if (!marked) return this.deps.store.listTags();
    let record: TagCountsRecord | undefined;
    try {
      const bytes = await this.deps.objects.get(TAG_COUNTS_RECORD);
      record = bytes ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as TagCountsRecord) : undefined;
    } catch {
      record = undefined;
    }
    if (
      record?.version !== TAG_COUNTS_VERSION ||
      record.site !== this.config.siteUrl ||
      typeof record.counts !== 'object' ||
      record.counts === null
    )
      return this.deps.store.listTags();
    const turn = Math.floor(Math.random() * TAG_COUNT_SLICES);
    const counted = new Map(
      Object.entries(record.counts).filter(
        ([slug, count]) => typeof count === 'number' && !marked.has(slug) && tagCountSliceOf(slug) !== turn,
      ),
    );
    return this.deps.store.listTags(counted);
  }

  /** Keeps the counts this run listed for the next (after its pages: a failed run's reads are as good). */
  async recordTagCounts(): Promise<void> {
    if (!this.tags) return;
    const tags = await this.tags.catch(() => undefined);
    if (!tags) return;
    const { key, body, type } = tagCountsObject(this.config, tags);
    try {
      await this.deps.objects.putIfChanged(key, body, type);
    } catch (error) {
      // The record left would hold older counts of tags whose marks are gone: without it, the
      // next run reads every tag's shards.
      logger.warn('tag counts not recorded; the next run reads every count', { error: error as Error });
      await this.deps.objects.remove(key).catch(() => undefined);
    }
  }

  /** Events in full, from those the run already read or in batches of 100. */
  async fullEvents(summaries: readonly EventSummary[]): Promise<NewsEvent[]> {
    const missing = summaries.filter((s) => this.events.get(s.id)?.revision !== s.revision);
    if (missing.length > 0) {
      const read = await this.deps.store.getEventsNow(missing.map((s) => s.id));
      for (const event of read.values()) if (!isTombstone(event)) this.know(event);
    }
    return summaries.flatMap((s) => {
      const event = this.events.get(s.id);
      return event ? [event] : [];
    });
  }

  know(event: NewsEvent): void {
    this.events.set(event.id, event);
  }

  /**
   * The items a scope's feed had, by key, when the record of its items is current and matches its
   * files; their bytes lie in the files as read, which `release` gives back to the store.
   */
  async previousItems(
    scope: FeedScope,
    // A feed's files by default; an archive document's (publish-archives.ts) have other keys, and
    // no JSON: its items' text is then in its formats only.
    keys: { record: string; file: (format: FeedFormat) => string; formats?: readonly FeedFormat[] } = {
      record: feedItemsPath(scope),
      file: (format) => feedPath(scope, format),
    },
  ): Promise<{ reused: Map<string, WrittenItem>; release: () => void }> {
    const reused = new Map<string, WrittenItem>();
    const formats = keys.formats ?? FEED_FORMATS;
    const [recordBytes, ...read] = await Promise.all([
      this.deps.objects.get(keys.record),
      ...formats.map((format) => borrowObject(this.deps.objects, keys.file(format))),
    ]);
    const release = () => {
      for (const file of read) file?.release();
    };
    const docs = read.map((file) => file?.bytes);
    const done = { reused, release };
    let record: FeedItemsRecord | undefined;
    try {
      record = recordBytes
        ? (JSON.parse(Buffer.from(recordBytes).toString('utf8')) as FeedItemsRecord)
        : undefined;
    } catch {
      record = undefined;
    }
    if (record?.version !== FEED_ITEMS_VERSION || record.site !== this.config.siteUrl) return done;
    if (!Array.isArray(record.items)) return done;
    const count = record.items.length;
    const texts = formats.map((format, f) => {
      const doc = docs[f];
      return doc === undefined ? undefined : feedItemBytes(doc, format, count, record.layout?.[format]);
    });
    record.items.forEach(([key, hasContent], i) => {
      const id = key.slice(0, key.lastIndexOf('#'));
      const ref = this.refOf({ id, publishedAt: '', updatedAt: '' });
      const text = {} as Record<FeedFormat, Buffer>;
      for (const [f, format] of formats.entries()) {
        const candidate = texts[f]?.[i];
        if (candidate === undefined || !textIsOf(candidate, format, ref.id)) return;
        text[format] = candidate;
      }
      reused.set(key, { key, ref, hasContent: hasContent === 1, text });
    });
    return done;
  }

  /**
   * A feed's files from its newest events (summaries), reusing the items it had, and the record of
   * its items.
   */
  async feedsOf(scope: FeedScope, newest: readonly EventSummary[]): Promise<FeedFiles> {
    const { reused: previous, release } = await this.previousItems(scope);
    const newestMonth = newest[0] && monthOf(newest[0].date);
    const wanted = newest.slice(0, this.config.feedSize);
    const toWrite = wanted.filter((e) => !previous.has(itemKey(e)) && !this.written.has(itemKey(e)));
    for (const item of this.writeItems(await this.fullEvents(toWrite))) this.written.set(item.key, item);
    const items = wanted.flatMap((e) => {
      const key = itemKey(e);
      const item = this.written.get(key) ?? previous.get(key);
      // An item's `updated` comes from the event as read now, as a freshly written item's would.
      return item ? [{ ...item, ref: this.refOf(e) }] : [];
    });
    return { ...this.feeds(scope, items, { newestMonth }), release };
  }

  /**
   * Writes a feed's files, then (once they are written) the record of its items. The record is not
   * waited for: had it failed, the one kept describes older items and only reuses fewer.
   */
  async writeFeeds({ files, record, release }: FeedFiles): Promise<void> {
    await this.write(files);
    // Written: nothing reads the old files' bytes any more. (After a failed write they are not
    // given back, since a write of the batch may still read them; the store then drops them.)
    release();
    const written = this.deps.objects
      .putIfChanged(record.key, record.body, record.type)
      .then(this.count, (error: unknown) =>
        logger.warn("could not record a feed's items", { key: record.key, error: error as Error }),
      );
    this.records.push(written);
  }

  /** Waits for the records of feed items still being written. */
  async recorded(): Promise<void> {
    await Promise.all(this.records);
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
    await this.write(this.eventPages(event, relatedEvents(event, candidates)));
  }

  async event(id: string, stored: Promise<StoredEvent | undefined>): Promise<void> {
    const found = await stored;
    if (found && !isTombstone(found)) return this.eventPage(found);
    await Promise.all((['html', 'json', 'xml'] as const).map((format) => this.remove(eventPath(id, format))));
    // Pages that listed it as related must lose the link: rebuild its tags' recent events.
    const neighbours = (
      await Promise.all((found?.tags ?? []).map((t) => this.eventsOfTag(t.slug, RELATED_CANDIDATES_PER_TAG)))
    ).flat();
    const unique = [...new Map(neighbours.map((e) => [e.id, e])).values()];
    await pool(await this.fullEvents(unique), (e) => this.eventPage(e));
  }

  /** A day's page, written once `before` (the event pages it may link to) is done. */
  async day(date: string, before: Promise<unknown>): Promise<void> {
    const events: NewsEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.store.listDay(date, { limit: 100, ...(cursor ? { cursor } : {}) });
      events.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    const around = (await this.archive?.dayAround(date)) ?? {};
    const page = events.length > 0 ? this.dayPage(date, events, around) : undefined;
    await before;
    if (page) await this.write([page]);
    else await this.remove(dayPath(date));
  }

  /**
   * A tag's page and feeds, rendered as soon as the tag is read and written once `before` (the
   * event pages they may link to) is done. The stream keeps tag counts exact, so a count is
   * recounted from the tag's entries only when this run sees it is wrong: the summary is missing,
   * or disagrees with the entries when the run read all of them, or is smaller than what it read.
   */
  async tag(slug: string, before: Promise<unknown>): Promise<void> {
    const [events, tags] = await Promise.all([this.eventsOfTag(slug), this.allTags()]);
    const summary = tags.find((t) => t.slug === slug);
    const name = events[0]?.tags.find((t) => t.slug === slug)?.name;
    const complete = events.length < this.tagReadSize;
    let total = summary?.count ?? 0;
    const wrong =
      (summary === undefined && events.length > 0) ||
      (complete && total !== events.length) ||
      total < events.length;
    if (wrong) {
      total = await this.deps.store.recountTag(slug, name ?? summary?.name ?? slug);
      // In place, with no await between finding and replacing, so concurrent recounts all land.
      const at = tags.findIndex((t) => t.slug === slug);
      if (at >= 0) tags.splice(at, 1);
      if (total > 0) tags.push({ slug, name: name ?? summary?.name ?? slug, count: total });
    }
    if (events.length === 0 || name === undefined) {
      await before;
      await Promise.all([this.remove(tagPath(slug)), this.removeFeeds({ kind: 'tag', slug, name: slug })]);
      return;
    }
    const tag = { slug, name };
    const page = this.tagPage(
      tag,
      events.slice(0, TAG_PAGE_SIZE),
      total,
      await this.archive?.tagMonths(slug),
    );
    const feeds = await this.feedsOf(tagScope(tag), events);
    await before;
    await this.write([page]);
    await this.writeFeeds(feeds);
  }

  /** The site-wide pages and feeds, written once `before` (the tag pages they link to) is done. */
  async site(before: Promise<unknown>): Promise<void> {
    const latest = (await this.deps.store.listLatest({ limit: Math.max(HOME_SIZE, this.config.feedSize) }))
      .items;
    for (const event of latest) this.know(event);
    const feeds = await this.feedsOf({ kind: 'site' }, latest);
    await before;
    const topics = await this.archive?.topics();
    await this.write(this.siteListings(latest, await this.allTags(), topics));
    await this.writeFeeds(feeds);
  }

  async settle(mark: MarkRecord, build: () => Promise<void>): Promise<void> {
    try {
      // Resolves once what the mark asked for is written.
      await build();
    } catch (error) {
      logger.error('rebuild failed; the mark stays for the next run', { mark, error: error as Error });
      this.report.failed++;
      this.report.marksKept++;
      return;
    }
    this.clear(mark);
  }
}

/**
 * When an incremental run stops taking new work. The Lambda handler sets a deadline from the time
 * its invocation has left; without one (locally) a run takes new work for `DEFAULT_RUN_BUDGET_MS`.
 */
export interface PublishBudget {
  /** Milliseconds since the epoch, on `now`'s clock; absent or not a finite number: the default. */
  deadline?: number;
  now?: () => number;
  /** Event marks read and rebuilt together while a backlog waits (default `EVENT_CHUNK`). */
  eventChunk?: number;
  /** Months whose archive one run rebuilds (default `ARCHIVE_MONTHS_PER_RUN`). */
  archiveMonths?: number;
}

/**
 * How long a run takes new work for when its caller sets no deadline: locally, where runs come
 * every few seconds, a backlog (an import) drains a minute at a time while feeds keep up.
 */
export const DEFAULT_RUN_BUDGET_MS = 60_000;
/**
 * Event marks read and rebuilt together while a backlog waits, oldest first: a chunk's events are
 * all the run holds of the backlog at once, and a run with at most this many runs as one (below).
 */
const EVENT_CHUNK = 500;
/**
 * The share of a run's budget in which, while a backlog of event marks waits, it takes listings
 * (tag, day and site pages and feeds, with the pages of the events they show): the rest drains the
 * backlog, so neither starves the other.
 */
const LISTINGS_SHARE = 1 / 3;
/**
 * Days rebuilt ahead of a backlog, the newest first: each writes the pages of all its events, and
 * a backlog's days (an import's) would be most of the backlog.
 */
const DAYS_AHEAD = 7;
/**
 * Day pages a tag or the site may have written first, ahead of a backlog, because it links to them
 * and they were never written: a burst's news brings a day or two; a tag of an imported history,
 * every day of it, and waits for the backlog instead.
 */
const NEW_DAYS_PER_LISTING = 3;
/**
 * Months whose archive one run rebuilds (newest first; the others' day marks wait): the archive
 * reads each marked month whole, and a long backlog can mark every month of an import.
 */
const ARCHIVE_MONTHS_PER_RUN = 6;

/** Marks of a kind as `walkMarks` yields them, taken a chunk at a time, with one stored mark read ahead. */
class MarkChunks {
  private ahead: Promise<IteratorResult<MarkRecord[]>>;
  /** Keys of a stored mark that the last chunk had no room for. */
  private rest: MarkRecord[] = [];

  constructor(private readonly walk: AsyncGenerator<MarkRecord[]>) {
    this.ahead = walk.next();
  }

  /** Whether marks are left to take. */
  async more(): Promise<boolean> {
    return this.rest.length > 0 || !(await this.ahead).done;
  }

  /**
   * The next `size` keys, or those left when fewer are (a key marked by several stored marks
   * once, with all their stamps). A stored mark cut between two chunks is cleared a part at a time.
   */
  async next(size: number): Promise<MarkRecord[]> {
    const chunk = new Map<string, MarkRecord>();
    const take = (marks: MarkRecord[]): MarkRecord[] => {
      let i = 0;
      for (; i < marks.length && chunk.size < size; i++) {
        const mark = marks[i] as MarkRecord;
        const known = chunk.get(mark.key);
        if (!known) chunk.set(mark.key, { ...mark, stamps: [...mark.stamps] });
        else {
          known.stamps.push(...mark.stamps);
          if (mark.markedAt > known.markedAt) known.markedAt = mark.markedAt;
        }
      }
      return marks.slice(i);
    };
    this.rest = take(this.rest);
    while (chunk.size < size) {
      const read = await this.ahead;
      if (read.done) break;
      this.ahead = this.walk.next();
      this.rest = take(read.value);
    }
    return [...chunk.values()];
  }

  /** Counts the keys of the marks left (a key marked by several batches once for each), reading on. */
  async countRest(): Promise<number> {
    let count = this.rest.length;
    this.rest = [];
    for (let read = await this.ahead; !read.done; read = await this.walk.next()) count += read.value.length;
    return count;
  }
}

const newestMarkedFirst = (marks: readonly MarkRecord[]): MarkRecord[] =>
  [...marks].sort((a, b) => (a.markedAt > b.markedAt ? -1 : a.markedAt < b.markedAt ? 1 : 0));

/** Adds a part of a run (a chunk, the listings) to the run's report. */
const addReport = (to: PublishReport, part: PublishReport): void => {
  to.written += part.written;
  to.unchanged += part.unchanged;
  to.removed += part.removed;
  to.marksCleared += part.marksCleared;
  to.marksKept += part.marksKept;
  to.marksDeferred += part.marksDeferred;
  to.failed += part.failed;
  if (part.archive) to.archive = part.archive;
};

/** Ends a part of a run: its feed records and clearings written, and no write of it left under way. */
const finish = async (run: Run): Promise<PublishReport> => {
  await Promise.all([run.recorded(), run.cleared(), run.recordTagCounts()]);
  // Writes a failed rebuild left under way (its mark stays): none outlives the run.
  await run.settled().catch(() => undefined);
  return run.report;
};

/** Writes the pages of events a listing shows, from the events as read now. */
const writeEventPages = async (run: Run, shown: readonly EventSummary[]): Promise<void> => {
  await pool(await run.fullEvents(shown), (event) => run.eventPage(event));
};

/** Every live event of a day, as `Run.day` reads them. */
const readDay = async (store: PublishDeps['store'], date: string): Promise<NewsEvent[]> => {
  const events: NewsEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listDay(date, { limit: 100, ...(cursor ? { cursor } : {}) });
    events.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return events;
};

/**
 * Rebuilds what the change stream marked, and only that, taking new work until the budget's
 * deadline; what it did not take stays marked for the next run (`marksDeferred`).
 *
 * Event marks are read oldest first, a chunk at a time (`walkMarks`), never all at once. When they
 * fit in one chunk (the usual run) everything marked is read at once and rendered as soon as it is
 * read, but written in order: event pages first, then days and tags, then the site-wide pages and
 * feeds, so listings never link to a page that is not there yet (`publishWhole`).
 *
 * When more are marked (a backlog: an import, a publisher that was down), listings come first, in
 * the first third of the budget (`publishListingsAhead`): each tag, day and site page and feed after
 * the pages it links to that are not there yet (its events' pages, the days of theirs never
 * written), so it links to no page still in the backlog; then the backlog's event pages, oldest
 * first, until the deadline. A burst of changes is then in the feeds by the end of the next run,
 * however long the backlog. Those listing marks stay until the run that takes the backlog's last
 * events (this one, when a third of its budget is left then): the month archive (whose day marks
 * it follows) and the archive links of tag pages wait for that run, which counts the months again
 * and rebuilds their tag and topic documents in full when their events' marks were cleared by
 * earlier runs.
 *
 * A mark is cleared once what it asked for is written; a change arriving meanwhile has a mark of
 * its own, which stays for the next run.
 */
export const publishMarked = async (
  deps: PublishDeps,
  budget: PublishBudget = {},
): Promise<PublishReport> => {
  const now = budget.now ?? Date.now;
  const started = now();
  const deadline =
    typeof budget.deadline === 'number' && Number.isFinite(budget.deadline)
      ? budget.deadline
      : started + DEFAULT_RUN_BUDGET_MS;
  const positive = (n: number | undefined, otherwise: number) =>
    n !== undefined && (Number.isInteger(n) || n === Number.POSITIVE_INFINITY) && n > 0 ? n : otherwise;
  const chunkSize = positive(budget.eventChunk, EVENT_CHUNK);
  const months = positive(budget.archiveMonths, ARCHIVE_MONTHS_PER_RUN);
  const [days, tags, site] = await Promise.all([
    deps.store.listMarks('day'),
    deps.store.listMarks('tag'),
    deps.store.listMarks('site'),
  ]);
  const events = new MarkChunks(deps.store.walkMarks('event'));
  const first = await events.next(chunkSize);
  if (!(await events.more())) {
    const report = await publishWhole(deps, first, { days, tags, site }, () => now() < deadline, months);
    if (report.marksDeferred > 0)
      logger.info('the run stopped taking work at its deadline; the rest stays marked for the next run', {
        marksDeferred: report.marksDeferred,
      });
    return report;
  }

  const report = emptyPublishReport();
  const listingsUntil = started + (deadline - started) * LISTINGS_SHARE;
  const ahead = await publishListingsAhead(deps, { days, tags, site }, () => now() < listingsUntil);
  const taking = () => now() < deadline;
  for (let chunk = first; chunk.length > 0; chunk = await events.next(chunkSize)) {
    // The first chunk whatever the listings took: every run drains some of the backlog. Marks of
    // a chunk it does not take are counted by it; marks not read yet, below.
    addReport(report, await publishEvents(deps, chunk, chunk === first ? () => true : taking));
    if (!taking()) break;
  }
  if (!(await events.more()) && deadline - now() >= (deadline - started) * LISTINGS_SHARE) {
    // The backlog is drained with time to spare (the listings' share of the budget): the listings
    // again, their marks cleared, and the archive with them, as in a run with one chunk (with no
    // event mark, every day's month whole). With less, the next run does that.
    addReport(report, { ...ahead, marksDeferred: 0 });
    addReport(report, await publishWhole(deps, [], { days, tags, site }, taking, months));
    return report;
  }
  addReport(report, ahead);
  report.marksDeferred += await events.countRest();
  logger.info('a backlog of event marks: listings first, then the oldest events until the deadline', {
    marksDeferred: report.marksDeferred,
    marksCleared: report.marksCleared,
  });
  return report;
};

/**
 * Everything marked, when the event marks fit in one chunk: read at once and rendered as soon as
 * read, but written in order (event pages, then days and tags, then the site). Tags are taken until
 * the deadline; the site waits for every marked tag (it links to their pages); the days of up to
 * `archiveMonths` months are taken at once, since the archive rebuilds a month as a whole, and
 * with more marked, tags and the site wait with the rest (they show the archive's counts).
 */
const publishWhole = async (
  deps: PublishDeps,
  events: readonly MarkRecord[],
  { days: allDays, tags, site }: { days: MarkRecord[]; tags: MarkRecord[]; site: MarkRecord[] },
  taking: () => boolean,
  archiveMonths: number,
): Promise<PublishReport> => {
  const run = new Run(deps);
  let deferred = 0;
  const months = taking() ? [...new Set(allDays.map((mark) => monthOf(mark.key)))].sort().reverse() : [];
  const monthsTaken = new Set(months.slice(0, archiveMonths));
  const days = allDays.filter((mark) => monthsTaken.has(monthOf(mark.key)));
  deferred += allDays.length - days.length;
  // Marked events first (in batches of 100): their pages are written before anything else.
  const found =
    events.length > 0
      ? deps.store.getEventsNow(events.map((m) => m.key))
      : Promise.resolve(new Map<string, StoredEvent>());
  for (const mark of tags) void run.eventsOfTag(mark.key);
  found.then(
    (byId) => {
      for (const event of byId.values()) {
        if (isTombstone(event)) continue;
        run.know(event);
        // Their tags (for "Related"), when not marked themselves.
        for (const tag of event.tags) void run.eventsOfTag(tag.slug);
      }
    },
    () => undefined,
  );
  run.markedTags = new Set(tags.map((mark) => mark.key));
  // The archive rebuilds the documents of a month's tags and topic labels that its marked events
  // have. A day marked with events whose marks an earlier run cleared (a backlog's, or a batch
  // whose marks the run before read only in part) has none of them here: every event of its month
  // counts as marked then, so no document of it stays behind.
  const batches = new Set(events.flatMap((mark) => mark.stamps.map(markBatchOf)));
  const orphaned = new Set(
    days
      .filter((mark) => mark.stamps.some((stamp) => !batches.has(markBatchOf(stamp))))
      .map((mark) => monthOf(mark.key)),
  );
  const markedEvents = found
    .catch(() => new Map<string, StoredEvent>())
    .then(async (byId) => {
      if (orphaned.size === 0) return byId;
      const all = new Map<string, Pick<EventSummary, 'date' | 'tags' | 'topic'>>(byId);
      for (const month of orphaned)
        for (const event of await readMonth(deps.store, month))
          if (!all.has(event.id)) all.set(event.id, event);
      return all;
    });
  const archive = new IncrementalArchive(run, deps.store, deps.objects, monthsTaken, markedEvents);
  run.archive = archive;
  const eventPages = pool(events, (mark) =>
    run.settle(mark, () =>
      run.event(
        mark.key,
        found.then((byId) => byId.get(mark.key)),
      ),
    ),
  );
  // Tag pages and the home page link to the archive's months and labels as this run counts them:
  // with months left for the next run, they wait for it too.
  let tagsLeft = days.length < allDays.length;
  const listings = Promise.all([
    pool(days, (mark) =>
      run.settle(mark, async () => {
        await Promise.all([
          run.day(mark.key, eventPages),
          archive.settled(monthOf(mark.key), deps.objects, eventPages, (date) => run.day(date, eventPages)),
        ]);
      }),
    ),
    pool(tags, async (mark) => {
      if (tagsLeft || !taking()) {
        tagsLeft = true;
        deferred++;
        return;
      }
      await run.settle(mark, () => run.tag(mark.key, eventPages));
    }),
  ]);
  const sitePages = listings.then(() => {
    if (!tagsLeft) return pool(site, (mark) => run.settle(mark, () => run.site(listings)));
    deferred += site.length;
  });
  await Promise.all([eventPages, listings, sitePages]);
  const report = await finish(run);
  report.marksDeferred += deferred;
  return report;
};

/**
 * The listings while a backlog of event marks waits, taken while `taking`: tags newest marked
 * first, the `DAYS_AHEAD` newest marked days, and the site's feeds. Before each, what it links to
 * that the backlog may not have written yet: the pages of the events it shows that are not there
 * (from the events as read now; a page that is there is rebuilt by its own mark, as in any run),
 * and (for tags and the site) the day pages of theirs that were never written, each with its
 * events' pages. A tag whose events would need more than `NEW_DAYS_PER_LISTING` new day pages
 * (a tag of an imported history) waits for the backlog. Day pages link to their month's page and
 * their topic labels' pages as the archive has them: a month or label new to the site comes with
 * the run that takes the backlog's last events. The home page, tags index and OPML wait for every
 * marked tag (they link to their pages), and for a first publish (see `IncrementalArchive`).
 *
 * Their marks stay, for the run that takes the backlog's last events and rebuilds the archive
 * with them.
 */
const publishListingsAhead = async (
  deps: PublishDeps,
  { days, tags, site }: { days: MarkRecord[]; tags: MarkRecord[]; site: MarkRecord[] },
  taking: () => boolean,
): Promise<PublishReport> => {
  const run = new Run(deps);
  // No month is rebuilt: day and tag pages link to the archive as recorded, as it is published.
  run.archive = new IncrementalArchive(
    run,
    deps.store,
    deps.objects,
    new Set(),
    Promise.resolve(new Map<string, StoredEvent>()),
  );
  const published = deps.objects.get(HOME_PAGE).then((home) => home !== undefined);
  const pageIsThere = new Map<string, Promise<boolean>>();
  /**
   * Writes the pages of the shown events that have none yet. Those that have one are left to
   * their marks: a page is rebuilt by its own mark, as in any run, never ahead of it.
   */
  const writePagesOf = async (shown: readonly EventSummary[]): Promise<void> => {
    const there = await Promise.all(
      shown.map((event) => {
        let known = pageIsThere.get(event.id);
        if (!known) {
          known = deps.objects.get(eventPath(event.id, 'html')).then((page) => page !== undefined);
          pageIsThere.set(event.id, known);
        }
        return known;
      }),
    );
    await writeEventPages(
      run,
      shown.filter((_, i) => !there[i]),
    );
  };
  let deferred = 0;
  /** Rebuilds a listing and keeps its mark; a failure is counted and logged as in any run. */
  const rebuild = async (mark: MarkRecord, build: () => Promise<void>): Promise<boolean> => {
    try {
      await build();
      deferred++;
      return true;
    } catch (error) {
      logger.error('rebuild failed; the mark stays for the next run', { mark, error: error as Error });
      run.report.failed++;
      run.report.marksKept++;
      return false;
    }
  };
  const dayPages = new Map<string, Promise<void>>();
  /** A day's page, once per run, after its events' pages. */
  const dayPage = (date: string): Promise<void> => {
    let page = dayPages.get(date);
    if (!page) {
      page = run.day(
        date,
        readDay(deps.store, date).then((shown) => writePagesOf(shown)),
      );
      page.catch(() => undefined);
      dayPages.set(date, page);
    }
    return page;
  };
  const dayIsThere = new Map<string, Promise<boolean>>();
  const isThere = (date: string): Promise<boolean> => {
    let known = dayIsThere.get(date);
    if (!known) {
      known = deps.objects.get(dayPath(date)).then((page) => page !== undefined);
      dayIsThere.set(date, known);
    }
    return known;
  };
  /**
   * What must be written before a page listing these events: their pages, and the pages of their
   * days that are not there (or are being rebuilt). Undefined when more than
   * `NEW_DAYS_PER_LISTING` days are new.
   */
  const linkedFrom = async (
    shown: readonly EventSummary[],
  ): Promise<(() => Promise<unknown>) | undefined> => {
    const dates = [...new Set(shown.map((event) => event.date))];
    const others = dates.filter((date) => !dayPages.has(date));
    const there = await Promise.all(others.map(isThere));
    const missing = others.filter((_, i) => !there[i]);
    if (missing.length > NEW_DAYS_PER_LISTING) return undefined;
    const days = [...dates.filter((date) => dayPages.has(date)), ...missing];
    return () => Promise.all([writePagesOf(shown), ...days.map(dayPage)]);
  };
  const newestDays = [...days].sort((a, b) => (a.key > b.key ? -1 : a.key < b.key ? 1 : 0));
  deferred += Math.max(0, newestDays.length - DAYS_AHEAD);
  const daysDone = pool(newestDays.slice(0, DAYS_AHEAD), async (mark) => {
    if (!taking()) {
      deferred++;
      return;
    }
    await rebuild(mark, () => dayPage(mark.key));
  });
  const tagIsThere = (slug: string) => deps.objects.get(tagPath(slug)).then((page) => page !== undefined);
  // Tags the home page, tags index and OPML would link to with no page there.
  const tagsMissing: Promise<boolean>[] = [];
  const tagsDone = pool(newestMarkedFirst(tags), async (mark) => {
    if (!taking()) {
      deferred++;
      tagsMissing.push(tagIsThere(mark.key).then((there) => !there));
      return;
    }
    const built = await rebuild(mark, async () => {
      const shown = await run.eventsOfTag(mark.key);
      const first = await linkedFrom(shown);
      if (first) return run.tag(mark.key, first());
      // Too many of its days are new: its feeds (they link to event pages and its page), not its
      // page; nothing of a tag with no page yet.
      const there = tagIsThere(mark.key);
      tagsMissing.push(there.then((is) => !is));
      const name = shown[0]?.tags.find((t) => t.slug === mark.key)?.name;
      if (name === undefined || !(await there)) return;
      const feeds = await run.feedsOf(tagScope({ slug: mark.key, name }), shown);
      await writePagesOf(shown.slice(0, deps.site.feedSize));
      await run.writeFeeds(feeds);
    });
    if (!built) tagsMissing.push(Promise.resolve(true));
  });
  // The site's feeds are taken with the tags; its pages are written once every tag is.
  const takeSite = taking();
  const siteDone = pool(site, async (mark) => {
    if (!takeSite) {
      deferred++;
      return;
    }
    await rebuild(mark, async () => {
      const latest = (await deps.store.listLatest({ limit: Math.max(HOME_SIZE, deps.site.feedSize) })).items;
      // Its feeds link to event pages only.
      const inFeeds = latest.slice(0, deps.site.feedSize);
      const feeds = await run.feedsOf({ kind: 'site' }, inFeeds);
      await writePagesOf(inFeeds);
      await run.writeFeeds(feeds);
      await tagsDone;
      const tagsThere = !(await Promise.all(tagsMissing)).includes(true);
      const first = tagsThere && (await published) ? await linkedFrom(latest) : undefined;
      if (first) await run.site(first());
    });
  });
  await Promise.all([tagsDone, daysDone, siteDone]);
  const report = await finish(run);
  report.marksDeferred += deferred;
  return report;
};

/** A chunk of a backlog's event marks: each rebuilt and cleared if taken while `taking`, else left. */
const publishEvents = async (
  deps: PublishDeps,
  marks: readonly MarkRecord[],
  taking: () => boolean,
): Promise<PublishReport> => {
  const run = new Run(deps);
  let deferred = 0;
  if (!taking()) {
    run.report.marksDeferred = marks.length;
    return run.report;
  }
  // Read after the chunk's marks were: as new as the changes that marked them.
  const found = deps.store.getEventsNow(marks.map((m) => m.key));
  found.then(
    (byId) => {
      for (const event of byId.values()) {
        if (isTombstone(event)) continue;
        run.know(event);
        for (const tag of event.tags) void run.eventsOfTag(tag.slug);
      }
    },
    () => undefined,
  );
  await pool(marks, async (mark) => {
    if (!taking()) {
      deferred++;
      return;
    }
    await run.settle(mark, () =>
      run.event(
        mark.key,
        found.then((byId) => byId.get(mark.key)),
      ),
    );
  });
  const report = await finish(run);
  report.marksDeferred += deferred;
  return report;
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
