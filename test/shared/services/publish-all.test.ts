import { describe, expect, it } from 'vitest';
import type { ObjectBody, ObjectStore } from '../../../shared/adapters/object-store.js';
import type { NewsEvent } from '../../../shared/domain/event.js';
import { defaultSiteConfig } from '../../../shared/domain/site.js';
import { publishAll } from '../../../shared/services/publish.js';
import { makeNewsEvent } from '../../helpers/builders.js';
import { memoryPublishStore } from '../../helpers/memory-publish-store.js';

// A full publish over a store in memory, so the cases a store seldom produces (an event listed twice)
// can be set up, and the order of writes seen.

/** Events newest first (same date, ids descending). */
const events = (count: number, tagsOf: (i: number) => string[]): NewsEvent[] =>
  Array.from({ length: count }, (_, i) =>
    makeNewsEvent(999 - i, tagsOf(i), { id: `2026/11/27/event-${String(999 - i).padStart(4, '0')}` }),
  );

const publishWith = async (events: NewsEvent[], feedSize: number, twice?: string) => {
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
  const store = memoryPublishStore(events, { pageSize: 30, ...(twice ? { twice } : {}) });
  const site = { ...defaultSiteConfig('https://news.example.org'), feedSize };
  const report = await publishAll({ store, objects, site });
  return { files, order, report };
};

const jsonItems = (files: Map<string, string>, key: string): string[] =>
  (JSON.parse(files.get(key) ?? '{"items":[]}') as { items: { id: string }[] }).items.map((i) => i.id);

describe('publishAll', () => {
  it('writes the site feeds empty when no event is live, so older ones do not stay up', async () => {
    const { files, report } = await publishWith([], 5);
    expect(report.failed).toBe(0);
    for (const format of ['rss', 'atom', 'json']) expect(files.has(`feeds/all.${format}`), format).toBe(true);
    expect(jsonItems(files, 'feeds/all.json')).toEqual([]);
    expect(files.get('feeds/all.rss')).not.toContain('<item>');
    expect(files.get('feeds/all.atom')).not.toContain('<entry>');
  });

  it('places an event its month lists twice once, and publishes as if listed once', async () => {
    const all = events(10, () => ['Alpha', 'Beta']);
    const once = await publishWith(all, 7);
    const twice = await publishWith(all, 7, all[4]?.id);
    expect(twice.report.failed).toBe(0);
    expect(jsonItems(twice.files, 'feeds/tags/alpha.json')).toHaveLength(7);
    expect([...twice.files.keys()].sort()).toEqual([...once.files.keys()].sort());
    for (const [key, text] of once.files) expect(twice.files.get(key), key).toBe(text);
  });

  it('does not lose an event listed twice that has a small tag', async () => {
    // 60 events on "Alpha" (more than "Related" reads per tag); one also on the rare "Zeta".
    const all = events(60, (i) => (i === 3 ? ['Alpha', 'Zeta'] : ['Alpha']));
    const { files, report } = await publishWith(all, 7, all[3]?.id);
    expect(report.failed).toBe(0);
    expect(jsonItems(files, 'feeds/tags/zeta.json')).toHaveLength(1);
    expect(files.has(`news/${all[3]?.id}.html`)).toBe(true);
  });

  it('writes no feed before the pages of the events it lists', async () => {
    // Every event page (the month's slice) comes before any feed (the tags' and the site's slices).
    const all = events(70, (i) => (i % 10 === 0 ? ['Common', 'Rare'] : ['Common']));
    const { files, order } = await publishWith(all, 5);
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
