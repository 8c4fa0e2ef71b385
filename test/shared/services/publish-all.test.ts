import { describe, expect, it } from 'vitest';
import type { ObjectBody, ObjectStore } from '../../../shared/adapters/object-store.js';
import type { NewsEvent } from '../../../shared/domain/event.js';
import { defaultSiteConfig } from '../../../shared/domain/site.js';
import { type PublishDeps, publishAll } from '../../../shared/services/publish.js';
import { makeNewsEvent } from '../../helpers/builders.js';

// A full publish with the store stubbed out: the walk gets exactly the pages given, so the cases a
// store seldom produces (an event met twice, the order of writes) can be set up.

/** Events newest first in the walk's order (same date, ids descending). */
const events = (count: number, tagsOf: (i: number) => string[]): NewsEvent[] =>
  Array.from({ length: count }, (_, i) =>
    makeNewsEvent(999 - i, tagsOf(i), { id: `2026/11/27/event-${String(999 - i).padStart(4, '0')}` }),
  );

const publishWith = async (pages: NewsEvent[][], feedSize: number) => {
  const files = new Map<string, string>();
  const order: string[] = [];
  const objects: ObjectStore = {
    async putIfChanged(key: string, body: ObjectBody) {
      const text = typeof body === 'string' ? body : body.join('');
      const before = files.get(key);
      files.set(key, text);
      order.push(key);
      return before !== text;
    },
    remove: async (key) => files.delete(key),
    get: async (key) => (files.has(key) ? Buffer.from(files.get(key) as string) : undefined),
  };
  const store = {
    listMarks: async () => [],
    clearMarks: async () => undefined,
    listTags: async () => [],
    recountTag: async () => 0,
    // One shard holds every event, in the pages given; the others are empty.
    listLatestShard: async (shard: number, page: { cursor?: string }) => {
      if (shard !== 0) return { items: [] };
      const at = Number(page.cursor ?? 0);
      return { items: pages[at] ?? [], ...(at + 1 < pages.length ? { cursor: String(at + 1) } : {}) };
    },
  } as unknown as PublishDeps['store'];
  const site = { ...defaultSiteConfig('https://news.example.org'), feedSize };
  const report = await publishAll({ store, objects, site });
  return { files, order, report };
};

const jsonItems = (files: Map<string, string>, key: string): string[] =>
  (JSON.parse(files.get(key) ?? '{"items":[]}') as { items: { id: string }[] }).items.map((i) => i.id);

describe('publishAll', () => {
  it('writes the site feeds empty when no event is live, so older ones do not stay up', async () => {
    const { files, report } = await publishWith([[]], 5);
    expect(report.failed).toBe(0);
    for (const format of ['rss', 'atom', 'json']) expect(files.has(`feeds/all.${format}`), format).toBe(true);
    expect(jsonItems(files, 'feeds/all.json')).toEqual([]);
    expect(files.get('feeds/all.rss')).not.toContain('<item>');
    expect(files.get('feeds/all.atom')).not.toContain('<entry>');
  });

  it('places an event the walk meets twice in a row once, and publishes as if met once', async () => {
    const all = events(10, () => ['Alpha', 'Beta']);
    const once = await publishWith([all], 7);
    const twice = await publishWith([all.slice(0, 5), [all[4] as NewsEvent, ...all.slice(5)]], 7);
    expect(twice.report.failed).toBe(0);
    expect(jsonItems(twice.files, 'feeds/tags/alpha.json')).toHaveLength(7);
    expect([...twice.files.keys()].sort()).toEqual([...once.files.keys()].sort());
    for (const [key, text] of once.files) expect(twice.files.get(key), key).toBe(text);
  });

  it('does not lose an event met twice whose pages wait for a small tag', async () => {
    // 60 events on "Alpha" (more than "Related" reads per tag); one also on the rare "Zeta".
    const all = events(60, (i) => (i === 3 ? ['Alpha', 'Zeta'] : ['Alpha']));
    const { files, report } = await publishWith([all.slice(0, 4), all.slice(3)], 7);
    expect(report.failed).toBe(0);
    expect(jsonItems(files, 'feeds/tags/zeta.json')).toHaveLength(1);
    expect(files.has(`news/${all[3]?.id}.html`)).toBe(true);
  });

  it('writes no feed before the pages of the events it lists', async () => {
    // "Rare" has too few events for its pages' "Related" lists to be known before the walk ends,
    // while the site feed and "Common"'s fill up early.
    const all = events(70, (i) => (i % 10 === 0 ? ['Common', 'Rare'] : ['Common']));
    const { files, order } = await publishWith([all.slice(0, 30), all.slice(30)], 5);
    const feedKeys = [...files.keys()].filter((key) => key.startsWith('feeds/') && key.endsWith('.json'));
    // The subscription feeds (archive documents are Atom and RSS only).
    expect(feedKeys.sort()).toEqual(['feeds/all.json', 'feeds/tags/common.json', 'feeds/tags/rare.json']);
    for (const feed of feedKeys) {
      const written = order.indexOf(feed);
      for (const url of jsonItems(files, feed)) {
        const page = `${new URL(url).pathname.slice(1)}`;
        expect(order.indexOf(page), `${feed} lists ${page}`).toBeGreaterThanOrEqual(0);
        expect(order.indexOf(page), `${feed} lists ${page}`).toBeLessThan(written);
      }
    }
  });
});
