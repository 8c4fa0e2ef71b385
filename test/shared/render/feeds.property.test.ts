import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { NewsEvent } from '../../../shared/domain/event.js';
import { buildFeedModel, feedHeadOf, feedItems } from '../../../shared/domain/feed-model.js';
import { defaultSiteConfig, type FeedScope, type SiteConfig } from '../../../shared/domain/site.js';
import { tagSlug } from '../../../shared/domain/slug.js';
import { renderFeed, renderFeedAtOnce } from '../../../shared/render/feeds.js';
import { makeNewsEvent } from '../../helpers/builders.js';
import { isXmlChar, textOf, type XmlNode, xmlParser } from '../../helpers/xml.js';

// Defence in depth: events built here skip validation, so every string can hold what validation would
// have refused. The feeds must still be well-formed, hold no character XML cannot carry, and give
// back the text they were given, minus those characters.

const site: SiteConfig = defaultSiteConfig('https://news.example.org');

/** What a feed can say of a text: XML-illegal characters dropped, line breaks as an XML parser reads them. */
const legal = (s: string): string =>
  [...s]
    .filter((c) => isXmlChar(c.codePointAt(0) ?? 0))
    .join('')
    .replace(/\r\n?/g, '\n');
const illegalIn = (s: string): string[] => [...s].filter((c) => !isXmlChar(c.codePointAt(0) ?? 0));

/**
 * Why a document is not well-formed XML, for what these feeds use (declaration, elements, attributes,
 * text, CDATA, references; no DTD). Stricter than XMLValidator, which accepts `<` in attribute values,
 * control characters and `]]>` in text. Also flags raw whitespace in attribute values, which
 * fast-xml-parser keeps but a conforming parser turns into spaces.
 */
const wellFormednessProblems = (xml: string): string[] => {
  const problems = illegalIn(xml).map((c) => `illegal character U+${(c.codePointAt(0) ?? 0).toString(16)}`);
  const refsOk = (s: string): boolean =>
    /^(?:[^&]|&(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)*$/.test(s);
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^<"]*"|'[^<']*'))*)\s*(\/?)>/y;
  const attribute = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  const stack: string[] = [];
  let roots = 0;
  let i = xml.startsWith('<?xml') ? xml.indexOf('?>') + 2 : 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (stack.length === 0 && text.trim()) problems.push(`text outside the root: ${text.slice(0, 40)}`);
    if (text.includes(']]>')) problems.push(`"]]>" in text: ${text.slice(0, 40)}`);
    if (!refsOk(text)) problems.push(`bare "&" in text: ${text.slice(0, 40)}`);
    if (lt < 0) break;
    const special = (
      [
        ['<![CDATA[', ']]>'],
        ['<!--', '-->'],
        ['<?', '?>'],
      ] as const
    ).find(([open]) => xml.startsWith(open, lt));
    if (special) {
      const end = xml.indexOf(special[1], lt + special[0].length);
      if (end < 0 || (special[0] === '<![CDATA[' && stack.length === 0)) {
        problems.push(`unterminated or misplaced ${special[0]}`);
        break;
      }
      i = end + special[1].length;
      continue;
    }
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (!m) {
      problems.push(`malformed markup: ${xml.slice(lt, lt + 60)}`);
      break;
    }
    const [whole, close, name = '', attributes = '', selfClosing] = m;
    if (close) {
      if (attributes || selfClosing) problems.push(`malformed end tag ${whole}`);
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open}>`);
    } else {
      const names = new Set<string>();
      for (const [, attr = '', dq, sq] of attributes.matchAll(attribute)) {
        if (names.has(attr)) problems.push(`attribute ${attr} repeated`);
        names.add(attr);
        if (!refsOk(dq ?? sq ?? '')) problems.push(`bare "&" in attribute ${attr}`);
        // Not ill-formed, but a parser reads them as spaces (attribute-value normalization): text would change.
        if (/[\t\n\r]/.test(dq ?? sq ?? '')) problems.push(`raw tab or line break in attribute ${attr}`);
      }
      if (stack.length === 0) roots++;
      if (!selfClosing) stack.push(name);
    }
    i = lt + whole.length;
  }
  if (stack.length > 0) problems.push(`unclosed ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
};

/** HTML text as a reader shows it: the renderer escapes only these five. */
const unescapeHtml = (s: string): string =>
  s.replace(
    /&(amp|lt|gt|quot|#39);/g,
    (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e] ?? '',
  );

// Pieces that break naive XML, HTML or JSON writers, and characters XML 1.0 cannot carry.
const NASTY = [
  ']]>',
  ']]',
  '<![CDATA[',
  '<script>alert(1)</script>',
  '&amp;',
  '&lt;',
  '&#9;',
  '&',
  '<',
  '>',
  '"',
  "'",
  '\\',
  '</title>',
  '<entry>',
  '</entry>',
  '<item>',
  '<link href="https://evil.example/"/>',
  '\u2028',
  '\ufeff',
  '😀',
  '👩‍👩‍👧',
  '\r\n',
  '\r',
  '\n\n',
  '\t',
  '\ufffe',
  '\uffff',
];
const char = (min: number, max: number) => fc.integer({ min, max }).map((cp) => String.fromCharCode(cp));
const unit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: char(0x00, 0x1f) },
  { weight: 1, arbitrary: char(0x7f, 0x9f) },
  { weight: 1, arbitrary: char(0xd800, 0xdfff) },
  { weight: 2, arbitrary: fc.constantFrom('Syria', 'news ', 'a', ' ') },
);
const nasty = (maxLength = 12) => fc.array(unit, { maxLength }).map((parts) => parts.join(''));

const url = fc.oneof(
  fc.constantFrom(
    'https://example.com/a?b=1&c=2',
    'https://example.com/photo.JPG',
    'https://example.com/x.svg',
  ),
  nasty(4).map((s) => `https://example.com/${s}.png`),
  nasty(4),
);

const instant = fc
  .integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2030-01-01T00:00:00Z') })
  .map((ms) => new Date(ms).toISOString());

const eventArb = (index: number) =>
  fc
    .record({
      headline: nasty(),
      body: nasty(20),
      topic: fc.option(nasty(), { nil: undefined }),
      tags: fc.array(nasty(6), { maxLength: 3 }),
      sources: fc.array(fc.record({ name: nasty(6), url }), { maxLength: 2 }),
      image: fc.option(fc.record({ url, caption: fc.option(nasty(6), { nil: undefined }) }), {
        nil: undefined,
      }),
      weirdId: fc.option(nasty(4), { freq: 4, nil: undefined }),
      publishedAt: instant,
      updatedAt: instant,
    })
    .map(({ headline, body, topic, tags, sources, image, weirdId, publishedAt, updatedAt }): NewsEvent => {
      const event: NewsEvent = {
        id: `2016/11/16/event-${index}${weirdId ?? ''}`,
        date: '2016-11-16',
        headline,
        body,
        tags: tags.map((name) => ({ slug: tagSlug(name) || name, name })),
        sources,
        publishedAt,
        updatedAt,
        revision: 1,
      };
      if (topic !== undefined) event.topic = topic;
      if (image)
        event.image =
          image.caption === undefined ? { url: image.url } : { url: image.url, caption: image.caption };
      return event;
    });

const eventsArb = fc
  .integer({ min: 0, max: 4 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => eventArb(i))));
const scopeArb: fc.Arbitrary<FeedScope> = fc.oneof(
  fc.constant<FeedScope>({ kind: 'site' }),
  fc
    .record({ slug: nasty(4), name: nasty(6) })
    .map(({ slug, name }): FeedScope => ({ kind: 'tag', slug, name })),
);

describe('feeds of arbitrary text (property)', () => {
  it('are well-formed, carry only legal characters and give the text back', () => {
    fc.assert(
      fc.property(scopeArb, eventsArb, (scope, events) => {
        const model = buildFeedModel(site, scope, events);
        const title = legal(model.title);
        const headlines = model.items.map((i) => legal(i.title));
        // Categories as the feeds should carry them: cleaned, and dropped when that leaves no slug or name.
        const categories = model.items.map((i) =>
          i.categories
            .map((c) => ({ term: legal(c.term), label: legal(c.label) }))
            .filter((c) => c.term !== '' && c.label !== ''),
        );

        const rss = renderFeed(model, 'rss');
        expect(XMLValidator.validate(rss)).toBe(true);
        expect(wellFormednessProblems(rss)).toEqual([]);
        const channel = xmlParser.parse(rss).rss.channel;
        expect(textOf(channel.title)).toBe(title);
        const items: XmlNode[] = channel.item ?? [];
        expect(items).toHaveLength(model.items.length);
        items.forEach((item, i) => {
          // `feed` leaves out an empty title; RSS needs a title or a description, and there is always a description.
          expect(item.title === undefined ? '' : textOf(item.title)).toBe(headlines[i]);
          expect((item.category ?? []).map(textOf)).toEqual(categories[i]?.map((c) => c.label));
        });

        const atom = renderFeed(model, 'atom');
        expect(XMLValidator.validate(atom)).toBe(true);
        expect(wellFormednessProblems(atom)).toEqual([]);
        const feed = xmlParser.parse(atom).feed;
        expect(textOf(feed.title)).toBe(title);
        const entries: XmlNode[] = feed.entry ?? [];
        expect(entries).toHaveLength(model.items.length);
        entries.forEach((entry, i) => {
          const item = model.items[i];
          expect(unescapeHtml(textOf(entry.title))).toBe(headlines[i]);
          expect(textOf(entry.id)).toBe(item?.id);
          expect((entry.category ?? []).map((c: XmlNode) => [c['@_term'], c['@_label']])).toEqual(
            categories[i]?.map((c) => [c.term, c.label]),
          );
          expect(
            entry.link.filter((l: XmlNode) => l['@_rel'] === 'related').map((l: XmlNode) => l['@_title']),
          ).toEqual(item?.sources.filter((s) => s.url).map((s) => legal(s.name)));
        });

        const json = JSON.parse(renderFeed(model, 'json'));
        expect(json.version).toBe('https://jsonfeed.org/version/1.1');
        expect(json.title).toBe(title);
        expect(json.items).toHaveLength(model.items.length);
        json.items.forEach((item: XmlNode, i: number) => {
          expect(item.title ?? '').toBe(headlines[i]);
          expect(item.tags).toEqual(categories[i]?.map((c) => c.label));
          expect(illegalIn(JSON.stringify(item))).toEqual([]);
        });
        expect(illegalIn(JSON.stringify(json))).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('are assembled from items written alone to the same bytes as `feed` writing the whole feed at once', () => {
    fc.assert(
      fc.property(scopeArb, eventsArb, (scope, events) => {
        const model = buildFeedModel(site, scope, events);
        for (const format of ['rss', 'atom', 'json'] as const)
          expect(renderFeed(model, format)).toBe(renderFeedAtOnce(model, format));
      }),
      { numRuns: 300 },
    );
  });

  it('have the frames `feed` writes, for plain and unusual heads, subscription feeds and archive documents', () => {
    // Frames of heads whose values `feed` writes as they are come from templates (see `frameOf`):
    // names that are plain or not, months with and without neighbours, sites with other languages
    // and hubs, feeds with and without items, in turn and again.
    const name = fc.oneof(fc.stringMatching(/^[A-Z][a-z]{0,8}( [A-Z][a-z]{0,8}){0,2}$/), nasty(4));
    const scope: fc.Arbitrary<FeedScope> = fc.oneof(
      fc.constant<FeedScope>({ kind: 'site' }),
      name.map((n): FeedScope => ({ kind: 'tag', slug: tagSlug(n) || 'x', name: n })),
      name.map((n): FeedScope => ({ kind: 'topic', slug: tagSlug(n) || 'x', name: n })),
    );
    const month = fc.integer({ min: 1, max: 12 }).map((m) => `2016-${String(m).padStart(2, '0')}`);
    const place = fc.option(
      fc.record({
        month,
        links: fc.record({
          prev: fc.option(month, { nil: undefined }),
          next: fc.option(month, { nil: undefined }),
        }),
      }),
      { nil: undefined },
    );
    const siteArb = fc.record({
      language: fc.constantFrom('en', 'fr-CA'),
      hubs: fc.constantFrom([], ['https://hub.example.net/'], ['https://hub.example.net/a?b=1&c=2']),
      title: fc.constantFrom('Tidings', 'Tidings & more', 'Nouvelles “à la une”'),
    });
    fc.assert(
      fc.property(scope, place, fc.integer({ min: 0, max: 3 }), siteArb, (scope, place, count, settings) => {
        const config: SiteConfig = { ...site, ...settings };
        const items = Array.from({ length: count }, (_, i) =>
          feedItems(config)(makeNewsEvent(i, ['Alpha'], { id: `2016/11/16/event-${i}` })),
        );
        const links = place && {
          month: place.month,
          links: {
            ...(place.links.prev ? { prev: place.links.prev } : {}),
            ...(place.links.next ? { next: place.links.next } : {}),
          },
        };
        const head = feedHeadOf(config, scope, items, links);
        const formats = links ? (['rss', 'atom'] as const) : (['rss', 'atom', 'json'] as const);
        for (const format of formats)
          for (let twice = 0; twice < 2; twice++)
            expect(renderFeed({ ...head, items }, format)).toBe(renderFeedAtOnce({ ...head, items }, format));
      }),
      { numRuns: 400 },
    );
  });

  it('has a checker that would catch what XMLValidator lets through', () => {
    for (const bad of [
      '<r a="<"/>',
      '<r a="x\ty"/>',
      '<r>\u0001</r>',
      '<r>a]]>b</r>',
      '<r>&</r>',
      '<r><![CDATA[a]]>b]]></r>',
      '<a/><b/>',
    ]) {
      expect(wellFormednessProblems(bad)).not.toEqual([]);
    }
    expect(
      wellFormednessProblems('<?xml version="1.0"?>\n<r a="&amp;&#10;"><![CDATA[<x>]]]]><![CDATA[>]]></r>'),
    ).toEqual([]);
  });
});
