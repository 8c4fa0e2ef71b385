import { type MarkRecord, markBatchOf } from '../adapters/event-store.js';
import { monthOf } from '../domain/archives.js';
import type { StoredEvent } from '../domain/event.js';
import { logger } from '../logger.js';
import { IncrementalArchive } from './publish-archives.js';
import { MarkChunks, publishEvents, publishListingsAhead } from './publish-backlog.js';
import { emptyPublishReport, type PublishDeps, type PublishReport, pool } from './publish-output.js';
import { addReport, finish, Run } from './publish-run.js';

/*
 * The incremental publish: what the change stream marked, within a run's time budget
 * (`publishMarked`), as one whole when its event marks fit in a chunk (`publishWhole`), else
 * through publish-backlog.ts.
 */
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
 * Months whose archive one run rebuilds (newest first; the others' day marks wait): the archive
 * reads each marked month whole (what listings show of its events: a month of the busiest seed
 * days, some 3,000 events, is about a megabyte), and a long backlog can mark every month of an
 * import. Two years: a first publish of a site with a short history (the samples span ten months)
 * writes its home page in one run; tags and the site wait while months are left.
 */
const ARCHIVE_MONTHS_PER_RUN = 24;

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
  const found = run.readMarked(events.map((m) => m.key));
  for (const mark of tags) void run.eventsOfTag(mark.key);
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
  const archive = new IncrementalArchive(
    run,
    deps.store,
    deps.objects,
    monthsTaken,
    found.catch(() => new Map<string, StoredEvent>()),
    orphaned,
  );
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
