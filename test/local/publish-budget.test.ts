import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFolderObjectStore } from '../../local/site-folder.js';
import type { ObjectStore } from '../../shared/adapters/object-store.js';
import { defaultSiteConfig, type SiteConfig } from '../../shared/domain/site.js';
import { type PublishReport, publishMarked } from '../../shared/services/publish.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { snapshot, tempFolders } from '../helpers/site-files.js';

// Incremental runs with a time budget, against the local runtime (dynalite, the change capture, a
// site folder). The clock is injected: it moves one tick for each object the run reads, writes or
// removes, so a budget is an amount of work and a run's length is measured without wall time.

let rt: TestRuntime;
let site: SiteConfig;
const folders = tempFolders('tidings-budget-');
const newFolder = folders.make;

/** A clock that moves one tick for each object read, written or removed through `objects`. */
const tickingSite = (folder: string) => {
  const inner = makeFolderObjectStore(folder);
  let now = 1_000_000;
  const tick = () => {
    now++;
  };
  const objects: ObjectStore = {
    putIfChanged: (key, body, type) => {
      tick();
      return inner.putIfChanged(key, body, type);
    },
    remove: (key) => {
      tick();
      return inner.remove(key);
    },
    get: (key) => {
      tick();
      return inner.get(key);
    },
  };
  return { objects, now: () => now };
};

/**
 * The site's own links in listings (home, tags, days, months, feeds) that lead to no page in the
 * folder: a listing must never link to an event page still in the backlog, nor a tag or the home
 * page to a day page. (A day page's links to its month's and topic labels' pages are the
 * archive's, which a backlog's new months and labels wait for.)
 */
const brokenLinks = (folder: string): string[] => {
  const files = snapshot(folder);
  const listing = (key: string) =>
    key === 'index.html' ||
    key.startsWith('tags/') ||
    /^news\/\d{4}\/(\d\d\/)?(\d\d\/)?index\.html$/.test(key) ||
    (key.startsWith('feeds/') && !key.startsWith('feeds/archive/'));
  const broken = new Set<string>();
  const base = site.siteUrl.replace(/\/$/, '');
  for (const [key, text] of files) {
    if (!listing(key)) continue;
    for (const match of text.matchAll(/(?:href="|<link>|<id>|"url": ")([^"<]+\.html)/g)) {
      const href = match[1] as string;
      const path = href.startsWith(base) ? href.slice(base.length + 1) : href.replace(/^\//, '');
      if (/^https?:/.test(path)) continue;
      const isDay = /^news\/\d{4}\/\d\d\/\d\d\/index\.html$/.test(key);
      if (isDay && (/^news\/\d{4}\/\d\d\/index\.html$/.test(path) || path.startsWith('topics/'))) continue;
      if (!existsSync(join(folder, path))) broken.add(`${key} -> ${path}`);
    }
  }
  return [...broken].sort();
};

const idOf = (date: string, headline: string) =>
  `${date.replaceAll('-', '/')}/${headline
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}`;

/** Posts events through the API, a hundred at a time, four at once, and waits for the stream to mark them. */
const postAll = async (events: Record<string, unknown>[]) => {
  const batches = Array.from({ length: Math.ceil(events.length / 100) }, (_, i) =>
    events.slice(i * 100, (i + 1) * 100),
  );
  for (let i = 0; i < batches.length; i += 4) {
    const statuses = await Promise.all(
      batches
        .slice(i, i + 4)
        .map(async (batch) => (await rt.write('POST', '/api/events/batch', { events: batch })).status),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
  }
  await rt.capture.idle();
};

/** n events over the days of a month of 2015, with a pool of tags. */
const backlog = (n: number, from: number, month = '2015-03') =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return makeEventInput({
      date: `${month}-${String((i % 28) + 1).padStart(2, '0')}`,
      headline: `Backlog event ${i} somewhere`,
      body: `Body of backlog event ${i}.`,
      topic: i % 3 === 0 ? undefined : `Subject ${i % 2}`,
      tags: [`Pool ${i % 7}`, `Pool ${(i + 3) % 11}`],
    });
  });

/** n events of 2014, a few a day over eight months (an imported history), with a pool of tags. */
const history = (n: number, from: number) =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const date = new Date(Date.UTC(2014, 0, 1) + (i % 240) * 86_400_000).toISOString().slice(0, 10);
    return makeEventInput({
      date,
      headline: `History event ${i} somewhere`,
      body: `Body of history event ${i}.`,
      topic: i % 3 === 0 ? undefined : `Subject ${i % 2}`,
      tags: [`Pool ${i % 7}`, `Pool ${(i + 3) % 11}`],
    });
  });

const marksLeft = async (): Promise<number> => {
  let count = 0;
  for (const kind of ['event', 'day', 'tag', 'site'] as const)
    count += (await rt.store.listMarks(kind)).length;
  return count;
};

/** Budgeted runs one after another until nothing is marked; each one's report and length. */
const drain = async (
  objects: ObjectStore,
  now: () => number,
  budget: number,
  eventChunk?: number,
  afterEach: () => void = () => undefined,
): Promise<{ report: PublishReport; ticks: number }[]> => {
  const runs: { report: PublishReport; ticks: number }[] = [];
  for (let i = 0; i < 200 && (await marksLeft()) > 0; i++) {
    const started = now();
    const report = await publishMarked(
      { store: rt.store, objects, site },
      { deadline: started + budget, now, ...(eventChunk ? { eventChunk } : {}) },
    );
    runs.push({ report, ticks: now() - started });
    afterEach();
  }
  return runs;
};

/**
 * What one incremental run without a budget writes over a copy of the folder, from the marks there
 * are now, which it leaves for the runs under test.
 */
const oneRun = async (folder: string): Promise<Map<string, string>> => {
  const copy = newFolder();
  cpSync(folder, copy, { recursive: true });
  const report = await publishMarked(
    { store: { ...rt.store, clearMarks: async () => undefined }, objects: makeFolderObjectStore(copy), site },
    { deadline: Date.now() + 3_600_000, eventChunk: 1_000_000, archiveMonths: Number.POSITIVE_INFINITY },
  );
  expect(report).toMatchObject({ failed: 0, marksDeferred: 0 });
  return snapshot(copy);
};

/** A site's files but event pages. */
const listings = (files: Map<string, string>) =>
  new Map(
    [...files].filter(
      ([key]) =>
        !/^news\/\d{4}\/\d\d\/\d\d\/[^/]+\.(html|json|xml)$/.test(key) || key.endsWith('/index.html'),
    ),
  );

const differences = (actual: Map<string, string>, expected: Map<string, string>): string[] =>
  [...new Set([...actual.keys(), ...expected.keys()])]
    .filter((k) => actual.get(k) !== expected.get(k))
    .sort();

beforeAll(async () => {
  rt = await startTestRuntime();
  site = { ...defaultSiteConfig(rt.url), feedSize: 10 };
}, 60_000);

afterAll(async () => {
  await rt.dispose();
  folders.removeAll();
});

describe('an incremental run with a time budget', () => {
  const folder = newFolder();
  const { objects, now } = tickingSite(folder);

  it('leaves what it did not take marked, and later runs write what one run without a budget writes', async () => {
    await postAll(backlog(120, 0));
    const expected = await oneRun(folder);
    // A tiny budget and small chunks: the first run stops early, with the backlog's marks left.
    const runs = await drain(objects, now, 60, 25);
    expect(runs.length).toBeGreaterThan(2);
    const first = runs[0]?.report as PublishReport;
    expect(first.marksDeferred).toBeGreaterThan(0);
    expect(first.marksCleared).toBeGreaterThan(0);
    for (const { report } of runs) expect(report).toMatchObject({ failed: 0, marksKept: 0 });
    expect(runs.at(-1)?.report.marksDeferred).toBe(0);
    expect(await marksLeft()).toBe(0);
    expect(differences(snapshot(folder), expected)).toEqual([]);
    expect(brokenLinks(folder)).toEqual([]);
  }, 60_000);

  it('takes a backlog of several chunks whole when the budget allows: one run, every mark cleared', async () => {
    await postAll(backlog(150, 200, '2015-01'));
    const expected = await oneRun(folder);
    const report = await publishMarked(
      { store: rt.store, objects, site },
      { deadline: now() + 1_000_000, now, eventChunk: 40 },
    );
    expect(report).toMatchObject({ failed: 0, marksKept: 0, marksDeferred: 0 });
    expect(await marksLeft()).toBe(0);
    expect(differences(snapshot(folder), expected)).toEqual([]);
  }, 60_000);

  it('drains a backlog of 600 events (an imported history) over successive runs, each within its budget', async () => {
    // A correction (same tags and label: no count changes) and then the backlog. Its month's day
    // marks wait while the backlog drains and its own mark goes with the first chunk: the run that
    // takes the day marks must still rebuild the month's archive documents it is in.
    const [published] = backlog(1, 0, '2015-02').map(
      (e): Record<string, unknown> => ({ ...e, tags: ['Solo'] }),
    );
    await postAll([published as Record<string, unknown>]);
    await drain(objects, now, 1_000_000);
    const id = idOf(String(published?.date), String(published?.headline));
    const put = await rt.write('PUT', `/api/events/${id}`, { ...published, headline: 'Corrected headline' });
    expect(put.status).toBe(200);
    await postAll(history(600, 1_000));
    const expected = await oneRun(folder);
    expect(expected.get('feeds/archive/tags/solo/2015-02.rss')).toContain('Corrected headline');
    const budget = 600;
    // After every run, no listing links to a page still in the backlog.
    const runs = await drain(objects, now, budget, 50, () => expect(brokenLinks(folder)).toEqual([]));
    // Event marks left after each run: fewer every time, none failed.
    const left = runs.map((r) => r.report.marksDeferred);
    expect(runs.length).toBeGreaterThan(3);
    expect(left.at(-1)).toBe(0);
    for (const [i, run] of runs.entries()) {
      expect(run.report).toMatchObject({ failed: 0, marksKept: 0 });
      if (i > 0 && i < runs.length - 1) expect(left[i]).toBeLessThan(left[i - 1] as number);
      // It stops taking work at the deadline; what it took (at most 32 events, three files each)
      // is finished after it.
      expect(run.ticks).toBeLessThanOrEqual(budget + 32 * 3 + 10);
    }
    expect(differences(snapshot(folder), expected)).toEqual([]);
    expect(brokenLinks(folder)).toEqual([]);
  }, 120_000);

  it('puts a burst in the tag and site feeds within two runs while a backlog drains', async () => {
    const before = newFolder();
    cpSync(folder, before, { recursive: true });
    await postAll(backlog(600, 5_000, '2015-05'));
    // One run with the backlog: it is still there after it.
    const budget = 1_200;
    const firstRun = await publishMarked(
      { store: rt.store, objects, site },
      { deadline: now() + budget, now, eventChunk: 50 },
    );
    expect(firstRun.marksDeferred).toBeGreaterThan(200);
    expect(brokenLinks(folder)).toEqual([]);
    const burst = Array.from({ length: 4 }, (_, i) =>
      makeEventInput({
        date: '2015-06-02',
        headline: `Burst event ${i} breaking`,
        tags: ['Breaking', 'Pool 1'],
      }),
    );
    await postAll(burst);
    const expected = await oneRun(before);
    const ids = burst.map((e) => idOf(String(e.date), String(e.headline)));
    const inFeeds = () => {
      const files = snapshot(folder);
      return ['feeds/all.rss', 'feeds/tags/breaking.rss', 'feeds/tags/pool-1.rss', 'feeds/all.json'].every(
        (feed) => ids.every((id) => files.get(feed)?.includes(`${id}.html`)),
      );
    };
    let runs = 0;
    while (!inFeeds() && runs < 2) {
      runs++;
      const report = await publishMarked(
        { store: rt.store, objects, site },
        { deadline: now() + budget, now, eventChunk: 50 },
      );
      expect(report.failed).toBe(0);
      // Still a backlog: the burst did not wait for it.
      expect(report.marksDeferred).toBeGreaterThan(100);
      // No listing links to a page still in the backlog.
      expect(brokenLinks(folder)).toEqual([]);
    }
    expect(inFeeds()).toBe(true);
    const files = snapshot(folder);
    expect(files.get('tags/breaking.html')).toContain('Burst event 0 breaking');
    expect(files.get('index.html')).toContain('Burst event 3 breaking');
    for (const id of ids) expect(files.has(`news/${id}.html`)).toBe(true);
    // The rest drains, to what one run without a budget writes.
    const rest = await drain(objects, now, budget, 50);
    for (const { report } of rest) expect(report.failed).toBe(0);
    // Listings as one run after the burst writes them. (Event pages written before the burst do not
    // list its events as related, as with any run between two changes.)
    expect(differences(listings(snapshot(folder)), listings(expected))).toEqual([]);
    expect(brokenLinks(folder)).toEqual([]);
  }, 120_000);
});
