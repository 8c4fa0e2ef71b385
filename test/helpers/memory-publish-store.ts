import type { Page, PageRequest } from '../../shared/adapters/event-store.js';
import type { NewsEvent, StoredEvent } from '../../shared/domain/event.js';
import { type EventSummary, latestFirst } from '../../shared/domain/related.js';
import type { PublishDeps } from '../../shared/services/publish.js';

/**
 * What a publish reads, from events in memory: for unit tests of the publisher's logic over cases a
 * real store seldom produces (an event listed twice, thousands of generated archives). One shard
 * of the latest index holds every event, in pages of `pageSize`; `twice` lists an event a second
 * time in its month (as when its date changed while the month was read). No marks.
 */
export const memoryPublishStore = (
  events: readonly NewsEvent[],
  options: { pageSize?: number; twice?: string } = {},
): PublishDeps['store'] => {
  const sorted = [...events].sort(latestFirst);
  const summary = (e: NewsEvent): EventSummary => {
    const { id, date, headline, tags, publishedAt, updatedAt, revision, topic } = e;
    return { id, date, headline, tags, publishedAt, updatedAt, revision, ...(topic ? { topic } : {}) };
  };
  const paged = <T>(all: readonly T[], page: PageRequest): Page<T> => {
    const size = Math.min(page.limit, options.pageSize ?? page.limit);
    const at = Number(page.cursor ?? 0);
    const items = all.slice(at, at + size);
    return { items, ...(at + size < all.length ? { cursor: String(at + size) } : {}) };
  };
  const ofMonth = (month?: string): NewsEvent[] => {
    const listed = sorted.filter((e) => month === undefined || e.date.startsWith(`${month}-`));
    const again = listed.findIndex((e) => e.id === options.twice);
    if (again >= 0) listed.splice(again + 1, 0, listed[again] as NewsEvent);
    return listed;
  };
  const ofTag = (slug: string) => sorted.filter((e) => e.tags.some((t) => t.slug === slug));
  const tags = () => {
    const counts = new Map<string, { slug: string; name: string; count: number }>();
    for (const e of sorted)
      for (const t of e.tags) {
        const known = counts.get(t.slug) ?? { slug: t.slug, name: t.name, count: 0 };
        known.count++;
        counts.set(t.slug, known);
      }
    return [...counts.values()];
  };
  const store = {
    listMarks: async () => [],
    walkMarks: async function* () {},
    clearMarks: async () => undefined,
    listTags: async () => tags(),
    listTagNames: async () => tags().map(({ slug, name }) => ({ slug, name })),
    recountTag: async (slug: string) => ofTag(slug).length,
    listLatestShard: async (shard: number, page: PageRequest, month?: string) =>
      shard === 0 ? paged(ofMonth(month), page) : { items: [] },
    listMonthSummaries: async (shard: number, page: PageRequest, month?: string) => {
      const read = shard === 0 ? paged(ofMonth(month), page) : { items: [] };
      return { ...read, items: read.items.map(summary) };
    },
    listTagSummaries: async (slug: string, page: PageRequest) => {
      const read = paged(ofTag(slug), page);
      return { ...read, items: read.items.map(summary) };
    },
    listLatest: async (page: PageRequest) => paged(sorted, page),
    getEventsNow: async (ids: readonly string[]) =>
      new Map<string, StoredEvent>(sorted.filter((e) => ids.includes(e.id)).map((e) => [e.id, e])),
  };
  return store as unknown as PublishDeps['store'];
};
