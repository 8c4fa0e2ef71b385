import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFolderObjectStore } from '../../local/site-folder.js';
import { defaultSiteConfig, type SiteConfig } from '../../shared/domain/site.js';
import { type PublishDeps, publishAll, publishMarked } from '../../shared/services/publish.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { snapshot, tempFolders } from '../helpers/site-files.js';

// The archive kept by incremental runs over several months and years equals what a full publish
// writes, byte for byte, while a change reads and rewrites only its month and the neighbours whose
// links it changes.

let rt: TestRuntime;
let site: SiteConfig;
let folder: string;
const folders = tempFolders('tidings-archive-');
const newFolder = folders.make;

/** What must match a full publish: all but event pages, whose "Related" lists an incremental run leaves. */
const listings = (files: Map<string, string>) =>
  new Map([...files].filter(([key]) => !/^news\/\d{4}\/\d\d\/\d\d\/[^/]+\.(html|json|xml)$/.test(key)));

const changedBetween = (before: Map<string, string>, after: Map<string, string>): string[] =>
  [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)).sort();

const post = async (input: Record<string, unknown>): Promise<string> => {
  const res = await rt.write('POST', '/api/events', makeEventInput(input));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
};

/** The store, counting the months read from the latest index. */
const counting = () => {
  const months: string[] = [];
  const store: PublishDeps['store'] = {
    ...rt.store,
    listMonthSummaries: (shard, page, month) => {
      if (shard === 0 && page.cursor === undefined) months.push(month ?? 'every month');
      return rt.store.listMonthSummaries(shard, page, month);
    },
  };
  return { store, months };
};

const expectSameAsFull = async () => {
  const full = newFolder();
  const report = await publishAll({ store: rt.store, objects: makeFolderObjectStore(full), site });
  expect(report.failed).toBe(0);
  const expected = listings(snapshot(full));
  const actual = listings(snapshot(folder));
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  expect([...expected].filter(([key, bytes]) => actual.get(key) !== bytes).map(([key]) => key)).toEqual([]);
};

let lonely: string;

beforeAll(async () => {
  rt = await startTestRuntime();
  site = { ...defaultSiteConfig(rt.url), feedSize: 3 };
  folder = newFolder();
  await post({ date: '2016-09-05', headline: 'September alpha', tags: ['Alpha'], topic: 'Politics' });
  await post({ date: '2016-11-02', headline: 'November alpha', tags: ['Alpha', 'Beta'], topic: 'Politics' });
  await post({ date: '2016-11-20', headline: 'November beta', tags: ['Beta'], topic: 'Disasters' });
  lonely = await post({ date: '2017-01-10', headline: 'January beta', tags: ['Beta'], topic: 'Disasters' });
  await rt.capture.idle();
  const report = await publishMarked({ store: rt.store, objects: makeFolderObjectStore(folder), site });
  expect(report.failed).toBe(0);
}, 120_000);

afterAll(async () => {
  await rt.dispose();
  folders.removeAll();
});

describe('the archive, published incrementally', () => {
  it('starts as a full publish would write it', async () => {
    await expectSameAsFull();
    const files = snapshot(folder);
    expect(files.get('news/2016/index.html')).toContain('2016-11</time></a> <span class="count">(2)</span>');
    expect(files.get('news/2016/11/02/index.html')).toContain('rel="prev">← 2016-09-05</a>');
    expect(files.get('feeds/archive/tags/alpha/2016-11.atom')).toContain(
      `<link rel="prev-archive" type="application/atom+xml" href="${rt.url}/feeds/archive/tags/alpha/2016-09.atom"/>`,
    );
  });

  it('relinks the neighbours of a month that appears, and reads only the months involved', async () => {
    const before = snapshot(folder);
    await post({ date: '2016-10-15', headline: 'October alpha', tags: ['Alpha'], topic: 'Politics' });
    await rt.capture.idle();
    const { store, months } = counting();
    const report = await publishMarked({ store, objects: makeFolderObjectStore(folder), site });
    expect(report.failed).toBe(0);
    // Its month, and the site's neighbours whose links change (Alpha's are read from its entries).
    expect(months.sort()).toEqual(['2016-09', '2016-10', '2016-11']);
    const changed = changedBetween(before, snapshot(folder)).filter((key) =>
      key.startsWith('feeds/archive/'),
    );
    expect(changed).toEqual(
      ['all', 'tags/alpha', 'topics/politics']
        .flatMap((scope) => ['2016-09', '2016-10', '2016-11'].map((m) => `feeds/archive/${scope}/${m}`))
        .flatMap((doc) => ['atom', 'rss'].map((f) => `${doc}.${f}`))
        .sort(),
    );
    await expectSameAsFull();
  });

  it('removes a month that loses its last event, and relinks what was around it', async () => {
    expect((await rt.write('DELETE', `/api/events/${lonely}`)).status).toBe(200);
    await rt.capture.idle();
    const report = await publishMarked({ store: rt.store, objects: makeFolderObjectStore(folder), site });
    expect(report.failed).toBe(0);
    const files = snapshot(folder);
    expect(files.has('feeds/archive/all/2017-01.atom')).toBe(false);
    expect(files.has('news/2017/01/index.html')).toBe(false);
    expect(files.has('news/2017/index.html')).toBe(false);
    expect(files.get('feeds/archive/tags/beta/2016-11.rss')).not.toContain('next-archive');
    await expectSameAsFull();
  });

  it("takes the items of a month's unchanged events from its document as written", async () => {
    // An item of an unchanged event, altered in the site's document as written: only reuse keeps it.
    const doc = join(folder, 'feeds/archive/all/2016-11.rss');
    const before = readFileSync(doc, 'utf8');
    expect(before).toContain('<![CDATA[November alpha]]>');
    writeFileSync(doc, before.replace('<![CDATA[November alpha]]>', '<![CDATA[Kept as written]]>'));
    await post({ date: '2016-11-25', headline: 'November gamma', tags: ['Gamma'], topic: 'Politics' });
    await rt.capture.idle();
    const report = await publishMarked({ store: rt.store, objects: makeFolderObjectStore(folder), site });
    expect(report.failed).toBe(0);
    const after = readFileSync(doc, 'utf8');
    expect(after).toContain('November gamma');
    expect(after).toContain('Kept as written');
    // Every other document of the month takes it from there too.
    expect(readFileSync(join(folder, 'feeds/archive/topics/politics/2016-11.rss'), 'utf8')).toContain(
      'Kept as written',
    );
    // Put back as a full publish writes it, for the tests after this one.
    await publishAll({ store: rt.store, objects: makeFolderObjectStore(folder), site });
    expect(readFileSync(doc, 'utf8')).not.toContain('Kept as written');
  });

  it('moves an event to another topic label: both labels rebuilt, the emptied one removed', async () => {
    const id = '2016/11/20/november-beta';
    const stored = (await rt.store.getEvent(id)) as { revision: number };
    expect(stored).toBeDefined();
    const res = await rt.write(
      'PUT',
      `/api/events/${id}`,
      makeEventInput({ date: '2016-11-20', headline: 'November beta', tags: ['Beta'], topic: 'Politics' }),
    );
    expect(res.status).toBe(200);
    await rt.capture.idle();
    const report = await publishMarked({ store: rt.store, objects: makeFolderObjectStore(folder), site });
    expect(report.failed).toBe(0);
    const files = snapshot(folder);
    expect(files.has('topics/disasters.html')).toBe(false);
    expect(files.has('feeds/topics/disasters.rss')).toBe(false);
    expect(files.has('feeds/archive/topics/disasters/2016-11.rss')).toBe(false);
    expect(files.get('feeds/archive/topics/politics/2016-11.rss')).toContain('November beta');
    await expectSameAsFull();
  });

  it("names a month's documents as that month's newest event spells the tag", async () => {
    await post({ date: '2016-09-20', headline: 'September shouting', tags: ['ALPHA'], topic: 'Politics' });
    await rt.capture.idle();
    const report = await publishMarked({ store: rt.store, objects: makeFolderObjectStore(folder), site });
    expect(report.failed).toBe(0);
    const files = snapshot(folder);
    expect(files.get('feeds/archive/tags/alpha/2016-09.atom')).toContain(
      '<title>Tidings: ALPHA (2016-09)</title>',
    );
    expect(files.get('feeds/archive/tags/alpha/2016-11.atom')).toContain(
      '<title>Tidings: Alpha (2016-11)</title>',
    );
    await expectSameAsFull();
  });

  it('reads a month from the latest index: its events only, and a month spelled otherwise is refused', async () => {
    const months = new Set<string>();
    for (let shard = 0; shard < 8; shard++)
      for (const event of (await rt.store.listLatestShard(shard, { limit: 100 }, '2016-11')).items)
        months.add(event.date.slice(0, 7));
    expect([...months]).toEqual(['2016-11']);
    await expect(rt.store.listLatestShard(0, { limit: 1 }, '2016-1')).rejects.toThrow(RangeError);
  });

  it('leaves the archive to a full publish on a site published before it existed', async () => {
    const old = newFolder();
    // A site published before: it has pages, but no counts of its history.
    writeFileSync(join(old, 'index.html'), '<!DOCTYPE html>');
    await post({ date: '2016-12-01', headline: 'December alpha', tags: ['Alpha'], topic: 'Politics' });
    await rt.capture.idle();
    const report = await publishMarked({ store: rt.store, objects: makeFolderObjectStore(old), site });
    expect(report.failed).toBe(0);
    const files = snapshot(old);
    expect(files.get('feeds/tags/alpha.rss')).toContain('December alpha');
    expect([...files.keys()].filter((key) => key.includes('archive'))).toEqual([]);
    await publishAll({ store: rt.store, objects: makeFolderObjectStore(old), site });
    expect(snapshot(old).get('feeds/archive/all/2016-12.atom')).toContain('December alpha');
  });
});
