import type { PublishStore } from '../adapters/event-store.js';
import { type ObjectBody, type ObjectStore, parseRecord } from '../adapters/object-store.js';
import {
  type ArchiveCounts,
  type ArchiveLinks,
  archiveLinksOf,
  type Counts,
  countEvents,
  emptyCounts,
  inScope,
  keysOf,
  monthOf,
  monthsOf,
  monthsOfDays,
  neighboursOf,
  neighboursToRebuild,
  newestOf,
  replaceMonths,
  type ScopeHistory,
  topicScope,
  yearOf,
} from '../domain/archives.js';
import type { NewsEvent } from '../domain/event.js';
import { type FeedItemRef, feedHeadOf, feedItemRefs } from '../domain/feed-model.js';
import { type EventSummary, latestFirst } from '../domain/related.js';
import {
  ARCHIVE_FORMATS,
  type ArchiveFormat,
  archivePath,
  EVENT_FORMATS_CONTENT_TYPES,
  FEED_CONTENT_TYPES,
  FEED_FORMATS,
  type FeedFormat,
  type FeedScope,
  feedItemsPath,
  feedPath,
  HOME_PAGE,
  monthPath,
  type SiteConfig,
  TOPICS_PAGE,
  topicPath,
  yearPath,
} from '../domain/site.js';
import { LATEST_SHARDS } from '../keys.js';
import { logger } from '../logger.js';
import {
  assembleFeedParts,
  FEED_ITEMS_VERSION,
  type FeedItemsRecord,
  feedItemLayout,
} from '../render/feeds.js';
import {
  type ListedEvent,
  renderMonthPage,
  renderTopicPage,
  renderTopicsIndex,
  renderYearPage,
  type TopicCount,
} from '../render/pages.js';

/*
 * The archive by month, written beside the rest of the site: RFC 5005 archive documents (every
 * event of a month in a scope: the site, a tag, a topic label), month and year pages, topic label
 * pages and feeds, and the counts that let an incremental run rebuild only what a change touches
 * (`_publish/archives.json`).
 */

/** An object to write. */
export interface ArchiveObject {
  key: string;
  body: ObjectBody;
  type: string;
}

/**
 * An event's feed item, as the run writes it once (publish-output.ts) and places it in every document: its
 * text in every format when written by this run, in the archive's formats when cut from an archive
 * document as written before.
 */
export interface ArchiveItem {
  key: string;
  ref: FeedItemRef;
  hasContent: boolean;
  text: Record<ArchiveFormat, string | Buffer> & { json?: string | Buffer };
}

/** What a month's page and documents need of an event besides its items: a summary. */
export type MonthEvent = Pick<EventSummary, 'id' | 'date' | 'headline' | 'topic' | 'publishedAt' | 'tags'>;

/**
 * The archive items of some of a month's events, by id. A full publish reads a month a page at a
 * time and keeps only these and the events' summaries until the month's documents are written.
 */
export const monthArchiveItems = (
  out: Pick<ArchiveOutput, 'writeItems'>,
  events: readonly NewsEvent[],
): [string, ArchiveItem][] =>
  out.writeItems(events, ARCHIVE_FORMATS).map((item, i) => [(events[i] as NewsEvent).id, item]);

/** An item with its text in every format, as a subscription feed needs it. */
export type FeedItem = ArchiveItem & { text: Record<FeedFormat, string | Buffer> };

const hasEveryFormat = (item: ArchiveItem): item is FeedItem => item.text.json !== undefined;

/** What the archive writes through: the run's output (publish-output.ts: rendering settings, counted writes). */
export interface ArchiveOutput {
  readonly config: SiteConfig;
  put(objects: readonly ArchiveObject[]): Promise<{ written: Promise<void> }>;
  write(objects: readonly ArchiveObject[]): Promise<void>;
  remove(key: string): Promise<void>;
  writeItems(events: readonly NewsEvent[]): FeedItem[];
  writeItems(events: readonly NewsEvent[], formats: readonly ArchiveFormat[]): ArchiveItem[];
  /**
   * The items a document had, by key (`<id>#<revision>`), cut from its files as written when the
   * record of its items matches them; `release` gives their bytes back once the new files are written.
   */
  previousItems?(
    scope: FeedScope,
    // A subscription feed's files and record when not given.
    keys?: { record: string; file: (format: FeedFormat) => string; formats: readonly FeedFormat[] },
  ): Promise<{ reused: Map<string, ArchiveItem>; release: () => void }>;
  /** A scope's subscription feed (cut at the feed size) and the record of its items. */
  feeds(
    scope: FeedScope,
    items: readonly FeedItem[],
    place?: { newestMonth?: string | undefined },
  ): { files: ArchiveObject[]; record: ArchiveObject };
}

/** What an incremental archive writes through: the run's output, and the events it has read. */
export interface IncrementalOutput extends ArchiveOutput {
  /** Events in full, for summaries (those the run has read already, or read now); deleted ones are left out. */
  fullEvents(summaries: readonly EventSummary[]): Promise<NewsEvent[]>;
}

/** Events a topic label's page lists: its newest (its months list the rest). */
export const TOPIC_PAGE_SIZE = 50;
/** Events read per query when reading a month. */
const MONTH_PAGE = 250;

export const ARCHIVE_RECORD = '_publish/archives.json';
const RECORD_VERSION = 1;

interface ArchiveRecord {
  version: number;
  site: string;
  counts: ArchiveCounts;
}

const HTML = EVENT_FORMATS_CONTENT_TYPES.html;

/** The counts an earlier run recorded for this site, or undefined (none, another version, or unreadable). */
export const readArchiveCounts = async (
  objects: ObjectStore,
  site: SiteConfig,
): Promise<ArchiveCounts | undefined> => {
  const record = parseRecord<ArchiveRecord>(await objects.get(ARCHIVE_RECORD), RECORD_VERSION, site.siteUrl);
  const { days, tags, topics } = record?.counts ?? {};
  if (typeof days !== 'object' || typeof tags !== 'object' || typeof topics !== 'object') return undefined;
  return record?.counts;
};

/** Keys in order, so the same counts give the same bytes however they were put together. */
const sortedCounts = (counts: Counts): Counts =>
  Object.fromEntries(keysOf(counts).map((key) => [key, counts[key] as number]));

const sortedScopes = (scopes: Record<string, ScopeHistory>): Record<string, ScopeHistory> =>
  Object.fromEntries(
    Object.keys(scopes)
      .sort()
      .flatMap((slug) => {
        const history = scopes[slug] as ScopeHistory;
        const months = sortedCounts(history.months);
        return Object.keys(months).length > 0 ? [[slug, { name: history.name, months }]] : [];
      }),
  );

const recordObject = (site: SiteConfig, counts: ArchiveCounts): ArchiveObject => ({
  key: ARCHIVE_RECORD,
  body: JSON.stringify({
    version: RECORD_VERSION,
    site: site.siteUrl,
    counts: {
      days: sortedCounts(counts.days),
      tags: sortedScopes(counts.tags),
      topics: sortedScopes(counts.topics),
    },
  } satisfies ArchiveRecord),
  type: 'application/json',
});

const clone = (counts: ArchiveCounts): ArchiveCounts => JSON.parse(JSON.stringify(counts)) as ArchiveCounts;

/** A scope's archive document of a month, in every format: its events' items (newest first), all of them. */
export const archiveFiles = (
  site: SiteConfig,
  scope: FeedScope,
  month: string,
  links: ArchiveLinks,
  items: readonly ArchiveItem[],
): ArchiveObject[] => {
  const head = feedHeadOf(
    site,
    scope,
    items.map((i) => i.ref),
    { month, links },
  );
  const anyContent = items.some((i) => i.hasContent);
  return ARCHIVE_FORMATS.map((format) => ({
    key: archivePath(scope, month, format),
    body: assembleFeedParts(
      head,
      format,
      items.map((i) => i.text[format]),
      anyContent,
    ),
    type: FEED_CONTENT_TYPES[format],
  }));
};

/**
 * Where the record of a site month's document items is kept. Only the site's months have one: an
 * incremental run takes the items of that month's unchanged events from it, and every other
 * document of the month takes them from there (a record per tag and month would double the objects).
 */
const itemsRecordOf = (month: string) => ({
  record: `_publish/feeds/archive/all/${month}.json`,
  file: (format: FeedFormat) => archivePath({ kind: 'site' }, month, format as ArchiveFormat),
  formats: ARCHIVE_FORMATS,
});

/** The record of the items of a document's files (`FeedItemsRecord`, as kept for feeds). */
const itemsRecord = (
  site: SiteConfig,
  month: string,
  files: readonly ArchiveObject[],
  items: readonly ArchiveItem[],
): ArchiveObject => {
  const layout = Object.fromEntries(
    ARCHIVE_FORMATS.map((format, f) => [
      format,
      feedItemLayout(
        (files[f] as ArchiveObject).body as readonly (string | Uint8Array)[],
        items.map((i) => i.text[format]),
      ),
    ]),
  );
  const record: FeedItemsRecord = {
    version: FEED_ITEMS_VERSION,
    site: site.siteUrl,
    items: items.map((i) => [i.key, i.hasContent ? 1 : 0]),
    layout,
  };
  return { key: itemsRecordOf(month).record, body: JSON.stringify(record), type: 'application/json' };
};

const removeArchive = (out: ArchiveOutput, scope: FeedScope, month: string): Promise<unknown> =>
  Promise.all(ARCHIVE_FORMATS.map((format) => out.remove(archivePath(scope, month, format))));

/** The years with events, with their counts, from a site's months. */
const yearsOf = (months: Counts): Counts => {
  const years: Counts = {};
  for (const [month, count] of Object.entries(months))
    years[yearOf(month)] = (years[yearOf(month)] ?? 0) + count;
  return years;
};

const monthPage = (site: SiteConfig, month: string, events: readonly ListedEvent[], months: Counts) => ({
  key: monthPath(month),
  body: renderMonthPage(site, month, events, archiveLinksOf(keysOf(months), month)),
  type: HTML,
});

const yearPage = (site: SiteConfig, year: string, months: Counts) => {
  const { older, newer } = neighboursOf(keysOf(yearsOf(months)), year);
  return {
    key: yearPath(year),
    body: renderYearPage(site, year, months, { prev: older, next: newer }),
    type: HTML,
  };
};

/** Every topic label with its count. */
export const topicCountsOf = (counts: ArchiveCounts): TopicCount[] =>
  Object.entries(counts.topics).flatMap(([slug, history]) => {
    const count = Object.values(history.months).reduce((sum, n) => sum + n, 0);
    return count > 0 ? [{ slug, name: history.name, count }] : [];
  });

/** The day before and after `date` that have events. */
export const dayAround = (counts: ArchiveCounts, date: string): { prev?: string; next?: string } => {
  const { older, newer } = neighboursOf(keysOf(counts.days), date);
  return { ...(older ? { prev: older } : {}), ...(newer ? { next: newer } : {}) };
};

/**
 * The scope as its newest event of the month spells it: a month's document is named as that
 * month's events name it (a full run meets them so), whatever later events call the tag.
 */
const nameInMonth = (
  scope: FeedScope,
  events: readonly Pick<EventSummary, 'tags' | 'topic'>[],
): FeedScope => {
  const newest = events[0];
  if (scope.kind === 'site' || !newest) return scope;
  const name =
    scope.kind === 'tag' ? newest.tags.find((t) => t.slug === scope.slug)?.name : (newest.topic ?? undefined);
  return name === undefined ? scope : { ...scope, name };
};

/** Where an archive's scopes stand in a month: the scopes with events in it, and their events. */
const scopesOfMonth = <E extends MonthEvent>(
  events: readonly E[],
): Map<string, { scope: FeedScope; events: E[] }> => {
  const scopes = new Map<string, { scope: FeedScope; events: E[] }>();
  const into = (scope: FeedScope, event: E) => {
    const key = scope.kind === 'site' ? 'site' : `${scope.kind}:${scope.slug}`;
    const known = scopes.get(key);
    if (known) known.events.push(event);
    else scopes.set(key, { scope, events: [event] });
  };
  for (const event of events) {
    into({ kind: 'site' }, event);
    for (const tag of event.tags) into({ kind: 'tag', slug: tag.slug, name: tag.name }, event);
    if (event.topic) {
      const scope = topicScope(event.topic);
      if (scope.slug !== '') into(scope, event);
    }
  }
  return scopes;
};

/** What a full run adds for the archive, and what it took. */
export interface ArchiveFigures {
  documents: number;
  pages: number;
  milliseconds: number;
}

/**
 * A month's part of a full publish's archive (a `month` slice with `archive`): the month's page and
 * its documents of the site, each tag and each topic label, from every live event of the month
 * (newest first, in full) and the plan's counts, which give every document's links. Each event's
 * item is rendered once and placed in every document that lists it.
 */
export const writeMonthArchive = async (
  out: ArchiveOutput,
  counts: ArchiveCounts,
  month: string,
  events: readonly MonthEvent[],
  itemOf: ReadonlyMap<string, ArchiveItem>,
  figures: ArchiveFigures,
): Promise<void> => {
  const started = performance.now();
  const { config: site } = out;
  await out.put([monthPage(site, month, events, monthsOfDays(counts.days))]);
  figures.pages++;
  const records: Promise<void>[] = [];
  for (const { scope, events: ofScope } of scopesOfMonth(events).values()) {
    const links = archiveLinksOf(keysOf(monthsOf(counts, scope)), month);
    const docItems = ofScope.map((e) => itemOf.get(e.id) as ArchiveItem);
    const files = archiveFiles(site, scope, month, links, docItems);
    const { written } = await out.put(files);
    // Once its files are written, so it never describes items they do not hold.
    if (scope.kind === 'site')
      records.push(written.then(() => out.write([itemsRecord(site, month, files, docItems)])));
    figures.documents += ARCHIVE_FORMATS.length;
  }
  await Promise.all(records);
  figures.milliseconds += performance.now() - started;
};

/**
 * The archive's pages beyond the months (a full publish's `site` slice): each year's page, each
 * topic label's page and feeds (from its newest events: summaries, and their items), the topics
 * index; then what an earlier run's counts had and these do not is removed, and the counts recorded.
 */
export const writeArchiveIndex = async (
  out: ArchiveOutput & Pick<IncrementalOutput, 'fullEvents'>,
  counts: ArchiveCounts,
  topicHeads: Readonly<Record<string, readonly EventSummary[]>>,
  before: ArchiveCounts | undefined,
  figures: ArchiveFigures,
): Promise<void> => {
  const started = performance.now();
  const { config: site } = out;
  const months = monthsOfDays(counts.days);
  for (const year of keysOf(yearsOf(months))) {
    await out.put([yearPage(site, year, months)]);
    figures.pages++;
  }
  const topics = topicCountsOf(counts);
  for (const topic of topics) {
    const history = counts.topics[topic.slug] as ScopeHistory;
    const newest = topicHeads[topic.slug] ?? [];
    const scope: FeedScope = { kind: 'topic', slug: topic.slug, name: history.name };
    const listed = await out.fullEvents(newest.slice(0, site.feedSize));
    const { files, record } = out.feeds(scope, out.writeItems(listed), {
      newestMonth: newestOf(history.months),
    });
    await out.put([
      {
        key: topicPath(topic.slug),
        body: renderTopicPage(site, topic.name, newest.slice(0, TOPIC_PAGE_SIZE), {
          total: topic.count,
          months: history.months,
        }),
        type: HTML,
      },
    ]);
    // The record after the files, so it never describes items they do not hold.
    await out.write(files);
    await out.write([record]);
    figures.pages++;
    figures.documents += files.length;
  }
  await out.write([{ key: TOPICS_PAGE, body: renderTopicsIndex(site, topics), type: HTML }]);
  if (before) await removeStale(out, before, counts);
  await out.write([recordObject(site, counts)]);
  figures.milliseconds += performance.now() - started;
};

/** Removes what an earlier run's counts had and these do not: documents, month, year and topic pages. */
const removeStale = async (
  out: ArchiveOutput,
  before: ArchiveCounts,
  counts: ArchiveCounts,
): Promise<void> => {
  const removals: Promise<unknown>[] = [];
  const beforeMonths = monthsOfDays(before.days);
  const nowMonths = monthsOfDays(counts.days);
  for (const month of keysOf(beforeMonths)) {
    if (nowMonths[month]) continue;
    removals.push(
      removeArchive(out, { kind: 'site' }, month),
      out.remove(monthPath(month)),
      out.remove(itemsRecordOf(month).record),
    );
  }
  const nowYears = yearsOf(nowMonths);
  for (const year of keysOf(yearsOf(beforeMonths)))
    if (!nowYears[year]) removals.push(out.remove(yearPath(year)));
  for (const kind of ['tags', 'topics'] as const) {
    for (const [slug, history] of Object.entries(before[kind])) {
      const scope: FeedScope = { kind: kind === 'tags' ? 'tag' : 'topic', slug, name: history.name };
      const now = counts[kind][slug]?.months ?? {};
      for (const month of keysOf(history.months))
        if (!now[month]) removals.push(removeArchive(out, scope, month));
      if (kind === 'topics' && keysOf(now).length === 0)
        removals.push(
          out.remove(topicPath(slug)),
          ...FEED_FORMATS.map((format) => out.remove(feedPath(scope, format))),
          out.remove(feedItemsPath(scope)),
        );
    }
  }
  await Promise.all(removals);
};

/** The store as an incremental archive reads it. */
export type ArchiveStore = Pick<PublishStore, 'listMonthSummaries' | 'listTagSummaries'>;

/**
 * Every live event of a month, newest first (`latestFirst`), as listings show it (no bodies: the
 * items of unchanged events are taken from the month's document as written): its shards of the
 * latest index, read side by side.
 */
export const readMonth = async (store: ArchiveStore, month: string): Promise<EventSummary[]> => {
  const shards = await Promise.all(
    Array.from({ length: LATEST_SHARDS }, async (_, shard) => {
      const events: EventSummary[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listMonthSummaries(
          shard,
          { limit: MONTH_PAGE, ...(cursor ? { cursor } : {}) },
          month,
        );
        events.push(...page.items);
        cursor = page.cursor;
      } while (cursor);
      return events;
    }),
  );
  return shards.flat().sort(latestFirst);
};

/**
 * A tag's events of one month: its entries newest first until the month is passed (what is read is
 * the tag's events since that month, and for a neighbour month there are none between).
 */
const readTagMonth = async (store: ArchiveStore, slug: string, month: string): Promise<EventSummary[]> => {
  const events: EventSummary[] = [];
  let cursor: string | undefined;
  let passed = false;
  do {
    const page = await store.listTagSummaries(slug, { limit: 100, ...(cursor ? { cursor } : {}) });
    for (const summary of page.items) {
      const m = monthOf(summary.date);
      if (m === month) events.push(summary);
      else if (m < month) passed = true;
    }
    cursor = page.cursor;
  } while (cursor && !passed);
  return events;
};

/** The state an incremental run's pages wait for: the counts after its changes. */
export interface ArchiveState {
  before: ArchiveCounts;
  after: ArchiveCounts;
}

/**
 * The archive of an incremental run: the months of its marked days are read whole (every live
 * event of each, from the latest index), their counts replace the recorded ones, and what the
 * change touches is rebuilt:
 *
 * - each marked month's site document and page, its year's page, and the documents of that month
 *   of every tag and topic label whose count there changed or that a marked event has;
 * - the documents and month pages whose `prev-archive` / `next-archive` neighbour appeared or went
 *   (read for that scope only), and the day pages whose previous or next day did;
 * - the page and feeds of each topic label touched, and the topics index.
 *
 * The counts are recorded for the months whose rebuild succeeded; a month that failed keeps its
 * days' marks, and the next run reads it again. Without a record (no full run since archives came)
 * the archive waits for one (`npm run publish -- --full`).
 */
export class IncrementalArchive {
  private readonly months = new Map<string, Promise<EventSummary[]>>();
  private readonly items = new Map<string, ArchiveItem>();
  private readonly done = new Map<string, Promise<void>>();
  private readonly failedMonths = new Set<string>();
  /** Per marked month: the items of its site document as written, taken into `items`. */
  private readonly prepared = new Map<string, Promise<void>>();
  /** Give back the bytes of documents read for their items, once every document is written. */
  private readonly releases: (() => void)[] = [];
  private refOf?: ReturnType<typeof feedItemRefs>;
  readonly state: Promise<ArchiveState | undefined>;

  constructor(
    private readonly out: IncrementalOutput,
    private readonly store: ArchiveStore,
    objects: ObjectStore,
    private readonly marked: ReadonlySet<string>,
    /** The marked events as read now. */
    private readonly markedEvents: Promise<
      ReadonlyMap<string, Pick<EventSummary, 'date' | 'tags' | 'topic'>>
    >,
    /**
     * Marked months whose events' marks are gone (cleared by earlier runs): every event of them
     * counts as marked, from the month as this run reads it anyway.
     */
    private readonly wholeMonths: ReadonlySet<string> = new Set(),
  ) {
    this.state = this.load(objects);
    this.state.catch(() => undefined);
  }

  get site(): SiteConfig {
    return this.out.config;
  }

  private monthEvents(month: string): Promise<EventSummary[]> {
    let events = this.months.get(month);
    if (!events) {
      events = readMonth(this.store, month);
      events.catch(() => undefined);
      this.months.set(month, events);
    }
    return events;
  }

  private async load(objects: ObjectStore): Promise<ArchiveState | undefined> {
    const [before, ...read] = await Promise.all([
      readArchiveCounts(objects, this.site),
      ...[...this.marked].map((m) => this.monthEvents(m)),
    ]);
    let was = before;
    if (!was) {
      // A site never published has no history: every event of it is marked, so its months are
      // all read now. A site published before the archive existed needs a full run to count it.
      if (await objects.get(HOME_PAGE)) {
        if (this.marked.size > 0)
          logger.warn('no archive counts recorded: a full publish builds the archive', {
            months: this.marked.size,
          });
        return undefined;
      }
      was = emptyCounts();
    }
    const after = clone(was);
    replaceMonths(after, countEvents(read.flat().sort(latestFirst)), this.marked);
    return { before: was, after };
  }

  /** The days before and after `date` with events, once the run's counts are known. */
  async dayAround(date: string): Promise<{ prev?: string; next?: string }> {
    const state = await this.state;
    return state ? dayAround(state.after, date) : {};
  }

  async tagMonths(slug: string): Promise<Counts | undefined> {
    return (await this.state)?.after.tags[slug]?.months;
  }

  async topics(): Promise<TopicCount[] | undefined> {
    const state = await this.state;
    return state ? topicCountsOf(state.after) : undefined;
  }

  /**
   * Items of events, each rendered once per run from the event in full (read for it unless the run
   * has it), or taken from the month's document as written (`prepare`). With `everyFormat`, for a
   * subscription feed: an item taken from an archive document (which has no JSON) is rendered too.
   * An event deleted since its summary was read is left out.
   */
  private async itemsOf(events: readonly EventSummary[], everyFormat: true): Promise<FeedItem[]>;
  private async itemsOf(events: readonly EventSummary[]): Promise<ArchiveItem[]>;
  private async itemsOf(events: readonly EventSummary[], everyFormat = false): Promise<ArchiveItem[]> {
    const key = (e: Pick<EventSummary, 'id' | 'revision'>) => `${e.id}#${e.revision}`;
    const missing = events.filter((e) => {
      const item = this.items.get(key(e));
      return !item || (everyFormat && !hasEveryFormat(item));
    });
    if (missing.length > 0) {
      const full = await this.out.fullEvents(missing);
      const written = new Map(this.out.writeItems(full).map((item, i) => [(full[i] as NewsEvent).id, item]));
      // Under the summary's key: an event read at a newer revision than its listing shows is placed
      // as the listing has it, as a full run would meet it.
      for (const e of missing) {
        const item = written.get(e.id);
        if (item) this.items.set(key(e), item);
      }
    }
    return events.flatMap((e) => this.items.get(key(e)) ?? []);
  }

  /**
   * Takes the items of a marked month's unchanged events from its site document as written (see
   * `itemsRecordOf`), so that a new event in a month of thousands writes one item, not thousands.
   */
  private prepare(month: string, events: readonly EventSummary[]): Promise<void> {
    let ready = this.prepared.get(month);
    if (!ready) {
      ready = (async () => {
        if (!this.out.previousItems) return;
        const { reused, release } = await this.out.previousItems({ kind: 'site' }, itemsRecordOf(month));
        this.releases.push(release);
        this.refOf ??= feedItemRefs(this.site);
        for (const event of events) {
          const key = `${event.id}#${event.revision}`;
          const item = reused.get(key);
          // Its `updated` from the event as read now, as a freshly written item's would be.
          if (item && !this.items.has(key)) this.items.set(key, { ...item, ref: this.refOf(event) });
        }
      })();
      this.prepared.set(month, ready);
    }
    return ready;
  }

  /** A scope's document of a month, from its events there (none: removed). */
  private async document(
    scope: FeedScope,
    month: string,
    after: ArchiveCounts,
    events: readonly EventSummary[],
  ): Promise<void> {
    const isSite = scope.kind === 'site';
    if (events.length === 0) {
      await Promise.all([
        removeArchive(this.out, scope, month),
        isSite ? this.out.remove(itemsRecordOf(month).record) : undefined,
      ]);
      return;
    }
    // A marked month's items, and a site neighbour's (read whole anyway), as written before.
    if (this.marked.has(month) || isSite) await this.prepare(month, await this.monthEvents(month));
    const links = archiveLinksOf(keysOf(monthsOf(after, scope)), month);
    const items = await this.itemsOf(events);
    const files = archiveFiles(this.site, nameInMonth(scope, events), month, links, items);
    await this.out.write(files);
    // After its files, so it never describes items they do not hold.
    if (isSite) await this.out.write([itemsRecord(this.site, month, files, items)]);
  }

  /**
   * A scope's events in a month whose document is rebuilt for its links (a neighbour): from the
   * month as read when it is marked (read whole anyway), else a tag's from its entries.
   */
  private async neighbourEvents(scope: FeedScope, month: string): Promise<EventSummary[]> {
    if (scope.kind === 'tag' && !this.marked.has(month)) return readTagMonth(this.store, scope.slug, month);
    return (await this.monthEvents(month)).filter((e) => inScope(scope, e));
  }

  /**
   * Rebuilds what the marked months touch; resolves once written (`before`: the event pages the
   * documents link to). `rebuildDay` rebuilds a day page whose neighbours changed. Failures are
   * logged and counted by month: those months' counts are not recorded.
   */
  build(before: Promise<unknown>, rebuildDay: (date: string) => Promise<void>): Promise<void> {
    let built = this.done.get('all');
    if (!built) {
      built = this.buildAll(before, rebuildDay);
      this.done.set('all', built);
    }
    return built;
  }

  private async buildAll(
    before: Promise<unknown>,
    rebuildDay: (date: string) => Promise<void>,
  ): Promise<void> {
    const state = await this.state;
    if (!state) return;
    const { before: was, after } = state;
    const found = await this.markedEvents;
    const site = this.site;
    // Documents link to event pages: written once those are.
    await before;
    const siteWas = monthsOfDays(was.days);
    const siteNow = monthsOfDays(after.days);
    // Each task is for a marked month (whose failure keeps that month's marks), or for the run as a
    // whole (a neighbour, a year, a topic label: its failure keeps every month's).
    const tasks: { month?: string; run: () => Promise<unknown> }[] = [];
    const monthTask = (month: string | undefined, run: () => Promise<unknown>) => tasks.push({ month, run });
    // Which months' site documents and pages change, and which neighbours'.
    for (const month of this.marked) {
      monthTask(month, async () => {
        const events = await this.monthEvents(month);
        await this.document({ kind: 'site' }, month, after, events);
        if (events.length > 0) await this.out.write([monthPage(site, month, events, siteNow)]);
        else await this.out.remove(monthPath(month));
      });
    }
    for (const month of neighboursToRebuild(siteWas, siteNow, this.marked)) {
      monthTask(undefined, async () => {
        const events = await this.monthEvents(month);
        await this.document({ kind: 'site' }, month, after, events);
        await this.out.write([monthPage(site, month, events, siteNow)]);
      });
    }
    // Years: the marked months' and, when a year appeared or went, its neighbours'.
    const yearsWas = yearsOf(siteWas);
    const yearsNow = yearsOf(siteNow);
    const years = new Set([...this.marked].map(yearOf));
    for (const year of [...years, ...neighboursToRebuild(yearsWas, yearsNow, years)]) {
      monthTask(undefined, () =>
        yearsNow[year] ? this.out.write([yearPage(site, year, siteNow)]) : this.out.remove(yearPath(year)),
      );
    }
    // Days whose previous or next day appeared or went.
    const changedDays = new Set(
      [...new Set([...Object.keys(was.days), ...Object.keys(after.days)])].filter((d) =>
        this.marked.has(monthOf(d)),
      ),
    );
    for (const day of neighboursToRebuild(was.days, after.days, changedDays))
      monthTask(undefined, () => rebuildDay(day));
    // Tags and topic labels: their documents of the marked months, when touched, and neighbours.
    const touched = new Map<string, Set<string>>();
    const wholly = await Promise.all(
      [...this.wholeMonths].filter((m) => this.marked.has(m)).map((m) => this.monthEvents(m)),
    );
    for (const event of [...found.values(), ...wholly.flat()]) {
      const month = monthOf(event.date);
      if (!this.marked.has(month)) continue;
      const keys = touched.get(month) ?? new Set<string>();
      for (const tag of event.tags) keys.add(`tag:${tag.slug}`);
      if (event.topic) keys.add(`topic:${topicScope(event.topic).slug}`);
      touched.set(month, keys);
    }
    const topicsTouched = new Set<string>();
    for (const kind of ['tags', 'topics'] as const) {
      const slugs = new Set([...Object.keys(was[kind]), ...Object.keys(after[kind])]);
      for (const slug of slugs) {
        const b = was[kind][slug]?.months ?? {};
        const a = after[kind][slug]?.months ?? {};
        const name = after[kind][slug]?.name ?? was[kind][slug]?.name ?? slug;
        const scope: FeedScope = { kind: kind === 'tags' ? 'tag' : 'topic', slug, name };
        const key = `${scope.kind}:${slug}`;
        const months = [...this.marked].filter(
          (m) => (b[m] ?? 0) !== (a[m] ?? 0) || ((a[m] ?? 0) > 0 && touched.get(m)?.has(key)),
        );
        if (months.length === 0) continue;
        if (kind === 'topics') topicsTouched.add(slug);
        for (const month of months)
          monthTask(month, async () =>
            this.document(
              scope,
              month,
              after,
              (await this.monthEvents(month)).filter((e) => inScope(scope, e)),
            ),
          );
        for (const month of neighboursToRebuild(b, a, months))
          monthTask(undefined, async () =>
            this.document(scope, month, after, await this.neighbourEvents(scope, month)),
          );
      }
    }
    // Topic labels touched: their pages and feeds, then the topics index.
    for (const slug of topicsTouched) monthTask(undefined, () => this.topic(slug, after));
    monthTask(undefined, () =>
      this.out.write([{ key: TOPICS_PAGE, body: renderTopicsIndex(site, topicCountsOf(after)), type: HTML }]),
    );
    await Promise.all(
      tasks.map(({ month, run }) =>
        run().catch((error: unknown) => {
          logger.error('archive rebuild failed; its months stay marked', { month, error: error as Error });
          for (const m of month === undefined ? this.marked : [month]) this.failedMonths.add(m);
        }),
      ),
    );
    // Written: nothing reads the old documents' bytes any more. (After a failure a write may still
    // read them: they are not given back, and the store drops them.)
    if (this.failedMonths.size === 0) for (const release of this.releases.splice(0)) release();
  }

  /** A topic label's page and feeds, from its newest months (read newest first until enough). */
  private async topic(slug: string, after: ArchiveCounts): Promise<void> {
    const history = after.topics[slug];
    const scope: FeedScope = { kind: 'topic', slug, name: history?.name ?? slug };
    const months = keysOf(history?.months ?? {}).reverse();
    if (!history || months.length === 0) {
      await Promise.all([
        this.out.remove(topicPath(slug)),
        ...FEED_FORMATS.map((format) => this.out.remove(feedPath(scope, format))),
        this.out.remove(feedItemsPath(scope)),
      ]);
      return;
    }
    const wanted = Math.max(TOPIC_PAGE_SIZE, this.site.feedSize);
    const newest: EventSummary[] = [];
    for (const month of months) {
      if (newest.length >= wanted) break;
      newest.push(...(await this.monthEvents(month)).filter((e) => inScope(scope, e)));
    }
    const total = Object.values(history.months).reduce((sum, n) => sum + n, 0);
    const listed = newest.slice(0, this.site.feedSize);
    // The feed's unchanged items as written (every format: those cut from an archive document have no JSON).
    if (this.out.previousItems) {
      const { reused, release } = await this.out.previousItems(scope);
      this.releases.push(release);
      this.refOf ??= feedItemRefs(this.site);
      for (const event of listed) {
        const key = `${event.id}#${event.revision}`;
        const item = reused.get(key);
        const known = this.items.get(key);
        if (item && hasEveryFormat(item) && !(known && hasEveryFormat(known)))
          this.items.set(key, { ...item, ref: this.refOf(event) });
      }
    }
    const { files, record } = this.out.feeds(scope, await this.itemsOf(listed, true), {
      newestMonth: months[0],
    });
    // The record after the files, so it never describes items they do not hold.
    await this.out.write([
      {
        key: topicPath(slug),
        body: renderTopicPage(this.site, history.name, newest.slice(0, TOPIC_PAGE_SIZE), {
          total,
          months: history.months,
        }),
        type: HTML,
      },
      ...files,
    ]);
    await this.out.write([record]);
  }

  /**
   * Resolves once the month's part is written and the counts recorded: a day's mark is cleared only
   * then. Fails when that month's part failed.
   */
  async settled(
    month: string,
    objects: ObjectStore,
    before: Promise<unknown>,
    rebuildDay: (date: string) => Promise<void>,
  ): Promise<void> {
    await this.build(before, rebuildDay);
    let recorded = this.done.get('record');
    if (!recorded) {
      recorded = this.record(objects);
      this.done.set('record', recorded);
    }
    await recorded;
    if (this.failedMonths.has(month)) throw new Error(`the archive of ${month} was not rebuilt`);
  }

  /** Records the counts of the months rebuilt (those that failed keep what was recorded). */
  private async record(objects: ObjectStore): Promise<void> {
    const state = await this.state.catch(() => undefined);
    if (!state || this.marked.size === 0) return;
    const ok = new Set([...this.marked].filter((m) => !this.failedMonths.has(m)));
    if (ok.size === 0) return;
    const counts = clone(state.before);
    const fresh = countEvents(
      (await Promise.all([...ok].map((m) => this.monthEvents(m)))).flat().sort(latestFirst),
    );
    replaceMonths(counts, fresh, ok);
    const { key, body, type } = recordObject(this.site, counts);
    await objects.putIfChanged(key, body, type);
  }
}
