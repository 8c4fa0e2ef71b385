import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseFeed } from '@rowanmanning/feed-parser';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import {
  correctedEvent,
  createdEvent,
  type NewsEvent,
  parseEventDraft,
} from '../../../shared/domain/event.js';
import {
  buildFeedModel,
  EMPTY_FEED_UPDATED,
  type FeedModel,
  imageTypeOf,
  paragraphsOf,
} from '../../../shared/domain/feed-model.js';
import {
  defaultSiteConfig,
  eventPath,
  FEED_FORMATS,
  type FeedFormat,
  type FeedScope,
  feedPath,
  type SiteConfig,
  tagPath,
  urlOf,
} from '../../../shared/domain/site.js';
import { SLUG_PATTERN } from '../../../shared/domain/slug.js';
import {
  assembleFeedParts,
  FEED_ITEMS_VERSION,
  feedItemBytes,
  feedItemHasContent,
  feedItemLayout,
  renderFeed,
  renderFeedAtOnce,
  renderFeedItems,
} from '../../../shared/render/feeds.js';
import { makeEventInput } from '../../helpers/builders.js';
import { isXmlChar, textOf, type XmlNode, xmlParser } from '../../helpers/xml.js';

const site: SiteConfig = defaultSiteConfig('https://news.example.org');
const SITE: FeedScope = { kind: 'site' };
const SYRIA: FeedScope = { kind: 'tag', slug: 'syria', name: 'Syria' };

const draftOf = (input: unknown) => {
  const result = parseEventDraft(input);
  if (!result.ok) throw new Error(`invalid sample: ${JSON.stringify(result.issues)}`);
  return result.draft;
};

/** The sample events, newest first: the newest was published 2026-01-01T00:00Z, each older one an hour earlier. */
const samples = (
  JSON.parse(
    readFileSync(resolve(import.meta.dirname, '../../../local/sample-events.json'), 'utf8'),
  ) as unknown[]
)
  .map(draftOf)
  .sort((a, b) => b.date.localeCompare(a.date) || a.id.localeCompare(b.id));
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (hoursBefore: number): string => new Date(T0 - hoursBefore * 3_600_000).toISOString();
const events: NewsEvent[] = samples.map((draft, i) => createdEvent(draft, at(i)));
const syriaEvents = events.filter((e) => e.tags.some((t) => t.slug === 'syria'));

const illegalChars = (s: string): string[] => [...s].filter((c) => !isXmlChar(c.codePointAt(0) ?? 0));

const parseXml = (xml: string): XmlNode => {
  expect(XMLValidator.validate(xml)).toBe(true);
  expect(illegalChars(xml)).toEqual([]);
  return xmlParser.parse(xml);
};

const RFC_822 =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} (GMT|[+-]\d{4})$/;
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const isAbsoluteHttpUrl = (value: string): boolean =>
  URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol);

const permalink = (e: NewsEvent): string => urlOf(site, eventPath(e.id));
const unescapeHtml = (s: string): string =>
  s.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? '',
  );

describe('buildFeedModel', () => {
  const model = buildFeedModel(site, SITE, events);

  it('has the sample data it needs: more events than the feed size, images, bodies of two paragraphs', () => {
    expect(events.length).toBeGreaterThan(site.feedSize);
    expect(syriaEvents.length).toBeGreaterThan(1);
    expect(events.some((e) => e.image)).toBe(true);
    expect(events.some((e) => paragraphsOf(e.body).length === 2)).toBe(true);
  });

  it('describes the site feed, its HTML page and every format of it', () => {
    expect(model.title).toBe('Tidings');
    expect(model.description).toBe(site.description);
    expect(model.id).toBe('https://news.example.org/');
    expect(model.links.html).toBe('https://news.example.org/');
    expect(model.links.feeds).toEqual({
      rss: { href: 'https://news.example.org/feeds/all.rss', type: 'application/rss+xml' },
      atom: { href: 'https://news.example.org/feeds/all.atom', type: 'application/atom+xml' },
      json: { href: 'https://news.example.org/feeds/all.json', type: 'application/feed+json' },
    });
    expect(model.language).toBe('en');
    expect(model.author).toEqual({ name: 'Tidings', url: 'https://news.example.org' });
  });

  it('describes a tag feed by its tag page', () => {
    const tag = buildFeedModel(site, SYRIA, syriaEvents);
    expect(tag.title).toBe('Tidings: Syria');
    expect(tag.id).toBe(urlOf(site, tagPath('syria')));
    expect(tag.links.html).toBe('https://news.example.org/tags/syria.html');
    for (const format of FEED_FORMATS) {
      expect(tag.links.feeds[format]?.href).toBe(urlOf(site, feedPath(SYRIA, format)));
    }
    expect(tag.items.map((i) => i.id)).toEqual(syriaEvents.map(permalink));
  });

  it('keeps the newest events, at most feedSize, in their order', () => {
    expect(model.items).toHaveLength(site.feedSize);
    expect(model.items.map((i) => i.id)).toEqual(events.slice(0, site.feedSize).map(permalink));
    expect(buildFeedModel({ ...site, feedSize: 3 }, SITE, events).items).toHaveLength(3);
  });

  it("is as new as its newest item's last update; an empty feed is as old as the epoch", () => {
    expect(model.updated).toBe(events[0]?.updatedAt);
    expect(model.updated).toBe([...model.items.map((i) => i.updated)].sort().at(-1));
    const empty = buildFeedModel(site, SITE, []);
    expect(empty.updated).toBe(EMPTY_FEED_UPDATED);
    expect(empty.updated).toBe('1970-01-01T00:00:00.000Z');
    expect(empty.items).toEqual([]);
  });

  it('makes an item of an event: permalink id, headline title, first paragraph summary, tags, sources, image', () => {
    const event = events.find((e) => e.image && paragraphsOf(e.body).length === 2) as NewsEvent;
    const item = buildFeedModel(site, SITE, [event]).items[0];
    const paragraphs = event.body.split('\n\n');
    expect(item).toEqual({
      id: permalink(event),
      url: permalink(event),
      title: event.headline,
      summary: paragraphs[0],
      paragraphs,
      published: event.publishedAt,
      updated: event.updatedAt,
      categories: event.tags.map((t) => ({
        term: t.slug,
        label: t.name,
        scheme: `https://news.example.org/tags/${t.slug}.html`,
      })),
      sources: event.sources,
      image: { url: event.image?.url, type: 'image/jpeg', caption: event.image?.caption },
      topic: event.topic,
    });
  });

  it('summarizes an event without a body by its headline', () => {
    const event = createdEvent(draftOf(makeEventInput({ body: '' })), at(0));
    const item = buildFeedModel(site, SITE, [event]).items[0];
    expect(item?.paragraphs).toEqual([]);
    expect(item?.summary).toBe(event.headline);
  });

  it('lists an event once even when it is given twice', () => {
    const [first] = events;
    const twice = buildFeedModel(site, SITE, [first as NewsEvent, first as NewsEvent, ...events.slice(1, 3)]);
    expect(twice.items.map((i) => i.id)).toEqual(events.slice(0, 3).map(permalink));
  });

  it.each([
    ['https://x.example/a.jpg', 'image/jpeg'],
    ['https://x.example/a.JPEG?w=600', 'image/jpeg'],
    ['https://x.example/a.png', 'image/png'],
    ['https://x.example/a.gif#top', 'image/gif'],
    ['https://x.example/a.webp', 'image/webp'],
    ['https://x.example/a.svg', 'image/svg+xml'],
    ['https://x.example/a.avif', 'image/avif'],
    ['https://x.example/a.tiff', undefined],
    ['https://x.example/photo', undefined],
    ['https://x.example/v1.2/photo', undefined],
  ])('knows the image type of %s: %s', (url, type) => {
    expect(imageTypeOf(url)).toBe(type);
  });
});

describe('RSS 2.0', () => {
  const model = buildFeedModel(site, SITE, events);
  const xml = renderFeed(model, 'rss');
  const doc = parseXml(xml);
  const channel = doc.rss.channel;
  const items: XmlNode[] = channel.item;

  it('is RSS 2.0 a feed reader understands', () => {
    expect(doc.rss['@_version']).toBe('2.0');
    const feed = parseFeed(xml);
    expect(feed.meta).toEqual({ type: 'rss', version: '2.0' });
    expect(feed.title).toBe('Tidings');
    expect(feed.url).toBe('https://news.example.org/');
    expect(feed.self).toBe('https://news.example.org/feeds/all.rss');
    expect(feed.language).toBe('en');
    expect(feed.items.map((i) => i.id)).toEqual(model.items.map((i) => i.id));
    expect(feed.items.map((i) => i.title)).toEqual(model.items.map((i) => i.title));
    expect(feed.items.map((i) => i.published?.toISOString())).toEqual(model.items.map((i) => i.published));
  });

  it('has a channel title, link and description', () => {
    expect(textOf(channel.title)).toBe('Tidings');
    expect(channel.link.map(textOf)).toEqual(['https://news.example.org/']);
    expect(textOf(channel.description)).toBe(site.description);
    expect(textOf(channel.language)).toBe('en');
  });

  it("dates the channel by its newest item's update, in RFC 822", () => {
    expect(textOf(channel.lastBuildDate)).toMatch(RFC_822);
    expect(new Date(textOf(channel.lastBuildDate)).toISOString()).toBe(model.updated);
  });

  it('links to itself with atom:link rel="self" and its type, and to its siblings', () => {
    expect(doc.rss['@_xmlns:atom']).toBe('http://www.w3.org/2005/Atom');
    const links: XmlNode[] = channel['atom:link'];
    expect(links.filter((l) => l['@_rel'] === 'self')).toEqual([
      {
        '@_href': 'https://news.example.org/feeds/all.rss',
        '@_rel': 'self',
        '@_type': 'application/rss+xml',
      },
    ]);
    expect(links.filter((l) => l['@_rel'] === 'alternate').map((l) => [l['@_type'], l['@_href']])).toEqual([
      ['application/atom+xml', 'https://news.example.org/feeds/all.atom'],
      ['application/feed+json', 'https://news.example.org/feeds/all.json'],
    ]);
  });

  it('names the site\'s WebSub hub with atom:link rel="hub" (WebSub §4)', () => {
    const links: XmlNode[] = channel['atom:link'];
    expect(links.filter((l) => l['@_rel'] === 'hub')).toEqual([
      { '@_href': 'https://news.example.org/api/websub', '@_rel': 'hub' },
    ]);
  });

  it('has one item per event, each with title, link and a permalink guid', () => {
    expect(items).toHaveLength(site.feedSize);
    items.forEach((item, i) => {
      const expected = model.items[i];
      expect(textOf(item.title)).toBe(expected?.title);
      expect(item.link.map(textOf)).toEqual([expected?.url]);
      expect(item.guid['@_isPermaLink']).toBe('true');
      expect(textOf(item.guid)).toBe(expected?.id);
    });
    expect(new Set(items.map((i) => textOf(i.guid))).size).toBe(items.length);
  });

  it('dates each item by its first publication, in RFC 822', () => {
    items.forEach((item, i) => {
      expect(textOf(item.pubDate)).toMatch(RFC_822);
      expect(new Date(textOf(item.pubDate)).toISOString()).toBe(model.items[i]?.published);
    });
  });

  it('has every tag as a category whose domain is the tag page', () => {
    items.forEach((item, i) => {
      const categories: XmlNode[] = item.category ?? [];
      expect(categories.map((c) => [textOf(c), c['@_domain']])).toEqual(
        model.items[i]?.categories.map((c) => [c.label, `https://news.example.org/tags/${c.term}.html`]),
      );
    });
  });

  it('has the image as an enclosure with its MIME type and a length', () => {
    let withImage = 0;
    items.forEach((item, i) => {
      const image = model.items[i]?.image;
      if (!image) {
        expect(item.enclosure).toBeUndefined();
        return;
      }
      withImage++;
      expect(item.enclosure).toHaveLength(1);
      expect(item.enclosure[0]['@_url']).toBe(image.url);
      expect(item.enclosure[0]['@_type']).toBe('image/jpeg');
      expect(item.enclosure[0]['@_length']).toBe('0');
    });
    expect(withImage).toBeGreaterThan(0);
  });

  it('has the summary as description and the body, image and sources as content:encoded HTML', () => {
    const i = model.items.findIndex((it) => it.image && it.sources.length === 2);
    const expected = model.items[i] as FeedModel['items'][number];
    const item = items[i];
    expect(textOf(item.description)).toBe(`${expected.summary.replaceAll("'", '&#39;')}`);
    const content = textOf(item['content:encoded']);
    expect(content).toContain(`<img src="${expected.image?.url}"`);
    for (const paragraph of expected.paragraphs) {
      expect(content).toContain(`<p>${paragraph.replaceAll("'", '&#39;').replaceAll('"', '&quot;')}</p>`);
    }
    expect(content).toContain('<p>Sources:</p><ul>');
    for (const source of expected.sources)
      expect(content).toContain(`<a href="${source.url}">${source.name}</a>`);
  });
});

describe('Atom (RFC 4287)', () => {
  const model = buildFeedModel(site, SYRIA, syriaEvents);
  const xml = renderFeed(model, 'atom');
  const doc = parseXml(xml);
  const feed = doc.feed;
  const entries: XmlNode[] = feed.entry;

  it('is Atom a feed reader understands', () => {
    expect(feed['@_xmlns']).toBe('http://www.w3.org/2005/Atom');
    expect(feed['@_xml:lang']).toBe('en');
    const parsed = parseFeed(xml);
    expect(parsed.meta.type).toBe('atom');
    expect(parsed.title).toBe('Tidings: Syria');
    expect(parsed.url).toBe('https://news.example.org/tags/syria.html');
    expect(parsed.self).toBe('https://news.example.org/feeds/tags/syria.atom');
    expect(parsed.updated?.toISOString()).toBe(model.updated);
    expect(parsed.items.map((i) => i.id)).toEqual(model.items.map((i) => i.id));
    expect(parsed.items.map((i) => i.url)).toEqual(model.items.map((i) => i.url));
    expect(parsed.items.map((i) => i.title)).toEqual(model.items.map((i) => i.title));
    expect(parsed.items.map((i) => i.categories.map((c) => c.term))).toEqual(
      model.items.map((i) => i.categories.map((c) => c.term)),
    );
    expect(parsed.items[0]?.mediaImages[0]?.mimeType).toBe(model.items[0]?.image?.type ?? undefined);
  });

  it('has a feed id, title, RFC 3339 updated and author', () => {
    expect(textOf(feed.id)).toBe('https://news.example.org/tags/syria.html');
    expect(textOf(feed.title)).toBe('Tidings: Syria');
    expect(textOf(feed.updated)).toMatch(RFC_3339);
    expect(textOf(feed.updated)).toBe(model.updated);
    expect(textOf(feed.author.name)).toBe('Tidings');
    expect(textOf(feed.author.uri)).toBe('https://news.example.org/');
  });

  it('links to itself (rel="self"), its HTML page (rel="alternate") and its siblings, with types', () => {
    const links = (feed.link as XmlNode[]).map((l) => [l['@_rel'], l['@_type'], l['@_href']]);
    expect(links).toEqual([
      ['alternate', 'text/html', 'https://news.example.org/tags/syria.html'],
      ['self', 'application/atom+xml', 'https://news.example.org/feeds/tags/syria.atom'],
      ['alternate', 'application/rss+xml', 'https://news.example.org/feeds/tags/syria.rss'],
      ['alternate', 'application/feed+json', 'https://news.example.org/feeds/tags/syria.json'],
      ['hub', undefined, 'https://news.example.org/api/websub'],
    ]);
  });

  it('has entries with unique ids, a title, RFC 3339 updated and published, and an alternate link', () => {
    expect(entries).toHaveLength(model.items.length);
    entries.forEach((entry, i) => {
      const expected = model.items[i];
      expect(textOf(entry.id)).toBe(expected?.id);
      expect(entry.title['@_type']).toBe('html');
      expect(unescapeHtml(textOf(entry.title))).toBe(expected?.title);
      expect(textOf(entry.updated)).toMatch(RFC_3339);
      expect(textOf(entry.updated)).toBe(expected?.updated);
      expect(textOf(entry.published)).toMatch(RFC_3339);
      expect(textOf(entry.published)).toBe(expected?.published);
      const alternate = (entry.link as XmlNode[]).filter((l) => l['@_rel'] === 'alternate');
      expect(alternate).toEqual([{ '@_rel': 'alternate', '@_type': 'text/html', '@_href': expected?.url }]);
    });
    expect(new Set(entries.map((e) => textOf(e.id))).size).toBe(entries.length);
  });

  it('has every tag as a category with a safe term, a label and the tag page as scheme', () => {
    entries.forEach((entry, i) => {
      const categories = (entry.category as XmlNode[]).map((c) => [c['@_term'], c['@_label'], c['@_scheme']]);
      expect(categories).toEqual(model.items[i]?.categories.map((c) => [c.term, c.label, c.scheme]));
      for (const [term] of categories) expect(term).toMatch(SLUG_PATTERN);
    });
    expect(xml).not.toMatch(/term="[^"]*[<&]/);
  });

  it('has an HTML summary and content', () => {
    entries.forEach((entry, i) => {
      const expected = model.items[i];
      expect(entry.summary['@_type']).toBe('html');
      expect(unescapeHtml(textOf(entry.summary))).toBe(expected?.summary);
      expect(entry.content['@_type']).toBe('html');
      const content = textOf(entry.content);
      expect(content.startsWith(expected?.image ? '<figure><img src=' : '<p>')).toBe(true);
      expect(content).toContain(`<p>${(expected?.paragraphs.at(-1) ?? '').replaceAll("'", '&#39;')}</p>`);
    });
  });

  it('links each source as rel="related" and the image as rel="enclosure" with its MIME type', () => {
    entries.forEach((entry, i) => {
      const expected = model.items[i];
      const links = entry.link as XmlNode[];
      expect(links.filter((l) => l['@_rel'] === 'related').map((l) => [l['@_href'], l['@_title']])).toEqual(
        expected?.sources.map((s) => [s.url, s.name]),
      );
      const enclosures = links.filter((l) => l['@_rel'] === 'enclosure');
      expect(enclosures).toEqual(
        expected?.image
          ? [
              {
                '@_rel': 'enclosure',
                '@_href': expected.image.url,
                '@_type': 'image/jpeg',
                '@_title': expected.image.caption,
              },
            ]
          : [],
      );
    });
  });

  it('uses only absolute URLs', () => {
    const urls = [
      textOf(feed.id),
      textOf(feed.author.uri),
      ...(feed.link as XmlNode[]).map((l) => l['@_href']),
      ...entries.flatMap((e) => [
        textOf(e.id),
        ...(e.link as XmlNode[]).map((l) => l['@_href']),
        ...(e.category as XmlNode[]).map((c) => c['@_scheme']),
      ]),
    ];
    expect(urls.length).toBeGreaterThan(10);
    expect(urls.filter((u) => !isAbsoluteHttpUrl(u))).toEqual([]);
  });
});

describe('JSON Feed 1.1', () => {
  const model = buildFeedModel(site, SITE, events);
  const json = JSON.parse(renderFeed(model, 'json'));

  it('says it is version 1.1 and describes the feed', () => {
    expect(json.version).toBe('https://jsonfeed.org/version/1.1');
    expect(json.title).toBe('Tidings');
    expect(json.home_page_url).toBe('https://news.example.org/');
    expect(json.feed_url).toBe('https://news.example.org/feeds/all.json');
    expect(json.description).toBe(site.description);
    expect(json.language).toBe('en');
  });

  it("lists the site's WebSub hub in hubs", () => {
    expect(json.hubs).toEqual([{ type: 'WebSub', url: 'https://news.example.org/api/websub' }]);
  });

  it('has authors, an array, and no version-1 author', () => {
    expect(json.authors).toEqual([{ name: 'Tidings', url: 'https://news.example.org' }]);
    expect(json).not.toHaveProperty('author');
  });

  it('has items with id, url, title, HTML content, summary, RFC 3339 dates, tags and image', () => {
    expect(json.items).toHaveLength(site.feedSize);
    json.items.forEach((item: XmlNode, i: number) => {
      const expected = model.items[i];
      expect(item.id).toBe(expected?.id);
      expect(item.url).toBe(expected?.url);
      expect(item.title).toBe(expected?.title);
      expect(item.summary).toBe(expected?.summary);
      expect(item.content_html).toContain('<p>');
      expect(item.date_published).toMatch(RFC_3339);
      expect(item.date_published).toBe(expected?.published);
      expect(item.date_modified).toMatch(RFC_3339);
      expect(item.date_modified).toBe(expected?.updated);
      expect(item.tags).toEqual(expected?.categories.map((c) => c.label));
      expect(item.image).toBe(expected?.image?.url);
      expect(item).not.toHaveProperty('author');
    });
    expect(new Set(json.items.map((i: XmlNode) => i.id)).size).toBe(json.items.length);
  });

  it('lists the sources in content_html and in _tidings.sources', () => {
    json.items.forEach((item: XmlNode, i: number) => {
      const sources = model.items[i]?.sources ?? [];
      expect(item._tidings.sources).toEqual(sources);
      for (const s of sources) expect(item.content_html).toContain(`<a href="${s.url}">`);
    });
  });
});

describe('feeds over time', () => {
  const render = (format: FeedFormat, list: NewsEvent[]) =>
    renderFeed(buildFeedModel(site, SITE, list), format);

  it.each(FEED_FORMATS)('%s: the same events give the same bytes', (format) => {
    const model = buildFeedModel(site, SITE, events);
    expect(renderFeed(model, format)).toBe(renderFeed(model, format));
    expect(render(format, events)).toBe(renderFeed(model, format));
  });

  it.each(FEED_FORMATS)('%s: an empty feed is valid and dated at the epoch', (format) => {
    const out = renderFeed(buildFeedModel(site, SYRIA, []), format);
    if (format === 'json') {
      expect(JSON.parse(out)).toMatchObject({ items: [], version: 'https://jsonfeed.org/version/1.1' });
      return;
    }
    const doc = parseXml(out);
    if (format === 'atom') expect(textOf(doc.feed.updated)).toBe('1970-01-01T00:00:00.000Z');
    else expect(textOf(doc.rss.channel.lastBuildDate)).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
  });

  it('shows a correction under the same id, with its new update time, and dates the feed by it', () => {
    const older = events.slice(0, 5);
    const target = older[3] as NewsEvent;
    const correctedAt = '2026-02-01T09:30:00.000Z';
    const fixed = correctedEvent(
      target,
      draftOf({ ...makeEventInput(), date: target.date, id: target.id, headline: 'Corrected headline' }),
      correctedAt,
    );
    const list = older.map((e) => (e.id === target.id ? fixed : e));

    const rss = parseXml(render('rss', list)).rss.channel;
    const atom = parseXml(render('atom', list)).feed;
    const json = JSON.parse(render('json', list));
    const id = permalink(target);

    expect(textOf(rss.item[3].guid)).toBe(id);
    expect(textOf(rss.item[3].title)).toBe('Corrected headline');
    expect(textOf(rss.item[3].pubDate)).toBe(new Date(target.publishedAt).toUTCString());
    expect(textOf(rss.lastBuildDate)).toBe(new Date(correctedAt).toUTCString());

    expect(textOf(atom.entry[3].id)).toBe(id);
    expect(textOf(atom.entry[3].title)).toBe('Corrected headline');
    expect(textOf(atom.entry[3].updated)).toBe(correctedAt);
    expect(textOf(atom.entry[3].published)).toBe(target.publishedAt);
    expect(textOf(atom.updated)).toBe(correctedAt);

    expect(json.items[3]).toMatchObject({
      id,
      title: 'Corrected headline',
      date_modified: correctedAt,
      date_published: target.publishedAt,
    });
  });
});

describe('what the feed package gets wrong, handled', () => {
  const hostile = createdEvent(
    draftOf(
      makeEventInput({
        headline: 'AT&amp;T <b>bold</b> ]]> twice ]]> & "quotes"',
        body: 'First & <script>alert(1)</script> ]]>\n\nSecond &amp; last',
        tags: ['R&amp;D', 'C<D "E"'],
        sources: [{ name: 'Source <One> & "Two"', url: 'https://example.com/a?b=1&c=2' }],
        image: { url: 'https://example.com/photo', caption: 'A <caption> & more' },
      }),
    ),
    at(0),
  );
  const model = buildFeedModel(site, { kind: 'tag', slug: 'r-amp-d', name: 'R&amp;D <x>' }, [hostile]);
  const out = Object.fromEntries(FEED_FORMATS.map((f) => [f, renderFeed(model, f)])) as Record<
    FeedFormat,
    string
  >;

  it('keeps literal "&amp;", markup and "]]>" in titles as text, in every format', () => {
    const rss = parseXml(out.rss).rss.channel;
    const atom = parseXml(out.atom).feed;
    const json = JSON.parse(out.json);
    expect(textOf(rss.title)).toBe('Tidings: R&amp;D <x>');
    expect(textOf(atom.title)).toBe('Tidings: R&amp;D <x>');
    expect(json.title).toBe('Tidings: R&amp;D <x>');
    expect(textOf(rss.item[0].title)).toBe(hostile.headline);
    expect(unescapeHtml(textOf(atom.entry[0].title))).toBe(hostile.headline);
    expect(json.items[0].title).toBe(hostile.headline);
    expect(parseFeed(out.atom).items[0]?.title).toBe(hostile.headline);
  });

  it('escapes tag names in categories (RSS text, Atom label attribute)', () => {
    const rss = parseXml(out.rss).rss.channel;
    const atom = parseXml(out.atom).feed;
    expect(rss.item[0].category.map(textOf)).toEqual(['R&amp;D', 'C<D "E"']);
    expect(atom.entry[0].category.map((c: XmlNode) => [c['@_term'], c['@_label']])).toEqual([
      ['r-amp-d', 'R&amp;D'],
      ['c-d-e', 'C<D "E"'],
    ]);
  });

  it('escapes the body, sources and caption in the HTML content', () => {
    const content = textOf(parseXml(out.rss).rss.channel.item[0]['content:encoded']);
    expect(content).toContain(
      '<p>First &amp; &lt;script&gt;alert(1)&lt;/script&gt; ]]&gt;</p><p>Second &amp;amp; last</p>',
    );
    expect(content).toContain(
      '<a href="https://example.com/a?b=1&amp;c=2">Source &lt;One&gt; &amp; &quot;Two&quot;</a>',
    );
    expect(content).toContain(
      'alt="A &lt;caption&gt; &amp; more"><figcaption>A &lt;caption&gt; &amp; more</figcaption>',
    );
    expect(content).not.toContain('<script>');
  });

  it('gives an image of unknown type no enclosure type (Atom) or no enclosure (RSS, where the type is required), but shows it', () => {
    const rss = parseXml(out.rss).rss.channel.item[0];
    const atom = parseXml(out.atom).feed.entry[0];
    expect(rss.enclosure).toBeUndefined();
    expect(textOf(rss['content:encoded'])).toContain('<img src="https://example.com/photo"');
    expect(atom.link.filter((l: XmlNode) => l['@_rel'] === 'enclosure')).toEqual([
      { '@_rel': 'enclosure', '@_href': 'https://example.com/photo', '@_title': 'A <caption> & more' },
    ]);
    expect(textOf(atom.content)).toContain('<img src="https://example.com/photo"');
    expect(out.atom).not.toContain('image//photo');
  });

  it('keeps Atom and RSS links of sources with query strings intact', () => {
    const atom = parseXml(out.atom).feed.entry[0];
    expect(atom.link.filter((l: XmlNode) => l['@_rel'] === 'related')).toEqual([
      { '@_rel': 'related', '@_href': 'https://example.com/a?b=1&c=2', '@_title': 'Source <One> & "Two"' },
    ]);
  });
});

describe('feed items kept from one run to the next', () => {
  // One event with every part an item has (topic, image, sources, several tags, two paragraphs,
  // markup and a character beyond Latin-1), written as a feed item in every format.
  const sample = createdEvent(
    draftOf(
      makeEventInput({
        headline: 'Sample “item” & <b>markup</b>',
        body: 'First paragraph, with an ampersand &.\n\nSecond paragraph.',
        tags: ['Russia', 'Île-de-France'],
        sources: [
          { name: 'Wire', url: 'https://example.com/a?b=1&c=2' },
          { name: 'Herald', url: 'https://example.com/b' },
        ],
      }),
    ),
    at(0),
  );
  const decoded = (items: Buffer[] | undefined) => items?.map((item) => item.toString('utf8'));
  const texts = () => {
    const [item] = buildFeedModel(site, SITE, [sample]).items;
    if (!item) throw new Error('no item');
    return FEED_FORMATS.map((format) => renderFeedItems([item], format)[0]).join('\n');
  };

  it('are written by the version FEED_ITEMS_VERSION names: change it whenever these bytes change', () => {
    // Texts of an earlier version are never reused; a new version gets a new line here.
    const digests: Record<number, string> = {
      1: '37fb0a06dcea2ab52da8cbebbbee775353f8415fbd1a8fb12df1974e60ce28d3',
    };
    expect(createHash('sha256').update(texts()).digest('hex')).toBe(digests[FEED_ITEMS_VERSION]);
  });

  it.each(FEED_FORMATS)('%s: are cut back out of a feed exactly as they were written', (format) => {
    const model = buildFeedModel(site, SITE, events.slice(0, 12));
    const written = renderFeedItems(model.items, format);
    expect(decoded(feedItemBytes(renderFeed(model, format), format, model.items.length))).toEqual(written);
    expect(feedItemBytes(renderFeed(model, format), format, model.items.length + 1)).toBeUndefined();
    const empty = buildFeedModel(site, SITE, []);
    expect(feedItemBytes(renderFeed(empty, format), format, 0)).toEqual([]);
  });

  it.each(FEED_FORMATS)('%s: are cut from the bytes of a feed, text beyond ASCII included', (format) => {
    const unicode = [
      {
        ...sample,
        id: `${sample.id}-u1`,
        headline: 'Zürich – “quoted” 😀 naïve',
        tags: [{ name: 'Ünïcode', slug: 'unicode' }],
      },
      {
        ...sample,
        id: `${sample.id}-u2`,
        headline: 'Line\n    {\nbreak "items": [\n inside',
        body: 'Ω and ]]> & <b>',
      },
      sample,
    ];
    const model = buildFeedModel(site, SITE, unicode);
    const written = renderFeedItems(model.items, format);
    const bytes = Buffer.from(renderFeed(model, format));
    const cut = feedItemBytes(bytes, format, 3);
    expect(decoded(cut)).toEqual(written);
    // Views into the document's bytes, not copies.
    for (const item of cut ?? []) expect(item.buffer).toBe(bytes.buffer);
    expect(feedItemBytes(bytes, format, 2)).toBeUndefined();
    expect(feedItemBytes(bytes.subarray(0, bytes.length - 40), format, 3)).toBeUndefined();
  });

  it.each(FEED_FORMATS)(
    '%s: are cut where the layout kept beside the feed says, and searched for when it is off',
    (format) => {
      const forged = {
        ...sample,
        id: `${sample.id}-forged`,
        headline: 'a\n        <item>\nb\n    <entry>\n',
      };
      const model = buildFeedModel(site, SITE, [sample, forged, ...events.slice(0, 4)]);
      const written = renderFeedItems(model.items, format);
      const parts = assembleFeedParts(model, format, written, model.items.some(feedItemHasContent));
      const layout = feedItemLayout(parts, written);
      const bytes = Buffer.from(parts.join(''));
      expect(layout).toHaveLength(2 * written.length + 1);
      expect(layout.at(-1)).toBe(bytes.length);
      // The layout finds the items even where a title forges an item start (a search gives up there).
      expect(decoded(feedItemBytes(bytes, format, written.length, layout))).toEqual(written);
      // A layout that does not fit the document is not trusted: the items are searched for, or not cut.
      const shifted = layout.map((n, i) => (i < layout.length - 1 ? n + 1 : n));
      const searched = feedItemBytes(bytes, format, written.length);
      expect(feedItemBytes(bytes, format, written.length, shifted)).toEqual(searched);
      expect(feedItemBytes(bytes.subarray(0, bytes.length - 1), format, written.length, layout)).toEqual(
        feedItemBytes(bytes.subarray(0, bytes.length - 1), format, written.length),
      );
      expect(feedItemBytes(bytes, format, written.length - 1, layout)).toEqual(
        feedItemBytes(bytes, format, written.length - 1),
      );
    },
  );

  it('are not cut out of a feed whose titles hold an item start of their own', () => {
    const forged = { ...sample, id: `${sample.id}-forged`, headline: 'a\n        <item>\nb' };
    const model = buildFeedModel(site, SITE, [sample, forged]);
    const rss = renderFeed(model, 'rss');
    expect(rss).toBe(renderFeedAtOnce(model, 'rss'));
    expect(feedItemBytes(rss, 'rss', 2)).toBeUndefined();
  });
});

describe('external WebSub hubs (websubHubs)', () => {
  const withHubs: SiteConfig = {
    ...site,
    hubs: ['https://hub.example.net/', 'https://other.example/hub?x=1&y=2'],
  };
  const model = buildFeedModel(withHubs, SITE, events);

  it("are named after the site's own in every format, escaped", () => {
    const atom = renderFeed(model, 'atom');
    expect(atom).toContain(
      '<link rel="hub" href="https://news.example.org/api/websub"/>\n    <link rel="hub" href="https://hub.example.net/"/>\n    <link rel="hub" href="https://other.example/hub?x=1&amp;y=2"/>',
    );
    const rss = renderFeed(model, 'rss');
    expect(rss).toContain('<atom:link href="https://hub.example.net/" rel="hub"/>');
    expect(rss).toContain('<atom:link href="https://other.example/hub?x=1&amp;y=2" rel="hub"/>');
    expect(JSON.parse(renderFeed(model, 'json')).hubs).toEqual([
      { type: 'WebSub', url: 'https://news.example.org/api/websub' },
      { type: 'WebSub', url: 'https://hub.example.net/' },
      { type: 'WebSub', url: 'https://other.example/hub?x=1&y=2' },
    ]);
    for (const format of ['rss', 'atom'] as const)
      expect(() => parseXml(renderFeed(model, format))).not.toThrow();
  });
});
