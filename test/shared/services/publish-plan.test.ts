import { describe, expect, it } from 'vitest';
import { bytesOf, type ObjectStore } from '../../../shared/adapters/object-store.js';
import type { NewsEvent } from '../../../shared/domain/event.js';
import { defaultSiteConfig } from '../../../shared/domain/site.js';
import { RENDER_VERSION } from '../../../shared/render/version.js';
import {
  planJob,
  planKey,
  readPlan,
  SLICE_EVENTS,
  SLICE_TAGS,
  type Slice,
  slicesOf,
  writePlan,
} from '../../../shared/services/publish-plan.js';
import { makeNewsEvent } from '../../helpers/builders.js';
import { memoryPublishStore } from '../../helpers/memory-publish-store.js';

// The plan of a full publish: the archive counted from one read of every event's summary, and the
// work cut into slices small enough for one worker each.

const site = { ...defaultSiteConfig('https://news.example.org'), feedSize: 20 };

/** `count` events on `date`, each on `tagsOf(i)`. */
const onDay = (date: string, count: number, tagsOf: (i: number) => string[], from = 0): NewsEvent[] =>
  Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return makeNewsEvent(i, tagsOf(i), {
      id: `${date.replaceAll('-', '/')}/event-${String(i).padStart(6, '0')}`,
      date,
      publishedAt: `${date}T10:00:00.000Z`,
      ...(i % 3 === 0 ? { topic: 'Elections' } : {}),
    });
  });

const plan = (events: NewsEvent[]) =>
  planJob(
    { store: memoryPublishStore(events, { pageSize: 500 }), site },
    'J',
    new Date('2026-12-06T12:00:00Z'),
  );

describe('the plan of a full publish', () => {
  it('counts the archive and keeps each topic label’s newest, with a slice per month, then tags, then the site', async () => {
    const events = [
      ...onDay('2026-10-03', 30, (i) => ['Alpha', i % 2 ? 'Beta' : 'Gamma']),
      ...onDay('2026-11-20', 40, () => ['Alpha'], 100),
    ];
    const p = await plan(events);
    expect(p).toMatchObject({
      job: 'J',
      events: 70,
      renderVersion: RENDER_VERSION,
      plannedAt: '2026-12-06T12:00:00.000Z',
    });
    expect(p.counts.days).toEqual({ '2026-10-03': 30, '2026-11-20': 40 });
    expect(p.counts.tags.alpha?.months).toEqual({ '2026-10': 30, '2026-11': 40 });
    expect(p.counts.tags.beta?.months).toEqual({ '2026-10': 15 });
    // Each tag's newest, as many as its page, feeds and "Related" read (50), newest first.
    const tagHeads = (slug: string) => (p.tagHeads[slug] ?? []).map((i) => p.headEvents[i]?.id);
    expect(tagHeads('alpha')).toHaveLength(50);
    expect(tagHeads('alpha')[0]).toBe(events.at(-1)?.id);
    expect(tagHeads('beta')).toEqual(
      events
        .filter((e) => e.tags.some((t) => t.slug === 'beta'))
        .map((e) => e.id)
        .reverse(),
    );
    // An event in several tags' heads is kept once.
    expect(new Set(p.headEvents.map((e) => e.id)).size).toBe(p.headEvents.length);
    // Newest first, as many as the label's page lists (50) or its feed holds.
    const heads = p.topicHeads.elections ?? [];
    expect(heads).toHaveLength(23);
    expect(heads[0]?.date).toBe('2026-11-20');
    expect(p.phases).toEqual<Slice[][]>([
      [
        { kind: 'month', month: '2026-11', pages: true, archive: true },
        { kind: 'month', month: '2026-10', pages: true, archive: true },
      ],
      [{ kind: 'tags', slugs: ['alpha', 'beta', 'gamma'] }],
      [{ kind: 'site' }],
    ]);
    expect(slicesOf(p).map((s) => [s.number, s.phase])).toEqual([
      [0, 0],
      [1, 0],
      [2, 1],
      [3, 2],
    ]);
  });

  it('reads back as written, each tag one object shared by every summary that has it', async () => {
    const events = onDay('2026-11-20', 60, (i) => ['Alpha', i % 2 ? 'Beta' : 'Gamma']);
    const files = new Map<string, Buffer>();
    const objects: ObjectStore = {
      writesInFlight: 1,
      putIfChanged: async (key, body) => {
        files.set(key, bytesOf(body));
        return true;
      },
      remove: async (key) => files.delete(key),
      get: async (key) => files.get(key),
    };
    const written = await plan(events);
    await writePlan(objects, written);
    const read = await readPlan(objects, site, 'J');
    expect(read).toEqual(JSON.parse(JSON.stringify(written)));
    const alphas = new Set(read?.headEvents.map((e) => e.tags.find((t) => t.slug === 'alpha')));
    expect(alphas.size).toBe(1);
    const labels = read?.topicHeads.elections ?? [];
    expect(labels.length).toBeGreaterThan(1);
    expect(labels[0]?.tags[0]).toBe(read?.headEvents.find((e) => e.id === labels[0]?.id)?.tags[0]);
    // Written compactly: each tag once, summaries without field names.
    const text = files.get(planKey('J'))?.toString() ?? '';
    expect(text).not.toContain('"slug"');
    expect(text).not.toContain('"headline"');
    // A summary naming a tag the plan does not have makes it unreadable, not half read.
    const stored = JSON.parse(text) as { headEvents: unknown[][] };
    (stored.headEvents[0] as unknown[])[3] = [99];
    files.set(planKey('J'), Buffer.from(JSON.stringify(stored)));
    expect(await readPlan(objects, site, 'J')).toBeUndefined();
  });

  it('cuts a busy month by days, and gives its archive a slice of its own', async () => {
    const half = Math.ceil(SLICE_EVENTS / 2) + 10;
    // Three days of a bit over half a slice each: no two fit in one slice.
    const events = ['2026-09-01', '2026-09-02', '2026-09-03'].flatMap((day, d) =>
      onDay(day, half, () => ['Alpha'], d * half),
    );
    const p = await plan(events);
    expect(p.phases[0]).toEqual<Slice[]>([
      { kind: 'month', month: '2026-09', from: '2026-09-03', to: '2026-09-03', pages: true, archive: false },
      { kind: 'month', month: '2026-09', from: '2026-09-02', to: '2026-09-02', pages: true, archive: false },
      { kind: 'month', month: '2026-09', from: '2026-09-01', to: '2026-09-01', pages: true, archive: false },
      { kind: 'month', month: '2026-09', pages: false, archive: true },
    ]);
  });

  it('groups tags by SLICE_TAGS, including tags no live event has any more (their pages are removed)', async () => {
    const tags = Array.from({ length: SLICE_TAGS + 5 }, (_, i) => `Tag ${String(i).padStart(3, '0')}`);
    const events = onDay('2026-08-08', tags.length, (i) => [tags[i] as string]);
    const store = memoryPublishStore(events);
    const listTagNames = store.listTagNames;
    store.listTagNames = async () => [...(await listTagNames()), { slug: 'zz-gone', name: 'Gone' }];
    const p = await planJob({ store, site }, 'J', new Date());
    const tagSlices = (p.phases[1] ?? []) as Extract<Slice, { kind: 'tags' }>[];
    expect(tagSlices.map((s) => s.slugs.length)).toEqual([SLICE_TAGS, 6]);
    expect(tagSlices[1]?.slugs.at(-1)).toBe('zz-gone');
  });

  it('orders tags by how far back their newest reach, so tags listing the same recent events share a slice', async () => {
    const events = [
      ...onDay('2026-01-10', 3, () => ['Aaa old']),
      ...onDay('2026-03-10', 3, () => ['Mmm mid'], 10),
      ...onDay('2026-05-10', 3, () => ['Zzz new', 'Bbb new'], 20),
    ];
    const p = await plan(events);
    expect(p.phases[1]).toEqual([{ kind: 'tags', slugs: ['bbb new', 'zzz new', 'mmm mid', 'aaa old'] }]);
  });

  it('plans an empty site as the site slice alone (its feeds are written empty)', async () => {
    const p = await plan([]);
    expect(p.phases).toEqual([[{ kind: 'site' }]]);
    expect(p.events).toBe(0);
  });
});
