import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { makeFolderObjectStore } from '../../local/site-folder.js';
import { eventIdFor } from '../../shared/domain/event.js';
import { defaultSiteConfig, type SiteConfig } from '../../shared/domain/site.js';
import { publishAll, publishMarked } from '../../shared/services/publish.js';
import { makeEventInput } from '../helpers/builders.js';
import { driftCount } from '../helpers/drift.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { snapshot, tempFolders } from '../helpers/site-files.js';

let rt: TestRuntime;
let site: SiteConfig;
const folders = tempFolders('tidings-site-');
const newFolder = folders.make;

// Tags of very different sizes: "Common" is on every event (more than the 50 "Related" looks at per
// tag and the feed holds), "Rare" on a few; names spelled differently by different events.
const TAGS = ['Common', 'Politics', 'Energy', 'Rare', 'Île-de-France'];
const inputs = Array.from({ length: 64 }, (_, i) =>
  makeEventInput({
    date: `2016-11-${String((i % 6) + 10).padStart(2, '0')}`,
    headline: `Full publish event ${i} about “things” & more`,
    body: `Paragraph one of event ${i}.\n\nParagraph two, with an ampersand & a quote “here”.`,
    topic: i % 4 === 0 ? undefined : `Topic ${i % 3}`,
    tags: [i % 2 === 0 ? 'Common' : 'COMMON', ...TAGS.slice(1).filter((_, k) => (i + k) % (k + 2) === 0)],
  }),
);

beforeAll(async () => {
  rt = await startTestRuntime();
  // A small feed, so feeds are cut and an event is in some feeds but not others.
  site = { ...defaultSiteConfig(rt.url), feedSize: 7 };
  for (let i = 0; i < inputs.length; i += 25) {
    const res = await rt.write('POST', '/api/events/batch', { events: inputs.slice(i, i + 25) });
    expect(res.status).toBe(200);
  }
  // A correction and a deletion, so the store holds a later revision and a tombstone.
  const idOf = (input: Record<string, unknown>) => eventIdFor(String(input.date), String(input.headline));
  const corrected = inputs[5] as Record<string, unknown>;
  const put = await rt.write('PUT', `/api/events/${idOf(corrected)}`, {
    ...corrected,
    headline: 'Corrected headline',
  });
  expect(put.status).toBe(200);
  expect((await rt.write('DELETE', `/api/events/${idOf(inputs[6] as Record<string, unknown>)}`)).status).toBe(
    200,
  );
  await rt.capture.idle();
}, 120_000);

afterAll(async () => {
  await rt.dispose();
  folders.removeAll();
});

/** The files of a site that an incremental run must leave as a full publish writes them. */
const listings = (files: Map<string, string>) =>
  new Map([...files].filter(([key]) => !/^news\/\d{4}\/\d\d\/\d\d\/[^/]+\.(html|json|xml)$/.test(key)));

describe('a full publish', () => {
  it('writes exactly what publishing every change incrementally writes, byte for byte', async () => {
    const incremental = newFolder();
    const marked = await publishMarked({
      store: rt.store,
      objects: makeFolderObjectStore(incremental),
      site,
    });
    expect(marked.failed).toBe(0);
    const full = newFolder();
    const report = await publishAll({ store: rt.store, objects: makeFolderObjectStore(full), site });
    expect(report.failed).toBe(0);

    const expected = snapshot(incremental);
    const actual = snapshot(full);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    const differing = [...expected].filter(([key, bytes]) => actual.get(key) !== bytes).map(([key]) => key);
    expect(differing).toEqual([]);
    // 63 live events in three formats, their days, five tags with a page, three feeds and the record
    // of their items each, the site's pages (404 included), feeds and record, and the tag counts.
    // The archive: one month, its archive documents (site, five tags, three topic labels) in Atom
    // and RSS, the topic labels' pages, feeds and records of their items, the topics index, the
    // month's and year's pages, the counts and the record of the site document's items.
    expect(actual.size).toBe(63 * 3 + 6 + 5 * 5 + 8 + 1 + (1 + 5 + 3) * 2 + 3 * 5 + 1 + 2 + 2);
    expect(report.written).toBe(actual.size);
    expect(actual.get('feeds/tags/common.rss')?.match(/<item>/g)).toHaveLength(7);
    expect(actual.get('tags/common.html')).toContain('63 events');
  });

  it('leaves every object alone when run again', async () => {
    const folder = newFolder();
    const objects = makeFolderObjectStore(folder);
    await publishAll({ store: rt.store, objects, site });
    const before = snapshot(folder);
    const again = await publishAll({ store: rt.store, objects, site });
    expect(again).toMatchObject({ written: 0, unchanged: before.size, removed: 0 });
    // A fresh store (another process) finds the same files unchanged.
    const fresh = await publishAll({ store: rt.store, objects: makeFolderObjectStore(folder), site });
    expect(fresh).toMatchObject({ written: 0, unchanged: before.size });
  });

  it('settles tag counts that drifted, and drops summaries of tags no event has', async () => {
    const exact = (await rt.store.getTag('rare'))?.count;
    expect(exact).toBeGreaterThan(0);
    await driftCount(rt.dynamodbEndpoint, LOCAL_TABLE, rt.store, 'rare', 'Rare', 3);
    await driftCount(rt.dynamodbEndpoint, LOCAL_TABLE, rt.store, 'ghost', 'Ghost', 2);
    const folder = newFolder();
    await publishAll({ store: rt.store, objects: makeFolderObjectStore(folder), site });
    expect((await rt.store.getTag('rare'))?.count).toBe(exact);
    expect(await rt.store.getTag('ghost')).toBeUndefined();
    const index = snapshot(folder).get('tags/index.html') ?? '';
    expect(index).toContain(`Rare</a> <span class="count">(${exact})</span>`);
    expect(index).not.toContain('Ghost');
  });

  it('clears the marks that were there when it started', async () => {
    await rt.write('POST', '/api/events', makeEventInput({ headline: 'One more event', tags: ['Rare'] }));
    await rt.capture.idle();
    expect((await rt.store.listMarks('event')).length).toBeGreaterThan(0);
    const report = await publishAll({ store: rt.store, objects: makeFolderObjectStore(newFolder()), site });
    expect(report.marksCleared).toBeGreaterThanOrEqual(4);
    for (const kind of ['event', 'day', 'tag', 'site'] as const)
      expect(await rt.store.listMarks(kind)).toEqual([]);
  });
});

describe('feeds of an incremental run', () => {
  let folder: string;
  beforeAll(async () => {
    folder = newFolder();
    await publishAll({ store: rt.store, objects: makeFolderObjectStore(folder), site });
  });

  it('take unchanged items from the feed as last written rather than writing them again', async () => {
    // An item of an unchanged event, altered in the files as written: only reuse keeps the change.
    const feed = join(folder, 'feeds/tags/rare.rss');
    const before = readFileSync(feed, 'utf8');
    const old = /<title><!\[CDATA\[(Full publish event \d+ about[^\]]*)\]\]><\/title>/.exec(before)?.[1];
    expect(old).toBeDefined();
    writeFileSync(feed, before.replace(`<![CDATA[${old}]]>`, '<![CDATA[Kept as written]]>'));
    await rt.write(
      'POST',
      '/api/events',
      makeEventInput({ date: '2016-11-20', headline: 'Rare news', tags: ['Rare'] }),
    );
    await rt.capture.idle();
    await publishMarked({ store: rt.store, objects: makeFolderObjectStore(folder), site });
    const after = readFileSync(feed, 'utf8');
    expect(after).toContain('Rare news');
    expect(after).toContain('Kept as written');
  });

  it('equal a full publish after new, corrected and deleted events', async () => {
    const objects = makeFolderObjectStore(folder);
    // A clean start, then changes published incrementally.
    await publishAll({ store: rt.store, objects: makeFolderObjectStore(newFolder()), site });
    rmSync(folder, { recursive: true, force: true });
    await publishAll({ store: rt.store, objects, site });
    const idOf = (input: Record<string, unknown>) => eventIdFor(String(input.date), String(input.headline));
    // Both among the newest of "Common", so in its feed.
    const target = inputs[59] as Record<string, unknown>;
    expect(
      (await rt.write('PUT', `/api/events/${idOf(target)}`, { ...target, body: 'Corrected body.' })).status,
    ).toBe(200);
    // In the feed of "Île-de-France" only (older than what the site's and Common's feeds hold).
    const older = inputs[62] as Record<string, unknown>;
    expect(
      (await rt.write('PUT', `/api/events/${idOf(older)}`, { ...older, body: 'Older, corrected.' })).status,
    ).toBe(200);
    expect(
      (await rt.write('DELETE', `/api/events/${idOf(inputs[53] as Record<string, unknown>)}`)).status,
    ).toBe(200);
    for (const name of ['Fresh one', 'Fresh two'])
      await rt.write(
        'POST',
        '/api/events',
        makeEventInput({ date: '2016-11-21', headline: name, tags: ['Common', 'Energy'] }),
      );
    await rt.capture.idle();
    // A record from another site, so that feed's items are all written again.
    const record = join(folder, '_publish/feeds/tags/energy.json');
    writeFileSync(record, readFileSync(record, 'utf8').replace(rt.url, 'https://elsewhere.example'));
    await publishMarked({ store: rt.store, objects, site });

    const full = newFolder();
    await publishAll({ store: rt.store, objects: makeFolderObjectStore(full), site });
    const expected = listings(snapshot(full));
    const actual = listings(snapshot(folder));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    expect([...expected].filter(([key, bytes]) => actual.get(key) !== bytes).map(([key]) => key)).toEqual([]);
    expect(actual.get('feeds/tags/common.json')).toContain('Corrected body.');
    expect(actual.get('feeds/tags/ile-de-france.rss')).toContain('Older, corrected.');
    expect(actual.get('feeds/all.rss')).not.toContain('Older, corrected.');
    expect(actual.get('feeds/tags/common.atom')).toContain('Fresh two');
    expect(actual.get('feeds/tags/common.rss')).not.toContain(idOf(inputs[53] as Record<string, unknown>));
  });
});
