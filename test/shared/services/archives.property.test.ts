import { parseFeed } from '@rowanmanning/feed-parser';
import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { ObjectBody, ObjectStore } from '../../../shared/adapters/object-store.js';
import { monthOf, topicScope } from '../../../shared/domain/archives.js';
import type { NewsEvent } from '../../../shared/domain/event.js';
import { latestFirst } from '../../../shared/domain/related.js';
import {
  defaultSiteConfig,
  eventPath,
  type FeedFormat,
  type FeedScope,
  feedPath,
  type SiteConfig,
  urlOf,
} from '../../../shared/domain/site.js';
import { publishAll } from '../../../shared/services/publish.js';
import { makeNewsEvent } from '../../helpers/builders.js';
import { memoryPublishStore } from '../../helpers/memory-publish-store.js';
import { textOf, type XmlNode, xmlParser } from '../../helpers/xml.js';

// Archives partition each scope's events exactly: from the subscription feed, following
// `prev-archive` reaches every event of the scope once, and no event is in two archive documents.

const TAGS = ['Alpha', 'Beta', 'Gamma', 'Delta'];
const TOPICS = ['Politics and elections', 'Armed conflicts and attacks', 'Index'];

/** Days over three years, so scopes skip months and years. */
const day = fc
  .record({
    year: fc.integer({ min: 2019, max: 2021 }),
    month: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 28 }),
  })
  .map(({ year, month, d }) => `${year}-${String(month).padStart(2, '0')}-${String(d).padStart(2, '0')}`);

const eventArb = fc.record({
  date: day,
  tags: fc.subarray(TAGS),
  topic: fc.option(fc.constantFrom(...TOPICS), { nil: undefined }),
});

const eventsOf = (drafts: { date: string; tags: string[]; topic: string | undefined }[]): NewsEvent[] =>
  drafts
    .map((draft, n) =>
      makeNewsEvent(n, draft.tags, {
        id: `${draft.date.replaceAll('-', '/')}/event-${n}`,
        date: draft.date,
        publishedAt: `${draft.date}T10:00:00.000Z`,
        updatedAt: `${draft.date}T10:00:00.000Z`,
        ...(draft.topic ? { topic: draft.topic } : {}),
      }),
    )
    .sort(latestFirst);

/** A full publish over these events (one shard, pages of 7), into memory. */
const publish = async (events: NewsEvent[], site: SiteConfig) => {
  const files = new Map<string, string>();
  const objects: ObjectStore = {
    async putIfChanged(key: string, body: ObjectBody) {
      const text =
        typeof body === 'string'
          ? body
          : body.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString('utf8'))).join('');
      const before = files.get(key);
      files.set(key, text);
      return before !== text;
    },
    remove: async (key) => files.delete(key),
    get: async (key) => (files.has(key) ? Buffer.from(files.get(key) as string) : undefined),
  };
  const store = memoryPublishStore(events, { pageSize: 7 });
  const report = await publishAll({ store, objects, site });
  expect(report.failed).toBe(0);
  return files;
};

const keyOf = (site: SiteConfig, url: string): string => url.slice(site.siteUrl.length + 1);

const links = (doc: XmlNode, format: 'rss' | 'atom'): Record<string, string> => {
  const list: XmlNode[] = format === 'atom' ? (doc.feed.link ?? []) : (doc.rss.channel['atom:link'] ?? []);
  return Object.fromEntries(list.map((l) => [l['@_rel'], l['@_href']]));
};

const idsOf = (doc: XmlNode, format: 'rss' | 'atom'): string[] =>
  format === 'atom'
    ? (doc.feed.entry ?? []).map((e: XmlNode) => textOf(e.id))
    : (doc.rss.channel.item ?? []).map((i: XmlNode) => textOf(i.guid));

/** Every archive document of a scope, newest first, walking `prev-archive` from the subscription feed. */
const walk = (site: SiteConfig, files: Map<string, string>, scope: FeedScope, format: 'rss' | 'atom') => {
  const current = files.get(feedPath(scope, format));
  expect(current, feedPath(scope, format)).toBeDefined();
  const docs: { key: string; doc: XmlNode; text: string }[] = [];
  let next = links(xmlParser.parse(current as string), format)['prev-archive'];
  const seen = new Set<string>();
  while (next) {
    const key = keyOf(site, next);
    expect(seen.has(key), `a loop at ${key}`).toBe(false);
    seen.add(key);
    const text = files.get(key);
    expect(text, `${key} is linked but not written`).toBeDefined();
    const doc = xmlParser.parse(text as string);
    docs.push({ key, doc, text: text as string });
    next = links(doc, format)['prev-archive'];
  }
  return docs;
};

const scopesOf = (events: NewsEvent[]): { scope: FeedScope; events: NewsEvent[] }[] => {
  const scopes: { scope: FeedScope; events: NewsEvent[] }[] = [{ scope: { kind: 'site' }, events }];
  for (const name of TAGS) {
    const of = events.filter((e) => e.tags.some((t) => t.name === name));
    if (of.length > 0) scopes.push({ scope: { kind: 'tag', slug: name.toLowerCase(), name }, events: of });
  }
  for (const label of TOPICS) {
    const of = events.filter((e) => e.topic === label);
    if (of.length > 0) scopes.push({ scope: topicScope(label), events: of });
  }
  return scopes;
};

describe('archived feeds (RFC 5005)', () => {
  it('partition each scope: walking prev-archive yields every event once, and no event is in two documents', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventArb, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        async (drafts, feedSize) => {
          const site = { ...defaultSiteConfig('https://news.example.org'), feedSize };
          const events = eventsOf(drafts);
          const files = await publish(events, site);
          for (const { scope, events: inScope } of scopesOf(events)) {
            const expected = inScope.map((e) => urlOf(site, eventPath(e.id))).sort();
            for (const format of ['rss', 'atom'] as const) {
              const docs = walk(site, files, scope, format);
              const ids = docs.flatMap(({ doc }) => idsOf(doc, format));
              // Every event once: none missing, none twice.
              expect([...ids].sort(), `${format} ${JSON.stringify(scope)}`).toEqual(expected);
              // JSON Feed has no archive: its feed does not page, and no JSON archive document is written.
              if (format === 'atom') {
                const json = JSON.parse(files.get(feedPath(scope, 'json')) as string) as {
                  next_url?: string;
                };
                expect(json.next_url).toBeUndefined();
              }
              // One document per month with events, newest first, each of its own month only.
              const months = [...new Set(inScope.map((e) => monthOf(e.date)))].sort().reverse();
              expect(docs.map((d) => d.key.slice(-(7 + format.length + 1), -(format.length + 1)))).toEqual(
                months,
              );
              for (const [i, { doc }] of docs.entries()) {
                const l = links(doc, format);
                expect(keyOf(site, l.current ?? ''), 'current').toBe(feedPath(scope, format));
                if (i > 0) expect(keyOf(site, l['next-archive'] ?? '')).toBe(docs[i - 1]?.key);
                else expect(l['next-archive']).toBeUndefined();
                expect(
                  format === 'atom' ? doc.feed['fh:archive'] : doc.rss.channel['fh:archive'],
                ).toBeDefined();
              }
            }
          }
        },
      ),
      { numRuns: 25, seed: 19 },
    );
  });

  it('writes every archive document so feed parsers read it, in RSS, Atom and JSON Feed', async () => {
    const site = { ...defaultSiteConfig('https://news.example.org'), feedSize: 3 };
    const events = eventsOf(
      Array.from({ length: 30 }, (_, i) => ({
        date: `2020-${String((i % 5) + 1).padStart(2, '0')}-${String((i % 27) + 1).padStart(2, '0')}`,
        tags: TAGS.filter((_, k) => (i + k) % 3 === 0),
        topic: TOPICS[i % 4],
      })),
    );
    const files = await publish(events, site);
    const archives = [...files.keys()].filter((key) => key.startsWith('feeds/archive/'));
    // Site: 5 months; each tag and topic label has events in some of them.
    expect(archives.length).toBeGreaterThan(5 * 3);
    for (const key of archives) {
      const text = files.get(key) as string;
      const format = key.slice(key.lastIndexOf('.') + 1) as FeedFormat;
      if (format === 'json') {
        const json = JSON.parse(text) as { version: string; feed_url: string; items: { id: string }[] };
        expect(json.version).toBe('https://jsonfeed.org/version/1.1');
        expect(json.feed_url).toBe(urlOf(site, key));
        expect(json.items.length).toBeGreaterThan(0);
        continue;
      }
      expect(XMLValidator.validate(text), key).toBe(true);
      const parsed = parseFeed(text);
      expect(parsed.items.length, key).toBeGreaterThan(0);
      for (const item of parsed.items) expect(item.url, key).toMatch(/^https:\/\/news\.example\.org\/news\//);
      const doc = xmlParser.parse(text);
      const self = format === 'atom' ? links(doc, 'atom').self : links(doc, 'rss').self;
      expect(self, key).toBe(urlOf(site, key));
      expect(text).toContain('xmlns:fh="http://purl.org/syndication/history/1.0"');
      if (format === 'atom')
        expect(textOf(doc.feed.updated)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    }
    // The subscription feeds point at their newest month, and are not archives.
    const current = files.get('feeds/all.atom') as string;
    expect(current).toContain(
      `rel="prev-archive" type="application/atom+xml" href="${urlOf(site, 'feeds/archive/all/2020-05.atom')}"`,
    );
    expect(current).not.toContain('fh:archive');
    expect(XMLValidator.validate(files.get('feeds/topics/politics-and-elections.rss') as string)).toBe(true);
    expect(parseFeed(files.get('feeds/topics/politics-and-elections.rss') as string).items).toHaveLength(3);
    // A topic label whose slug is reserved ("index") gets the reserved suffix.
    expect(files.has('topics/index-1.html')).toBe(true);
    expect(files.get('feeds/index.opml')).toContain(urlOf(site, 'feeds/topics/index-1.rss'));
  });
});
