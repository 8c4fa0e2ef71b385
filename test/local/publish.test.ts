import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { makeFolderObjectStore } from '../../local/site-folder.js';
import type { ObjectStore } from '../../shared/adapters/object-store.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import { publishMarked } from '../../shared/services/publish.js';
import { makeEventInput } from '../helpers/builders.js';
import { driftCount } from '../helpers/drift.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;

/** Every file under the site folder with its bytes. */
const snapshot = (): Map<string, string> => {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(rt.siteDir, path), readFileSync(path, 'utf8'));
    }
  };
  try {
    walk(rt.siteDir);
  } catch {
    // no site yet
  }
  return files;
};

const changedBetween = (before: Map<string, string>, after: Map<string, string>): string[] =>
  [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)).sort();

const post = async (overrides: Record<string, unknown>) => {
  const res = await rt.write('POST', '/api/events', makeEventInput(overrides));
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
};

beforeAll(async () => {
  rt = await startTestRuntime();
  await post({ date: '2016-11-14', headline: 'Publishing alpha one', tags: ['Alpha', 'Beta'] });
  await post({ date: '2016-11-14', headline: 'Publishing alpha two', tags: ['Alpha'] });
  await post({ date: '2016-11-15', headline: 'Publishing beta one', tags: ['Beta'] });
  await rt.capture.idle();
  await rt.publish();
});
afterAll(() => rt.dispose());

describe('the first publish', () => {
  it('writes every page, format and feed', () => {
    const files = [...snapshot().keys()].sort();
    expect(files).toEqual(
      [
        'index.html',
        '404.html',
        'tags/index.html',
        'feeds/index.opml',
        'feeds/all.rss',
        'feeds/all.atom',
        'feeds/all.json',
        '_publish/feeds/all.json',
        '_publish/feeds/tags/alpha.json',
        '_publish/feeds/tags/beta.json',
        'news/2016/11/14/index.html',
        'news/2016/11/15/index.html',
        'tags/alpha.html',
        'tags/beta.html',
        ...['alpha', 'beta'].flatMap((t) => ['rss', 'atom', 'json'].map((f) => `feeds/tags/${t}.${f}`)),
        // The archive: the month's documents of the site, each tag and the topic label, the month's
        // and the year's pages, the topic label's page and feeds, the topics index, and the counts.
        ...['all', 'tags/alpha', 'tags/beta', 'topics/russian-president'].flatMap((scope) =>
          ['rss', 'atom'].map((f) => `feeds/archive/${scope}/2016-11.${f}`),
        ),
        'news/2016/11/index.html',
        'news/2016/index.html',
        'topics/russian-president.html',
        'topics/index.html',
        ...['rss', 'atom', 'json'].map((f) => `feeds/topics/russian-president.${f}`),
        '_publish/archives.json',
        '_publish/feeds/archive/all/2016-11.json',
        '_publish/tag-counts.json',
        '_publish/feeds/topics/russian-president.json',
        ...[
          '2016/11/14/publishing-alpha-one',
          '2016/11/14/publishing-alpha-two',
          '2016/11/15/publishing-beta-one',
        ].flatMap((id) => ['html', 'json', 'xml'].map((f) => `news/${id}.${f}`)),
      ].sort(),
    );
  });
});

describe('incremental publishing', () => {
  it('writes nothing when nothing is marked', async () => {
    const before = snapshot();
    const mtimes = [...before.keys()].map((k) => statSync(join(rt.siteDir, k)).mtimeMs);
    const report = await rt.publish();
    expect(report).toMatchObject({ written: 0, removed: 0, marksCleared: 0 });
    expect([...before.keys()].map((k) => statSync(join(rt.siteDir, k)).mtimeMs)).toEqual(mtimes);
  });

  it('after one new event, changes only its pages, its day, its tags, its month and the site-wide files', async () => {
    const before = snapshot();
    const id = await post({ date: '2016-11-15', headline: 'Publishing alpha three', tags: ['Alpha'] });
    await rt.capture.idle();
    await rt.publish();
    expect(changedBetween(before, snapshot())).toEqual(
      [
        `news/${id}.html`,
        `news/${id}.json`,
        `news/${id}.xml`,
        'news/2016/11/15/index.html',
        'tags/alpha.html',
        'feeds/tags/alpha.rss',
        'feeds/tags/alpha.atom',
        'feeds/tags/alpha.json',
        '_publish/feeds/tags/alpha.json',
        'feeds/all.rss',
        'feeds/all.atom',
        'feeds/all.json',
        '_publish/feeds/all.json',
        'index.html',
        'tags/index.html',
        // Its month's archive documents of the site, its tag and its topic label (not Beta's), its
        // month's and year's pages, its topic label's page and feeds, and the counts.
        ...['all', 'tags/alpha', 'topics/russian-president'].flatMap((scope) =>
          ['rss', 'atom'].map((f) => `feeds/archive/${scope}/2016-11.${f}`),
        ),
        'news/2016/11/index.html',
        'news/2016/index.html',
        'topics/russian-president.html',
        'topics/index.html',
        ...['rss', 'atom', 'json'].map((f) => `feeds/topics/russian-president.${f}`),
        '_publish/archives.json',
        '_publish/feeds/archive/all/2016-11.json',
        '_publish/tag-counts.json',
        '_publish/feeds/topics/russian-president.json',
      ].sort(),
    );
  });

  it('removes a deleted event from its pages and feeds', async () => {
    const id = '2016/11/15/publishing-beta-one';
    expect((await rt.write('DELETE', `/api/events/${id}`)).status).toBe(200);
    await rt.capture.idle();
    await rt.publish();
    const after = snapshot();
    expect(after.has(`news/${id}.html`)).toBe(false);
    expect(after.get('feeds/tags/beta.rss')).not.toContain('publishing-beta-one');
    expect(after.get('feeds/all.atom')).not.toContain('publishing-beta-one');
    expect(after.get('news/2016/11/15/index.html')).not.toContain('publishing-beta-one');
    expect(after.get('tags/beta.html')).not.toContain('publishing-beta-one');
  });

  it('keeps the mark of a change that arrives while the run works', async () => {
    await post({ date: '2016-11-16', headline: 'Publishing during a run', tags: ['Gamma'] });
    await rt.capture.idle();
    let renewed = false;
    const store = {
      ...rt.store,
      // The moment the run starts clearing, a new change to the same tag arrives.
      clearMarks: async (marks: Parameters<typeof rt.store.clearMarks>[0]) => {
        const gamma = marks.find((mark) => mark.kind === 'tag' && mark.key === 'gamma');
        if (!renewed && gamma) {
          renewed = true;
          await rt.store.markDirty(
            [{ kind: 'tag', key: 'gamma' }],
            new Date(Date.parse(gamma.markedAt) + 1000).toISOString(),
          );
        }
        return rt.store.clearMarks(marks);
      },
    };
    const objects = (await import('../../local/site-folder.js')).makeFolderObjectStore(rt.siteDir);
    const site = { siteUrl: rt.url, title: 'Tidings', description: 'd', language: 'en', feedSize: 50 };
    const first = await publishMarked({ store, objects, site });
    expect(renewed).toBe(true);
    expect(first.marksKept).toBe(0);
    const tagMarks = await rt.store.listMarks('tag');
    expect(tagMarks.map((m) => [m.key, m.stamps.length])).toEqual([['gamma', 1]]);
    const second = await rt.publish();
    expect(second.marksCleared).toBe(1);
    expect(await rt.store.listMarks('tag')).toEqual([]);
  });
});

describe('reading the feeds it keeps items from', () => {
  it('gives their bytes back to the store only once the feeds that keep them are written', async () => {
    await post({ date: '2016-11-17', headline: 'Publishing with lent bytes', tags: ['Alpha', 'Beta'] });
    await rt.capture.idle();
    const folder = makeFolderObjectStore(rt.siteDir);
    const lent: string[] = [];
    let released = 0;
    const objects: ObjectStore = {
      ...folder,
      // Bytes given back are overwritten at once: any written after that would show it.
      borrow: async (key) => {
        const borrowed = await folder.borrow?.(key);
        if (!borrowed) return undefined;
        lent.push(key);
        return {
          bytes: borrowed.bytes,
          release: () => {
            released++;
            borrowed.bytes.fill(0x21);
            borrowed.release();
          },
        };
      },
    };
    await publishMarked({ store: rt.store, objects, site: defaultSiteConfig(rt.url) });
    expect(lent.sort()).toEqual(
      [
        ...['feeds/all', 'feeds/tags/alpha', 'feeds/tags/beta', 'feeds/topics/russian-president'].flatMap(
          (f) => ['atom', 'json', 'rss'].map((x) => `${f}.${x}`),
        ),
        // Archive documents are Atom and RSS only.
        ...['atom', 'rss'].map((x) => `feeds/archive/all/2016-11.${x}`),
      ].sort(),
    );
    expect(released).toBe(lent.length);
    // Every feed byte for byte what a full rebuild writes. (Older events' pages differ: their
    // "Related" lists gain the new event only when rebuilt.)
    const incremental = snapshot();
    expect(incremental.get('feeds/tags/alpha.rss')).not.toContain('!!!!');
    await rt.publish(true);
    expect(changedBetween(incremental, snapshot()).filter((key) => key.includes('feeds/'))).toEqual([]);
  });
});

describe('publishing a tag', () => {
  it('trusts the count the stream keeps when it agrees with the entries read', async () => {
    const calls: string[] = [];
    const store = {
      ...rt.store,
      recountTag: (slug: string, name: string) => {
        calls.push(slug);
        return rt.store.recountTag(slug, name);
      },
    };
    await post({ date: '2016-11-17', headline: 'Publishing alpha four', tags: ['Alpha', 'Beta'] });
    await rt.capture.idle();
    const objects = (await import('../../local/site-folder.js')).makeFolderObjectStore(rt.siteDir);
    const site = { siteUrl: rt.url, title: 'Tidings', description: 'd', language: 'en', feedSize: 50 };
    const report = await publishMarked({ store, objects, site });
    expect(report.marksCleared).toBeGreaterThan(0);
    expect(calls).toEqual([]);
  });

  it('settles its count from its entries, whatever drift the stream left', async () => {
    const exact = (await rt.store.getTag('alpha'))?.count;
    expect(exact).toBeGreaterThan(0);
    await driftCount(rt.dynamodbEndpoint, LOCAL_TABLE, rt.store, 'alpha', 'Alpha', 5);
    await rt.store.markDirty([{ kind: 'tag', key: 'alpha' }], new Date().toISOString());
    await rt.publish();
    expect((await rt.store.getTag('alpha'))?.count).toBe(exact);
  });
});

describe('the local server serves the site like a CDN', () => {
  it.each([
    ['/feeds/all.rss', 'application/rss+xml; charset=utf-8'],
    ['/feeds/all.atom', 'application/atom+xml; charset=utf-8'],
    ['/feeds/all.json', 'application/feed+json; charset=utf-8'],
    ['/feeds/index.opml', 'text/x-opml; charset=utf-8'],
    ['/', 'text/html; charset=utf-8'],
    ['/news/2016/11/14/', 'text/html; charset=utf-8'],
    ['/news/2016/11/14/publishing-alpha-one.json', 'application/json; charset=utf-8'],
    ['/news/2016/11/14/publishing-alpha-one.xml', 'application/xml; charset=utf-8'],
  ])('%s as %s, with validators and 304s', async (path, type) => {
    const res = await rt.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    const etag = res.headers.get('etag');
    const lastModified = res.headers.get('last-modified');
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect(lastModified).toMatch(/GMT$/);
    await res.arrayBuffer();
    expect((await rt.request(path, { headers: { 'if-none-match': etag ?? '' } })).status).toBe(304);
    expect((await rt.request(path, { headers: { 'if-modified-since': lastModified ?? '' } })).status).toBe(
      304,
    );
    expect((await rt.request(path, { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);
  });

  it('answers 404 for what was not published, and never leaves the folder', async () => {
    expect((await rt.request('/news/2099/01/01/nothing.html')).status).toBe(404);
    expect((await rt.request('/../api-key')).status).toBe(404);
    expect((await rt.request('/%2e%2e/api-key')).status).toBe(404);
    // The publisher's records of feed items are in the folder, but not part of the site.
    expect((await rt.request('/_publish/feeds/all.json')).status).toBe(404);
    expect((await rt.request('/_publish/')).status).toBe(404);
  });
});
