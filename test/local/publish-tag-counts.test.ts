import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeFolderObjectStore } from '../../local/site-folder.js';
import { defaultSiteConfig, type SiteConfig } from '../../shared/domain/site.js';
import {
  type PublishDeps,
  publishMarked,
  TAG_COUNT_SLICES,
  tagCountSliceOf,
} from '../../shared/services/publish.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

// The site's pages list every tag with its count. An incremental run reads the counter shards of
// the tags it rebuilds (and of a random slice of the rest), and takes the others from the counts
// the last run recorded, instead of reading every tag's shards on every run.

const TAGS = 40;
const RECORD = '_publish/tag-counts.json';

let rt: TestRuntime;
let site: SiteConfig;
let folder: string;

const post = async (input: Record<string, unknown>) => {
  const res = await rt.write('POST', '/api/events', makeEventInput(input));
  expect(res.status).toBe(201);
};

/** The store, keeping the counts each `listTags` call was given. */
const watching = () => {
  const given: (ReadonlyMap<string, number> | undefined)[] = [];
  const store: PublishDeps['store'] = {
    ...rt.store,
    listTags: (counted) => {
      given.push(counted);
      return rt.store.listTags(counted);
    },
  };
  return { store, given };
};

const tagsIndex = () => readFileSync(join(folder, 'tags/index.html'), 'utf8');
const record = () =>
  JSON.parse(readFileSync(join(folder, RECORD), 'utf8')) as { counts: Record<string, number> };

beforeAll(async () => {
  rt = await startTestRuntime();
  site = defaultSiteConfig(rt.url);
  folder = mkdtempSync(join(tmpdir(), 'tidings-tag-counts-'));
  for (let i = 0; i < TAGS; i++)
    await post({ date: '2016-11-14', headline: `Counted event ${i}`, tags: [`Counted ${i}`, 'Everywhere'] });
  await rt.capture.idle();
  const report = await publishMarked({ store: rt.store, objects: makeFolderObjectStore(folder), site });
  expect(report.failed).toBe(0);
}, 120_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await rt.dispose();
  rmSync(folder, { recursive: true, force: true });
});

describe('tag counts across incremental runs', () => {
  it('records every tag count once the first run has read them all', () => {
    const { counts } = record();
    expect(Object.keys(counts)).toHaveLength(TAGS + 1);
    expect(counts.everywhere).toBe(TAGS);
    expect(counts['counted-7']).toBe(1);
  });

  it("reads only the rebuilt tags' counters (and a slice of the rest), and lists every count right", async () => {
    await post({ date: '2016-11-15', headline: 'A second for seven', tags: ['Counted 7'] });
    await rt.capture.idle();
    const { store, given } = watching();
    const report = await publishMarked({ store, objects: makeFolderObjectStore(folder), site });
    expect(report.failed).toBe(0);
    expect(given).toHaveLength(1);
    const counted = given[0] as ReadonlyMap<string, number>;
    // The marked tag is read; at most a slice of the others is (32 slices of 41 tags: a few).
    expect(counted.has('counted-7')).toBe(false);
    expect(counted.size).toBeGreaterThanOrEqual(TAGS - 8);
    expect(tagsIndex()).toMatch(/Counted 7<\/a>\s*<span class="count">\(2\)<\/span>/);
    expect(record().counts['counted-7']).toBe(2);
    expect(record().counts.everywhere).toBe(TAGS);
  });

  it('heals a count the record got wrong when its slice is read again', async () => {
    const wrong = record();
    wrong.counts['counted-3'] = 99;
    writeFileSync(join(folder, RECORD), JSON.stringify(wrong));
    await post({ date: '2016-11-16', headline: 'Another for five', tags: ['Counted 5'] });
    await rt.capture.idle();
    // A run that draws another slice keeps the wrong count; one that draws its slice reads it.
    const slice = tagCountSliceOf('counted-3');
    const run = async (drawn: number) => {
      const random = vi.spyOn(Math, 'random').mockReturnValue((drawn + 0.5) / TAG_COUNT_SLICES);
      const { store, given } = watching();
      try {
        await publishMarked({ store, objects: makeFolderObjectStore(folder), site });
      } finally {
        random.mockRestore();
      }
      return given[0] as ReadonlyMap<string, number>;
    };
    expect((await run((slice + 1) % TAG_COUNT_SLICES)).get('counted-3')).toBe(99);
    expect(record().counts['counted-3']).toBe(99);
    await post({ date: '2016-11-17', headline: 'Another for six', tags: ['Counted 6'] });
    await rt.capture.idle();
    expect((await run(slice)).has('counted-3')).toBe(false);
    expect(record().counts['counted-3']).toBe(1);
    expect(tagsIndex()).toMatch(/Counted 3<\/a>\s*<span class="count">\(1\)<\/span>/);
  }, 120_000);
});
