import type { MarkRecord, TagSummary } from '../adapters/event-store.js';
import { borrowObject, parseRecord } from '../adapters/object-store.js';
import type { Counts } from '../domain/archives.js';
import { monthOf } from '../domain/archives.js';
import { isTombstone, type NewsEvent, type StoredEvent } from '../domain/event.js';
import { type EventSummary, RELATED_CANDIDATES_PER_TAG, relatedEvents } from '../domain/related.js';
import {
  dayPath,
  eventPath,
  FEED_FORMATS,
  type FeedFormat,
  type FeedScope,
  feedItemsPath,
  feedPath,
  tagPath,
} from '../domain/site.js';
import { logger } from '../logger.js';
import { FEED_ITEMS_VERSION, type FeedItemsRecord, feedItemBytes } from '../render/feeds.js';
import type { TopicCount } from '../render/pages.js';
import {
  type FeedFiles,
  HOME_SIZE,
  itemKey,
  Output,
  type PublishDeps,
  type PublishReport,
  pool,
  TAG_COUNT_SLICES,
  TAG_COUNTS_RECORD,
  TAG_COUNTS_VERSION,
  TAG_PAGE_SIZE,
  type TagCountsRecord,
  tagCountSliceOf,
  tagCountsObject,
  tagScope,
  textIsOf,
  type WrittenItem,
} from './publish-output.js';

/*
 * An incremental run's reads and rebuilds (`Run`): an event's pages, a day, a tag, the site, each
 * from what the run has read once; and how a part of a run ends (`finish`). A full publish's
 * slices (publish-slices.ts) rebuild with it too.
 */

/** What pages take from the archive's counts: an incremental run's after its changes, or a full publish's plan. */
export interface ArchiveView {
  dayAround(date: string): Promise<{ prev?: string; next?: string }>;
  tagMonths(slug: string): Promise<Counts | undefined>;
  topics(): Promise<TopicCount[] | undefined>;
}

/** How a full publish's slice runs differ from an incremental run. */
export interface RunOptions {
  /** Every feed item rendered anew (a render change is why a full publish runs), never taken from the feeds as written. */
  fresh?: boolean;
  /** The counts of the tags this run need not read (a tags slice's others); no tag counts record then. */
  tagsCounted?: ReadonlyMap<string, number>;
  /** A tag's live events as the plan counted them: a summary that disagrees is recounted. */
  expectedCount?: (slug: string) => number | undefined;
  /** A tag's newest events as the plan read them (undefined: not in the plan); no listing is read then. */
  tagHeads?: (slug: string) => EventSummary[] | undefined;
}
/**
 * An incremental run. Every tag it needs is read once (summaries: no bodies), all at the start, so
 * the store works while pages render. A feed's items are taken from the feed as last written when
 * their event is unchanged, and written otherwise, each at most once per run.
 */
export class Run extends Output {
  private readonly tagEvents = new Map<string, Promise<EventSummary[]>>();
  private readonly written = new Map<string, WrittenItem>();
  private readonly events = new Map<string, NewsEvent>();
  private readonly eventPagesBuilt = new Map<string, Promise<void>>();
  private readonly records: Promise<void>[] = [];
  private tags?: Promise<TagSummary[]>;
  /** The archive's part of the run, set by `publishMarked`, or the plan's counts in a full publish. */
  archive?: ArchiveView;

  constructor(
    deps: PublishDeps,
    private readonly options: RunOptions = {},
  ) {
    super(deps);
  }

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
    const planned = this.options.tagHeads?.(slug);
    if (planned) return planned;
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
    if (this.options.tagsCounted) return this.deps.store.listTags(this.options.tagsCounted);
    const marked = this.markedTags;
    if (!marked) return this.deps.store.listTags();
    const record = parseRecord<TagCountsRecord>(
      await this.deps.objects.get(TAG_COUNTS_RECORD).catch(() => undefined),
      TAG_COUNTS_VERSION,
      this.config.siteUrl,
    );
    if (typeof record?.counts !== 'object' || record.counts === null) return this.deps.store.listTags();
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
    if (!this.tags || this.options.tagsCounted) return;
    const tags = await this.tags.catch(() => undefined);
    if (!tags) return;
    const { key, body, type } = tagCountsObject(this.config, tags);
    try {
      this.count(await this.deps.objects.putIfChanged(key, body, type));
    } catch (error) {
      // The record left would hold older counts of tags whose marks are gone: without it, the
      // next run reads every tag's shards.
      logger.warn('tag counts not recorded; the next run reads every count', { error: error as Error });
      await this.deps.objects.remove(key).catch(() => undefined);
    }
  }

  /**
   * Events in full, from those the run already read or in batches of 100. A full publish's slice
   * keeps none it reads here: it needs them for their items, which it keeps (`written`).
   */
  async fullEvents(summaries: readonly EventSummary[]): Promise<NewsEvent[]> {
    const missing = summaries.filter((s) => this.events.get(s.id)?.revision !== s.revision);
    const read = new Map<string, NewsEvent>();
    if (missing.length > 0) {
      for (const event of (await this.deps.store.getEventsNow(missing.map((s) => s.id))).values()) {
        if (isTombstone(event)) continue;
        read.set(event.id, event);
        if (!this.options.fresh) this.know(event);
      }
    }
    return summaries.flatMap((s) => {
      const event = read.get(s.id) ?? this.events.get(s.id);
      return event ? [event] : [];
    });
  }

  know(event: NewsEvent): void {
    this.events.set(event.id, event);
  }

  /**
   * Marked events, read now (as new as the changes that marked them), kept for the run, and their
   * tags' newest read ahead (for "Related", when not marked themselves).
   */
  readMarked(ids: readonly string[]): Promise<Map<string, StoredEvent>> {
    const found =
      ids.length > 0 ? this.deps.store.getEventsNow(ids) : Promise.resolve(new Map<string, StoredEvent>());
    found.then(
      (byId) => {
        for (const event of byId.values()) {
          if (isTombstone(event)) continue;
          this.know(event);
          for (const tag of event.tags) void this.eventsOfTag(tag.slug);
        }
      },
      () => undefined,
    );
    return found;
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
    if (this.options.fresh) return { reused, release: () => undefined };
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
    const record = parseRecord<FeedItemsRecord>(recordBytes, FEED_ITEMS_VERSION, this.config.siteUrl);
    if (!record || !Array.isArray(record.items)) return done;
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
    const expected = this.options.expectedCount?.(slug);
    const wrong =
      (expected !== undefined && total !== expected) ||
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

/** Adds a part of a run (a chunk, the listings) to the run's report. */
export const addReport = (to: PublishReport, part: PublishReport): void => {
  to.written += part.written;
  to.unchanged += part.unchanged;
  to.removed += part.removed;
  to.marksCleared += part.marksCleared;
  to.marksKept += part.marksKept;
  to.marksDeferred += part.marksDeferred;
  to.failed += part.failed;
  if (part.archive) {
    to.archive ??= { documents: 0, pages: 0, milliseconds: 0 };
    const figures = to.archive;
    figures.documents += part.archive.documents;
    figures.pages += part.archive.pages;
    figures.milliseconds += part.archive.milliseconds;
  }
};

/** Ends a part of a run: its feed records and clearings written, and no write of it left under way. */
export const finish = async (run: Run): Promise<PublishReport> => {
  await Promise.all([run.recorded(), run.cleared(), run.recordTagCounts()]);
  // Writes a failed rebuild left under way (its mark stays): none outlives the run.
  await run.settled().catch(() => undefined);
  return run.report;
};
