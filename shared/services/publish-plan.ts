import type { Page, PageRequest } from '../adapters/event-store.js';
import { type ObjectStore, parseRecord } from '../adapters/object-store.js';
import {
  type ArchiveCounts,
  countEvent,
  emptyCounts,
  keysOf,
  monthOf,
  topicScope,
} from '../domain/archives.js';
import type { Tag } from '../domain/event.js';
import { type EventSummary, latestFirst, RELATED_CANDIDATES_PER_TAG } from '../domain/related.js';
import type { SiteConfig } from '../domain/site.js';
import { LATEST_SHARDS } from '../keys.js';
import { RENDER_VERSION } from '../render/version.js';
import { TOPIC_PAGE_SIZE } from './publish-archives.js';
import { type PublishDeps, TAG_PAGE_SIZE } from './publish-output.js';

/*
 * The plan of a full publish (`planJob`): one read of every live event's summary (no bodies) gives
 * the compact index every slice needs of the rest of the archive (the archive's counts by day,
 * tag, topic label and month, and each topic label's newest events), and the slices, in phases.
 */

/**
 * A slice of a full publish: a part of the job one worker does alone.
 * - `month`: the pages of the events published on its days (`from` to `to`, or every day of the
 *   month) and those days' pages; with `archive`, the month's page and its archive documents (the
 *   site's, each tag's and each topic label's), from every event of the month;
 * - `tags`: these tags' pages and feeds (or their removal, when no live event has the tag);
 * - `site`: the home page, tag index, site feeds, year and topic pages, topic feeds and the
 *   records kept under `_publish/`, and the marks the job covers.
 */
export type Slice =
  | { kind: 'month'; month: string; from?: string; to?: string; pages: boolean; archive: boolean }
  | { kind: 'tags'; slugs: string[] }
  | { kind: 'site' };

export interface JobPlan {
  version: number;
  site: string;
  job: string;
  /** When the plan began reading: changes marked before it are in what the slices read. */
  plannedAt: string;
  renderVersion: number;
  /** Events, days and tags the plan met. */
  events: number;
  counts: ArchiveCounts;
  /** Each topic label's newest events (as many as its page and feeds show), newest first. */
  topicHeads: Record<string, EventSummary[]>;
  /**
   * Each tag's newest events (as many as its page, its feeds and "Related" read), newest first, as
   * positions in `headEvents`: what a tag's listing would give, without reading it again in every
   * slice. As large as the site's tags times that, whatever the archive's size.
   */
  tagHeads: Record<string, number[]>;
  headEvents: EventSummary[];
  /** Phases run one after the other: every event page, then tags, then the site (which links to both). */
  phases: Slice[][];
}

/** 2: summaries written as `StoredSummary`, tags once. */
const PLAN_VERSION = 2;

/** Where a job's plan is kept: under `_publish/`, which the site never serves. */
export const planKey = (job: string): string => `_publish/jobs/${job}.json`;

/**
 * Events one `month` slice renders at most: a busier month is split by days into slices of this
 * many (whose pages only) and one more for its archive documents. At some 20 ms of work an event
 * (rendering, and six requests of 25 ms, 32 at once) in AWS, a slice takes two minutes at most.
 */
export const SLICE_EVENTS = 5_000;
/** Tags one `tags` slice renders: a page, three feeds and a listing read each. */
export const SLICE_TAGS = 100;
/** Summaries read per query when planning (the index's pages are up to 1 MB). */
const PLAN_PAGE = 1_000;

/**
 * Pages of the shards of a listing, merged newest first (`latestFirst`): each shard is read a page
 * ahead, so memory holds two pages a shard.
 */
export async function* mergeShards<T extends Pick<EventSummary, 'date' | 'id'>>(
  read: (shard: number, page: PageRequest) => Promise<Page<T>>,
  limit: number,
): AsyncGenerator<T> {
  interface Shard {
    items: T[];
    at: number;
    next?: Promise<Page<T>>;
  }
  const ahead = (shard: number, cursor?: string) => {
    const page = read(shard, { limit, ...(cursor ? { cursor } : {}) });
    // Read ahead: if the merge stops on another shard's failure, this one's must not go unhandled.
    page.catch(() => undefined);
    return page;
  };
  const shards: Shard[] = Array.from({ length: LATEST_SHARDS }, (_, shard) => ({
    items: [],
    at: 0,
    next: ahead(shard),
  }));
  for (;;) {
    let newest: Shard | undefined;
    for (const [number, shard] of shards.entries()) {
      while (shard.at >= shard.items.length && shard.next) {
        const page = await shard.next;
        shard.items = page.items;
        shard.at = 0;
        shard.next = page.cursor ? ahead(number, page.cursor) : undefined;
      }
      const head = shard.items[shard.at];
      if (head && (!newest || latestFirst(head, newest.items[newest.at] as T) < 0)) newest = shard;
    }
    if (!newest) return;
    yield newest.items[newest.at++] as T;
  }
}

/** A job id: when it was planned, sortable, and a few random letters so two plans never share one. */
export const newJobId = (at: Date): string =>
  `${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${Math.random().toString(36).slice(2, 8)}`;

/** A month's days (newest first, with their events), cut into runs of at most `SLICE_EVENTS` events. */
export const monthSlices = (month: string, days: [string, number][]): Slice[] => {
  const total = days.reduce((sum, [, n]) => sum + n, 0);
  if (total <= SLICE_EVENTS) return [{ kind: 'month', month, pages: true, archive: true }];
  const slices: Slice[] = [];
  let part: [string, number][] = [];
  let size = 0;
  const cut = () => {
    if (part.length === 0) return;
    slices.push({
      kind: 'month',
      month,
      from: (part.at(-1) as [string, number])[0],
      to: (part[0] as [string, number])[0],
      pages: true,
      archive: false,
    });
    part = [];
    size = 0;
  };
  for (const day of days) {
    if (size > 0 && size + day[1] > SLICE_EVENTS) cut();
    part.push(day);
    size += day[1];
  }
  cut();
  slices.push({ kind: 'month', month, pages: false, archive: true });
  return slices;
};

/**
 * Plans a full publish: reads every live event's summary once, newest first, counting the archive
 * and keeping each topic label's newest, and cuts the work into slices. Holds the counts (a few
 * numbers per day, and per tag and month), never the events.
 */
export const planJob = async (
  deps: Pick<PublishDeps, 'store' | 'site'>,
  job: string,
  plannedAt: Date,
): Promise<JobPlan> => {
  const counts = emptyCounts();
  const topicHeads: Record<string, EventSummary[]> = {};
  const headSize = Math.max(TOPIC_PAGE_SIZE, deps.site.feedSize);
  const tagHeadSize = Math.max(TAG_PAGE_SIZE, RELATED_CANDIDATES_PER_TAG, deps.site.feedSize);
  const tagHeads: Record<string, number[]> = {};
  const headEvents: EventSummary[] = [];
  // The summaries kept share their tags, as the workers' copies of the plan do.
  const compact = summaryCompactor();
  const named = deps.store.listTagNames();
  named.catch(() => undefined);
  let events = 0;
  let last: string | undefined;
  const walk = mergeShards((shard, page) => deps.store.listMonthSummaries(shard, page), PLAN_PAGE);
  for await (const summary of walk) {
    // Listed twice under the same date (read while it was written) it is next to itself: counted
    // once. An event whose date changed while the plan read is counted under both, until the
    // change's marks have the next incremental run count its months again.
    if (summary.id === last) continue;
    last = summary.id;
    events++;
    countEvent(counts, summary);
    let position: number | undefined;
    for (const tag of summary.tags) {
      const heads = tagHeads[tag.slug] ?? [];
      tagHeads[tag.slug] = heads;
      if (heads.length >= tagHeadSize) continue;
      if (position === undefined) position = headEvents.push(compact(summary)) - 1;
      heads.push(position);
    }
    if (summary.topic) {
      const { slug } = topicScope(summary.topic);
      if (slug === '') continue;
      const heads = topicHeads[slug] ?? [];
      topicHeads[slug] = heads;
      if (heads.length < headSize) heads.push(compact(summary));
    }
  }
  const byMonth = new Map<string, [string, number][]>();
  for (const day of keysOf(counts.days).reverse()) {
    const month = monthOf(day);
    const days = byMonth.get(month) ?? [];
    byMonth.set(month, days);
    days.push([day, counts.days[day] as number]);
  }
  const months = [...byMonth.entries()].flatMap(([month, days]) => monthSlices(month, days));
  // Tags with a summary and no live event are in a slice too: it removes their pages and feeds.
  // The others go by how far back their newest reach, so tags whose feeds list the same recent
  // events share a slice, and each of those events' items is rendered once for all of them.
  const reach = (slug: string) => tagHeads[slug]?.at(-1) ?? Number.POSITIVE_INFINITY;
  const slugs = [...new Set([...Object.keys(counts.tags), ...(await named).map((t) => t.slug)])].sort(
    (a, b) => reach(a) - reach(b) || (a < b ? -1 : a > b ? 1 : 0),
  );
  const tags: Slice[] = [];
  for (let i = 0; i < slugs.length; i += SLICE_TAGS)
    tags.push({ kind: 'tags', slugs: slugs.slice(i, i + SLICE_TAGS) });
  return {
    version: PLAN_VERSION,
    site: deps.site.siteUrl,
    job,
    plannedAt: plannedAt.toISOString(),
    renderVersion: RENDER_VERSION,
    events,
    counts,
    topicHeads,
    tagHeads,
    headEvents,
    phases: ([months, tags, [{ kind: 'site' }]] as Slice[][]).filter((phase) => phase.length > 0),
  };
};

/**
 * A summary as the plan is written: `[id, date, headline, tags (positions in the plan's table of
 * tags), publishedAt, updatedAt ("" when it is publishedAt), revision, topic?]`. Written as objects,
 * a summary's field names and its tags' slugs and names were half of the plan: 38 MB at 100,000
 * events, written by the planner and read by every worker.
 */
type StoredSummary = [string, string, string, number[], string, string, number, string?];

/** The plan as written (`writePlan`): its summaries as `StoredSummary`, and its tags once. */
interface StoredPlan extends Omit<JobPlan, 'headEvents' | 'topicHeads'> {
  tags: [slug: string, name: string][];
  headEvents: StoredSummary[];
  topicHeads: Record<string, StoredSummary[]>;
}

/** A tag as one key: its slug and its name (a tag renamed meanwhile is another). */
const tagKey = ({ slug, name }: Tag): string => `${slug}\u0000${name}`;

const storedPlanOf = (plan: JobPlan): StoredPlan => {
  const tags: [string, string][] = [];
  const positions = new Map<string, number>();
  const positionOf = (tag: Tag): number => {
    const key = tagKey(tag);
    let at = positions.get(key);
    if (at === undefined) {
      at = tags.push([tag.slug, tag.name]) - 1;
      positions.set(key, at);
    }
    return at;
  };
  const store = (e: EventSummary): StoredSummary => {
    const stored: StoredSummary = [
      e.id,
      e.date,
      e.headline,
      e.tags.map(positionOf),
      e.publishedAt,
      e.updatedAt === e.publishedAt ? '' : e.updatedAt,
      e.revision,
    ];
    if (e.topic !== undefined) stored.push(e.topic);
    return stored;
  };
  return {
    ...plan,
    tags,
    headEvents: plan.headEvents.map(store),
    topicHeads: Object.fromEntries(
      Object.entries(plan.topicHeads).map(([slug, heads]) => [slug, heads.map(store)]),
    ),
  };
};

/** Gives back, for equal strings, the first one it was given: one copy of each day and label. */
const sharedStrings = (): ((value: string) => string) => {
  const strings = new Map<string, string>();
  return (value) => {
    const known = strings.get(value);
    if (known !== undefined) return known;
    strings.set(value, value);
    return value;
  };
};

/**
 * The plan from what was written, or undefined when it does not hold together. Its summaries share
 * one object per tag and one string per day and topic label: parsed as objects, each summary had
 * copies of its own, and its four tags were three fifths of a plan's heap in a worker (24.5 MB
 * against 9.5 MB at 25,000 events, measured).
 */
const planOf = (stored: StoredPlan): JobPlan | undefined => {
  if (
    !Array.isArray(stored.tags) ||
    !Array.isArray(stored.headEvents) ||
    typeof stored.topicHeads !== 'object' ||
    !Array.isArray(stored.phases) ||
    typeof stored.tagHeads !== 'object' ||
    typeof stored.counts !== 'object'
  )
    return undefined;
  const tags: Tag[] = stored.tags.map(([slug, name]) => ({ slug, name }));
  const share = sharedStrings();
  let whole = true;
  const summaryOf = (stored: StoredSummary): EventSummary => {
    const [id, date, headline, positions, publishedAt, updatedAt, revision, topic] = stored;
    const ofTags = Array.isArray(positions) ? positions.map((at) => tags[at]) : [];
    if (
      typeof id !== 'string' ||
      typeof date !== 'string' ||
      typeof headline !== 'string' ||
      !ofTags.every((tag) => tag !== undefined) ||
      typeof publishedAt !== 'string' ||
      typeof updatedAt !== 'string' ||
      typeof revision !== 'number'
    )
      whole = false;
    return {
      id,
      date: share(date),
      headline,
      tags: ofTags as Tag[],
      publishedAt,
      updatedAt: updatedAt === '' ? publishedAt : updatedAt,
      revision,
      ...(typeof topic === 'string' ? { topic: share(topic) } : {}),
    };
  };
  const { tags: _table, headEvents, topicHeads, ...rest } = stored;
  const plan: JobPlan = {
    ...rest,
    headEvents: headEvents.map(summaryOf),
    topicHeads: Object.fromEntries(
      Object.entries(topicHeads).map(([slug, heads]) => [
        slug,
        Array.isArray(heads) ? heads.map(summaryOf) : [],
      ]),
    ),
  };
  return whole ? plan : undefined;
};

/** The plan as it is written (`StoredSummary`). */
export const planText = (plan: JobPlan): string => JSON.stringify(storedPlanOf(plan));

export const writePlan = (objects: ObjectStore, plan: JobPlan): Promise<boolean> =>
  objects.putIfChanged(planKey(plan.job), planText(plan), 'application/json');

/** A job's plan as written, or undefined (none, another version or site, or unreadable). */
export const readPlan = async (
  objects: ObjectStore,
  site: SiteConfig,
  job: string,
): Promise<JobPlan | undefined> => {
  const stored = parseRecord<StoredPlan>(await objects.get(planKey(job)), PLAN_VERSION, site.siteUrl);
  return stored && stored.job === job ? planOf(stored) : undefined;
};

/**
 * Summaries made to share one object per tag (slug and name) and one string per day and topic label
 * with every other summary given to the same `compact`: the planner keeps its summaries so (listed,
 * each has copies of its own), as workers read them (`planOf`).
 */
const summaryCompactor = (): ((summary: EventSummary) => EventSummary) => {
  const tags = new Map<string, Tag>();
  const share = sharedStrings();
  return (summary) => {
    summary.tags = summary.tags.map((tag) => {
      const key = tagKey(tag);
      const known = tags.get(key);
      if (known) return known;
      tags.set(key, tag);
      return tag;
    });
    summary.date = share(summary.date);
    if (summary.topic !== undefined) summary.topic = share(summary.topic);
    return summary;
  };
};

/**
 * A slice's size: the events of a `month` slice (its days' for its pages, the month's for its
 * archive), the tags of a `tags` slice, 1 for the site.
 */
export const sliceSize = (plan: Pick<JobPlan, 'counts'>, slice: Slice): number => {
  if (slice.kind === 'site') return 1;
  if (slice.kind === 'tags') return slice.slugs.length;
  let events = 0;
  for (const [day, n] of Object.entries(plan.counts.days))
    if (
      day.startsWith(slice.month) &&
      (slice.archive || ((slice.from ?? '') <= day && day <= (slice.to ?? '\uffff')))
    )
      events += n;
  return events;
};

/** The slices of a plan in order, numbered as the job's messages name them, with their phase. */
export const slicesOf = (
  plan: Pick<JobPlan, 'phases'>,
): { slice: Slice; phase: number; number: number }[] => {
  let number = 0;
  return plan.phases.flatMap((slices, phase) => slices.map((slice) => ({ slice, phase, number: number++ })));
};
