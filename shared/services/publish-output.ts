import type {
  EventStore,
  ListingStore,
  MarkRecord,
  PublishStore,
  TagSummary,
} from '../adapters/event-store.js';
import { BATCH_WRITE_MAX } from '../adapters/items.js';
import type { ObjectBody, ObjectStore } from '../adapters/object-store.js';
import type { Counts } from '../domain/archives.js';
import type { NewsEvent, Tag } from '../domain/event.js';
import { type FeedItemRef, feedHeadOf, feedItemRefs, feedItems } from '../domain/feed-model.js';
import type { RelatedEvent } from '../domain/related.js';
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
import { logger } from '../logger.js';
import {
  assembleFeedParts,
  FEED_ITEMS_VERSION,
  type FeedItemsRecord,
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
import type { ArchiveFigures } from './publish-archives.js';

/*
 * What every publish run writes with: the object store behind an in-flight limit (`Output`), the
 * site's pages and feeds rendered from their parts, and the records kept beside them under
 * `_publish/` (a feed's items, the tag counts). Shared by full and incremental runs.
 */
export interface PublishDeps {
  store: EventStore & PublishStore & Pick<ListingStore, 'recountTag' | 'getEventsNow' | 'listTagNames'>;
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
export const TAG_PAGE_SIZE = 50;
export const HOME_SIZE = 30;
/**
 * Marks rebuilt at once in an incremental run. Each waits on the store and on writes more than it
 * works, so many at once keep both busy.
 */
const CONCURRENCY = 32;
/** Objects being written at once, unless the store says how many it takes. */
const WRITES_IN_FLIGHT = 32;

export const pool = async <T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> => {
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
export interface SiteObject {
  key: string;
  body: ObjectBody;
  type: string;
}

/**
 * An event's feed item as written: what a feed needs of it, and its text in every format, placed as
 * it is in every feed that lists the event.
 */
export interface WrittenItem {
  /** `<event id>#<revision>`: the same key gives the same text (for one site and item version). */
  key: string;
  ref: FeedItemRef;
  hasContent: boolean;
  /** Its UTF-8 bytes: written by this run, or kept from the feed as written before. */
  text: Record<FeedFormat, string | Buffer>;
}

export const itemKey = (event: Pick<NewsEvent, 'id' | 'revision'>): string => `${event.id}#${event.revision}`;

/**
 * The tag counts a run listed, kept for the next one (`_publish/tag-counts.json`): the site's pages
 * list every tag with its count, and summing every tag's counter shards on each run would read
 * four items per tag a minute. A count moves only with a change to one of the tag's entries, which
 * marks the tag, so an incremental run reads the counters of its marked tags and takes the others
 * from here, and re-reads a slice of those too, chosen at random (`TAG_COUNT_SLICES`): a count
 * this record got wrong (a counter moved by hand: repairs mark their tags) heals in that many runs on average. The
 * record holds counts only, so a full run and incremental runs over the same data write it alike.
 */
export const TAG_COUNTS_RECORD = '_publish/tag-counts.json';
export const TAG_COUNTS_VERSION = 1;
export const TAG_COUNT_SLICES = 32;

export interface TagCountsRecord {
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

export const tagCountsObject = (site: SiteConfig, tags: readonly TagSummary[]) => ({
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

/** A feed's three files and the record of its items, to write; `release` gives back the old files' bytes it keeps. */
export interface FeedFiles {
  files: SiteObject[];
  record: SiteObject;
  release: () => void;
}

export const tagScope = (tag: Tag): FeedScope => ({ kind: 'tag', slug: tag.slug, name: tag.name });

/** What every run does: render with the site's settings and write objects, counting what changed. */
export class Output {
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

  /**
   * The feed items of events, written together (see `renderFeedItems`), in every format or in
   * those given (an archive document is Atom and RSS: its items need no JSON). Their texts are
   * UTF-8 bytes: an item stands in several documents (the feeds of its tags, a month's archive of
   * the site, its label and its tags), and is encoded once for all of them.
   */
  writeItems(events: readonly NewsEvent[], formats: readonly FeedFormat[] = FEED_FORMATS): WrittenItem[] {
    const items = events.map(this.itemOf);
    const texts = formats.map((f) => renderFeedItems(items, f));
    return events.map((event, i) => {
      const item = items[i] as (typeof items)[number];
      return {
        key: itemKey(event),
        ref: { id: item.id, updated: item.updated },
        hasContent: feedItemHasContent(item),
        text: Object.fromEntries(formats.map((f, k) => [f, Buffer.from(texts[k]?.[i] ?? '')])) as Record<
          FeedFormat,
          Buffer
        >,
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
export const textIsOf = (text: Buffer, format: FeedFormat, permalink: string): boolean => {
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
