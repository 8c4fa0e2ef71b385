import type { MarkRecord } from '../adapters/event-store.js';
import type { ArchiveCounts, Counts } from '../domain/archives.js';
import type { NewsEvent } from '../domain/event.js';
import type { EventSummary } from '../domain/related.js';
import type { TopicCount } from '../render/pages.js';
import {
  type ArchiveFigures,
  type ArchiveItem,
  dayAround,
  monthArchiveItems,
  readArchiveCounts,
  topicCountsOf,
  writeArchiveIndex,
  writeMonthArchive,
} from './publish-archives.js';
import { type PublishDeps, type PublishReport, pool } from './publish-output.js';
import { type JobPlan, mergeShards, type Slice } from './publish-plan.js';
import { type ArchiveView, finish, Run } from './publish-run.js';

/*
 * A slice of a full publish (`runSlice`), done by whichever worker takes it: from the store and the
 * plan's compact index (the archive's counts, each topic label's and tag's newest), never from the
 * rest of the archive.
 */

/** The archive as the plan counted it. */
class PlannedArchive implements ArchiveView {
  constructor(private readonly counts: ArchiveCounts) {}

  async dayAround(date: string): Promise<{ prev?: string; next?: string }> {
    return dayAround(this.counts, date);
  }

  async tagMonths(slug: string): Promise<Counts> {
    return this.counts.tags[slug]?.months ?? {};
  }

  async topics(): Promise<TopicCount[]> {
    return topicCountsOf(this.counts);
  }
}

const eventsOfTagCount = (counts: ArchiveCounts, slug: string): number =>
  Object.values(counts.tags[slug]?.months ?? {}).reduce((sum, n) => sum + n, 0);

const emptyFigures = (): ArchiveFigures => ({ documents: 0, pages: 0, milliseconds: 0 });

/**
 * Events read per query when reading a month in full, and done together. A page of each shard and the
 * next are held: at 1,000 events a page, a page outlived several young-generation collections, so
 * nearly every event read was copied twice and promoted before it died; at 250 a full publish of
 * 100,000 events took 84-96 s against 107-115 s, and 27 s less CPU.
 */
const MONTH_READ_PAGE = 250;

/**
 * A month's live events in full, newest first, on the days from `from` to `to` (every day by
 * default), `MONTH_READ_PAGE` at a time.
 */
async function* readMonthEvents(
  deps: PublishDeps,
  month: string,
  from = '',
  to = '\uffff',
): AsyncGenerator<NewsEvent[]> {
  // An event met twice (its date changed while the month was read) is listed once.
  const seen = new Set<string>();
  let chunk: NewsEvent[] = [];
  for await (const event of mergeShards(
    (shard, page) => deps.store.listLatestShard(shard, page, month),
    MONTH_READ_PAGE,
  )) {
    if (event.date < from || event.date > to || seen.has(event.id)) continue;
    seen.add(event.id);
    chunk.push(event);
    if (chunk.length === MONTH_READ_PAGE) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** What the month's pages and documents keep of an event once its own pages and items are made. */
const summaryOf = (event: NewsEvent): EventSummary => {
  const { id, date, headline, topic, tags, publishedAt, updatedAt, revision } = event;
  return {
    id,
    date,
    headline,
    tags,
    publishedAt,
    updatedAt,
    revision,
    ...(topic !== undefined ? { topic } : {}),
  };
};

/**
 * A month's event pages, day pages and archive documents (or some of them: a busy month's slices).
 * The month is read a page at a time: an event's pages and archive items are made as it is read, and
 * only its summary and items are kept, so a slice holds no event in full beyond the page it reads.
 */
const monthSlice = async (
  run: Run,
  plan: JobPlan,
  slice: Extract<Slice, { kind: 'month' }>,
): Promise<void> => {
  // A slice with the month's archive reads all of it; one of a busy month's pages, its days only.
  const events: EventSummary[] = [];
  const items = new Map<string, ArchiveItem>();
  for await (const chunk of readMonthEvents(run.deps, slice.month, slice.from, slice.to)) {
    if (slice.pages) await pool(chunk, (event) => run.eventPage(event));
    if (slice.archive) for (const [id, item] of monthArchiveItems(run, chunk)) items.set(id, item);
    for (const event of chunk) events.push(summaryOf(event));
  }
  // The day pages that list the events.
  if (slice.pages) {
    const days = new Map<string, EventSummary[]>();
    for (const event of events) {
      const day = days.get(event.date);
      if (day) day.push(event);
      else days.set(event.date, [event]);
    }
    for (const [date, ofDay] of days) await run.put([run.dayPage(date, ofDay, dayAround(plan.counts, date))]);
  }
  if (slice.archive) {
    const figures = emptyFigures();
    await writeMonthArchive(run, plan.counts, slice.month, events, items, figures);
    run.report.archive = figures;
  }
};

const tagsSlice = async (run: Run, slugs: readonly string[]): Promise<void> => {
  await pool(slugs, (slug) => run.tag(slug, Promise.resolve()));
};

/** The job's marks are those marked before it was planned: whatever they asked for, the slices read after. */
const clearPlannedMarks = async (run: Run, plannedAt: string): Promise<void> => {
  const before = (mark: MarkRecord) => mark.markedAt < plannedAt;
  for (const kind of ['day', 'tag', 'site'] as const)
    for (const mark of (await run.deps.store.listMarks(kind)).filter(before)) run.clear(mark);
  for await (const marks of run.deps.store.walkMarks('event'))
    for (const mark of marks.filter(before)) run.clear(mark);
};

const siteSlice = async (run: Run, plan: JobPlan): Promise<void> => {
  const before = await readArchiveCounts(run.deps.objects, run.config).catch(() => undefined);
  await run.site(Promise.resolve());
  const figures = emptyFigures();
  await writeArchiveIndex(run, plan.counts, plan.topicHeads, before, figures);
  run.report.archive = figures;
  await run.settled();
  await clearPlannedMarks(run, plan.plannedAt);
};

/**
 * Does a slice of the plan and reports what it wrote. A slice may run more than once (a retry, a
 * message delivered twice): it writes the same bytes again, so a second run writes nothing.
 */
export const runSlice = async (deps: PublishDeps, plan: JobPlan, slice: Slice): Promise<PublishReport> => {
  const expectedCount = (slug: string) => eventsOfTagCount(plan.counts, slug);
  const own = slice.kind === 'tags' ? new Set(slice.slugs) : undefined;
  const tagsCounted =
    own &&
    new Map(
      Object.keys(plan.counts.tags)
        .filter((slug) => !own.has(slug))
        .map((slug) => [slug, expectedCount(slug)]),
    );
  const run = new Run(deps, {
    fresh: true,
    expectedCount,
    tagHeads: (slug) => plan.tagHeads[slug]?.map((position) => plan.headEvents[position] as EventSummary),
    ...(tagsCounted ? { tagsCounted } : {}),
  });
  run.archive = new PlannedArchive(plan.counts);
  try {
    if (slice.kind === 'month') await monthSlice(run, plan, slice);
    else if (slice.kind === 'tags') await tagsSlice(run, slice.slugs);
    else await siteSlice(run, plan);
  } catch (error) {
    await run.settled().catch(() => undefined);
    throw error;
  }
  return finish(run);
};

/** What a slice is, for progress and logs. */
export const sliceLabel = (slice: Slice): string =>
  slice.kind === 'month'
    ? `${slice.month}${slice.from ? ` ${slice.from}..${slice.to}` : ''}${slice.pages ? '' : ' archive'}`
    : slice.kind === 'tags'
      ? `tags ${slice.slugs[0]}..${slice.slugs.at(-1)}`
      : 'site';
