import type { MarkRecord } from '../adapters/event-store.js';
import type { NewsEvent, StoredEvent } from '../domain/event.js';
import type { EventSummary } from '../domain/related.js';
import { dayPath, eventPath, HOME_PAGE, tagPath } from '../domain/site.js';
import { logger } from '../logger.js';
import { IncrementalArchive } from './publish-archives.js';
import { HOME_SIZE, type PublishDeps, type PublishReport, pool, tagScope } from './publish-output.js';
import { finish, Run } from './publish-run.js';

/*
 * A backlog of event marks (an import, a publisher that was down): listings first, with the pages
 * they link to that are not there yet, then the backlog's events oldest first, a chunk at a time.
 */
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

/** Marks of a kind as `walkMarks` yields them, taken a chunk at a time, with one stored mark read ahead. */
export class MarkChunks {
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
export const publishListingsAhead = async (
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
export const publishEvents = async (
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
  const found = run.readMarked(marks.map((m) => m.key));
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
