import type {
  EventStore,
  ListingStore,
  MarkRecord,
  PublishStore,
  TagSummary,
} from '../adapters/event-store.js';
import type { ObjectStore } from '../adapters/object-store.js';
import { isTombstone, type NewsEvent, type StoredEvent } from '../domain/event.js';
import { buildFeedModel } from '../domain/feed-model.js';
import { relatedEvents } from '../domain/related.js';
import {
  dayPath,
  EVENT_FORMATS_CONTENT_TYPES,
  eventPath,
  FEED_CONTENT_TYPES,
  FEED_FORMATS,
  type FeedScope,
  feedPath,
  HOME_PAGE,
  OPML_FILE,
  type SiteConfig,
  TAGS_PAGE,
  tagPath,
} from '../domain/site.js';
import { logger } from '../logger.js';
import { renderFeed } from '../render/feeds.js';
import { renderEventJson, renderEventXml, renderOpml } from '../render/formats.js';
import {
  renderDayPage,
  renderEventPage,
  renderHomePage,
  renderTagPage,
  renderTagsIndex,
} from '../render/pages.js';

export interface PublishDeps {
  store: EventStore & PublishStore & Pick<ListingStore, 'recountTag'>;
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

/** Events on a tag page, and the most recent per tag considered for "Related". */
const TAG_PAGE_SIZE = 100;
const RELATED_CANDIDATES_PER_TAG = 50;
const HOME_SIZE = 30;
const CONCURRENCY = 8;

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

/** One publish run: reads are cached for the run, writes skip identical bytes. */
class Run {
  readonly report = emptyPublishReport();
  private readonly tagEvents = new Map<string, Promise<NewsEvent[]>>();
  private tags?: Promise<TagSummary[]>;

  constructor(private readonly deps: PublishDeps) {}

  async put(key: string, body: string, contentType: string): Promise<void> {
    if (await this.deps.objects.putIfChanged(key, body, contentType)) this.report.written++;
    else this.report.unchanged++;
  }

  async remove(key: string): Promise<void> {
    if (await this.deps.objects.remove(key)) this.report.removed++;
  }

  /** A tag's newest events, read once per run at the largest size any page needs, then sliced. */
  async eventsOfTag(slug: string, limit: number): Promise<NewsEvent[]> {
    let cached = this.tagEvents.get(slug);
    if (!cached) {
      const size = Math.max(TAG_PAGE_SIZE, RELATED_CANDIDATES_PER_TAG, this.deps.site.feedSize);
      cached = this.deps.store.listTag(slug, { limit: size }).then((page) => page.items);
      this.tagEvents.set(slug, cached);
    }
    return (await cached).slice(0, limit);
  }

  allTags(): Promise<TagSummary[]> {
    this.tags ??= this.deps.store.listTags();
    return this.tags;
  }

  private readonly eventPages = new Map<string, Promise<void>>();

  /** Each event page at most once per run, however many marks lead to it. */
  eventPage(event: NewsEvent): Promise<void> {
    let page = this.eventPages.get(event.id);
    if (!page) {
      page = this.buildEventPage(event);
      this.eventPages.set(event.id, page);
    }
    return page;
  }

  private async buildEventPage(event: NewsEvent): Promise<void> {
    const { site } = this.deps;
    const candidates = (
      await Promise.all(event.tags.map((t) => this.eventsOfTag(t.slug, RELATED_CANDIDATES_PER_TAG)))
    ).flat();
    const unique = [...new Map(candidates.map((e) => [e.id, e])).values()];
    await Promise.all([
      this.put(
        eventPath(event.id, 'html'),
        renderEventPage(site, event, relatedEvents(event, unique)),
        EVENT_FORMATS_CONTENT_TYPES.html,
      ),
      this.put(eventPath(event.id, 'json'), renderEventJson(site, event), EVENT_FORMATS_CONTENT_TYPES.json),
      this.put(eventPath(event.id, 'xml'), renderEventXml(site, event), EVENT_FORMATS_CONTENT_TYPES.xml),
    ]);
  }

  async event(id: string): Promise<void> {
    const stored: StoredEvent | undefined = await this.deps.store.getEvent(id);
    if (stored && !isTombstone(stored)) return this.eventPage(stored);
    await Promise.all((['html', 'json', 'xml'] as const).map((format) => this.remove(eventPath(id, format))));
    // Pages that listed it as related must lose the link: rebuild its tags' recent events.
    const neighbours = (
      await Promise.all((stored?.tags ?? []).map((t) => this.eventsOfTag(t.slug, RELATED_CANDIDATES_PER_TAG)))
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
    if (events.length === 0) return this.remove(dayPath(date));
    await this.put(
      dayPath(date),
      renderDayPage(this.deps.site, date, events),
      EVENT_FORMATS_CONTENT_TYPES.html,
    );
  }

  async feeds(scope: FeedScope, events: NewsEvent[]): Promise<void> {
    const model = buildFeedModel(this.deps.site, scope, events);
    await Promise.all(
      FEED_FORMATS.map((format) =>
        this.put(feedPath(scope, format), renderFeed(model, format), FEED_CONTENT_TYPES[format]),
      ),
    );
  }

  /**
   * A tag's page and feeds. With `reconcile`, its count is first recounted from its entries: the
   * stream keeps counts with +1/-1, and this exact count, taken after the change that marked the
   * tag was fully applied, settles any drift from concurrent stream invocations.
   */
  async tag(slug: string, reconcile = false): Promise<void> {
    const events = await this.eventsOfTag(slug, Math.max(TAG_PAGE_SIZE, this.deps.site.feedSize));
    const name = events[0]?.tags.find((t) => t.slug === slug)?.name;
    if (reconcile) await this.deps.store.recountTag(slug, name ?? slug);
    if (events.length === 0 || name === undefined) {
      await Promise.all([
        this.remove(tagPath(slug)),
        ...FEED_FORMATS.map((format) => this.remove(feedPath({ kind: 'tag', slug, name: slug }, format))),
      ]);
      return;
    }
    const tag = { slug, name };
    await Promise.all([
      this.put(tagPath(slug), renderTagPage(this.deps.site, tag, events), EVENT_FORMATS_CONTENT_TYPES.html),
      this.feeds({ kind: 'tag', ...tag }, events.slice(0, this.deps.site.feedSize)),
    ]);
  }

  async site(): Promise<void> {
    const { site, store } = this.deps;
    const latest = (await store.listLatest({ limit: Math.max(HOME_SIZE, site.feedSize) })).items;
    const tags = await this.allTags();
    await Promise.all([
      this.put(
        HOME_PAGE,
        renderHomePage(site, latest.slice(0, HOME_SIZE), tags),
        EVENT_FORMATS_CONTENT_TYPES.html,
      ),
      this.put(TAGS_PAGE, renderTagsIndex(site, tags), EVENT_FORMATS_CONTENT_TYPES.html),
      this.put(OPML_FILE, renderOpml(site, tags), 'text/x-opml; charset=utf-8'),
      this.feeds({ kind: 'site' }, latest.slice(0, site.feedSize)),
    ]);
  }

  async settle(mark: MarkRecord, build: () => Promise<void>): Promise<void> {
    try {
      await build();
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
 * cleared only if no newer change re-marked it while the run worked.
 */
export const publishMarked = async (deps: PublishDeps): Promise<PublishReport> => {
  const run = new Run(deps);
  for (const kind of ['event', 'day', 'tag', 'site'] as const) {
    const marks = await deps.store.listMarks(kind);
    await pool(marks, (mark) =>
      run.settle(mark, () => {
        switch (kind) {
          case 'event':
            return run.event(mark.key);
          case 'day':
            return run.day(mark.key);
          case 'tag':
            return run.tag(mark.key, true);
          case 'site':
            return run.site();
        }
      }),
    );
  }
  return run.report;
};

/** Rebuilds everything from the store (`npm run publish -- --full`); unchanged bytes are still not rewritten. */
export const publishAll = async (deps: PublishDeps): Promise<PublishReport> => {
  const run = new Run(deps);
  // Marks present now are covered by this run; newer ones (changed markedAt) survive it.
  const marks = (
    await Promise.all((['event', 'day', 'tag', 'site'] as const).map((k) => deps.store.listMarks(k)))
  ).flat();
  const days = new Set<string>();
  let cursor: string | undefined;
  // Page by page, so memory holds one page of events, not the archive.
  do {
    const page = await deps.store.listLatest({ limit: 100, ...(cursor ? { cursor } : {}) });
    for (const e of page.items) days.add(e.date);
    await pool(page.items, (e) => run.eventPage(e));
    cursor = page.cursor;
  } while (cursor);
  await pool([...days], (date) => run.day(date));
  await pool(await run.allTags(), (tag) => run.tag(tag.slug));
  await run.site();
  await pool(marks, async (mark) => {
    if (await deps.store.clearMark(mark)) run.report.marksCleared++;
    else run.report.marksKept++;
  });
  return run.report;
};
