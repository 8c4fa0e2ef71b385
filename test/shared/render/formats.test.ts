import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { createdEvent, type NewsEvent, parseEventDraft } from '../../../shared/domain/event.js';
import type { SiteConfig } from '../../../shared/domain/site.js';
import { renderEventJson, renderEventXml, renderOpml, xmlSafe } from '../../../shared/render/formats.js';

const site: SiteConfig = {
  siteUrl: 'https://news.example.org',
  title: 'Tidings & Co',
  description: 'News',
  language: 'en',
  feedSize: 20,
};

const NOW = '2017-01-01T00:00:00.000Z';

const eventOf = (overrides: Record<string, unknown> = {}): NewsEvent => {
  const parsed = parseEventDraft({
    date: '2016-11-16',
    headline: 'Putin signs an order to withdraw from the ICC',
    body: 'First paragraph.\n\nSecond paragraph.',
    topic: 'Russian President',
    tags: ['Russia', 'Vladimir Putin'],
    sources: [
      { name: 'The Independent', url: 'https://www.independent.co.uk/a7420676.html' },
      { name: 'Reuters', url: 'https://www.reuters.com/x?a=1&b=2' },
    ],
    image: { url: 'https://static.independent.co.uk/vladimir-putin.jpg', caption: 'Vladimir Putin' },
    ...overrides,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return createdEvent(parsed.draft, NOW);
};

const BASE = 'https://news.example.org/news/2016/11/16/putin-signs-an-order-to-withdraw-from-the-icc';

// Characters XML 1.0 cannot carry; none may reach an XML document.
const ILLEGAL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Reads the XML back as text only: no number parsing, no trimming, entities decoded. */
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  isArray: (name) => ['tag', 'source', 'outline'].includes(name),
});

/** Text content of a parsed element, or '' for an empty one. */
const text = (node: unknown): string =>
  typeof node === 'string' ? node : ((node as Record<string, string> | undefined)?.['#text'] ?? '');

/** What a parser reads back from text written to XML: the legal characters, line ends normalized to LF. */
const readBack = (value: string): string => xmlSafe(value).replace(/\r\n?/g, '\n');

/** The documented field order of both formats. */
const DOCUMENTED_ORDER = [
  'id',
  'date',
  'topic',
  'headline',
  'body',
  'tags',
  'sources',
  'image',
  'publishedAt',
  'updatedAt',
  'revision',
  'permalink',
  'formats',
];

describe('renderEventJson', () => {
  const event = eventOf();
  const json = renderEventJson(site, event);

  it('is the event plus its permalink and formats, in the documented key order', () => {
    const parsed = JSON.parse(json) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(DOCUMENTED_ORDER);
    expect(parsed).toEqual({
      ...event,
      permalink: `${BASE}.html`,
      formats: { html: `${BASE}.html`, json: `${BASE}.json`, xml: `${BASE}.xml` },
    });
  });

  it('is indented by two spaces and ends with a newline', () => {
    expect(json.startsWith('{\n  "id": "2016/11/16/putin-signs-an-order-to-withdraw-from-the-icc",\n')).toBe(
      true,
    );
    expect(json.endsWith('}\n')).toBe(true);
    expect(json.endsWith('\n\n')).toBe(false);
  });

  it('does not depend on the stored object’s key order', () => {
    const shuffled = Object.fromEntries(Object.entries(event).reverse()) as unknown as NewsEvent;
    expect(renderEventJson(site, shuffled)).toBe(json);
  });

  it('leaves out topic, image and caption the event does not have', () => {
    const bare = JSON.parse(renderEventJson(site, eventOf({ topic: undefined, image: undefined }))) as object;
    expect(Object.keys(bare)).not.toContain('topic');
    expect(Object.keys(bare)).not.toContain('image');
    const uncaptioned = JSON.parse(renderEventJson(site, eventOf({ image: { url: 'https://x.org/i.jpg' } })));
    expect(uncaptioned.image).toEqual({ url: 'https://x.org/i.jpg' });
  });

  it('round-trips any text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (headline, body) => {
        const event = { ...eventOf(), headline, body };
        const parsed = JSON.parse(renderEventJson(site, event)) as NewsEvent;
        expect(parsed.headline).toBe(headline);
        expect(parsed.body).toBe(body);
      }),
      { numRuns: 200 },
    );
  });
});

describe('renderEventXml', () => {
  const event = eventOf();
  const xml = renderEventXml(site, event);

  it('is a well-formed XML document with an <event> root', () => {
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<event>\n')).toBe(true);
    expect(xml.endsWith('</event>\n')).toBe(true);
  });

  it('has one child element per field, in the JSON’s order', () => {
    const children = [...xml.matchAll(/^ {2}<([a-zA-Z]+)[ >]/gm)].map((m) => m[1]);
    expect(children).toEqual(DOCUMENTED_ORDER);
  });

  it('carries every field', () => {
    const doc = parser.parse(xml).event;
    expect(doc.id).toBe(event.id);
    expect(doc.date).toBe('2016-11-16');
    expect(doc.topic).toBe('Russian President');
    expect(doc.headline).toBe(event.headline);
    expect(doc.body).toBe('First paragraph.\n\nSecond paragraph.');
    expect(doc.tags.tag).toEqual([
      { '@_slug': 'russia', '#text': 'Russia' },
      { '@_slug': 'vladimir-putin', '#text': 'Vladimir Putin' },
    ]);
    // toMatchObject: with trimValues off, the parser also keeps the indentation between children.
    expect(doc.sources.source).toMatchObject([
      { name: 'The Independent', url: 'https://www.independent.co.uk/a7420676.html' },
      { name: 'Reuters', url: 'https://www.reuters.com/x?a=1&b=2' },
    ]);
    expect(doc.image).toMatchObject({
      url: 'https://static.independent.co.uk/vladimir-putin.jpg',
      caption: 'Vladimir Putin',
    });
    expect(doc.publishedAt).toBe(NOW);
    expect(doc.updatedAt).toBe(NOW);
    expect(doc.revision).toBe('1');
    expect(doc.permalink).toBe(`${BASE}.html`);
    expect(doc.formats).toMatchObject({ html: `${BASE}.html`, json: `${BASE}.json`, xml: `${BASE}.xml` });
    expect(xml).toContain('<url>https://www.reuters.com/x?a=1&amp;b=2</url>');
  });

  it('leaves out topic and image the event does not have, and keeps empty lists', () => {
    const bare = renderEventXml(
      site,
      eventOf({ topic: undefined, image: undefined, tags: [], sources: [], body: '' }),
    );
    expect(XMLValidator.validate(bare)).toBe(true);
    expect(bare).not.toContain('<topic>');
    expect(bare).not.toContain('<image>');
    expect(bare).toContain('<tags></tags>');
    expect(bare).toContain('<sources></sources>');
    expect(bare).toContain('<body></body>');
  });

  it('escapes markup and strips characters XML 1.0 cannot carry', () => {
    const nasty = {
      ...event,
      headline: 'A <b>bold</b> & "quoted" \'claim\' ]]> \u0000\u0001\u0008\u000b\u000c\u001f\ufffe\uffff end',
      body: 'tab\there\r\nline\u0007 lone \ud800 high, lone \udc00 low, pair \ud83d\ude00 kept',
      tags: [{ slug: 'a-b', name: 'A "&" <B>\u0002' }],
      sources: [{ name: '<script>alert(1)</script>', url: 'https://x.org/?a=1&b=<2>' }],
    };
    const out = renderEventXml(site, nasty);
    expect(XMLValidator.validate(out)).toBe(true);
    expect(ILLEGAL.test(out)).toBe(false);
    expect(out).not.toContain('<b>');
    expect(out).not.toContain('<script>');
    const doc = parser.parse(out).event;
    expect(doc.headline).toBe('A <b>bold</b> & "quoted" \'claim\' ]]>  end');
    // XML parsers turn CR LF into LF (XML 1.0 §2.11); stored bodies have LF only anyway.
    expect(doc.body).toBe('tab\there\nline lone  high, lone  low, pair 😀 kept');
    expect(doc.tags.tag).toEqual([{ '@_slug': 'a-b', '#text': 'A "&" <B>' }]);
    expect(doc.sources.source[0]).toMatchObject({
      name: '<script>alert(1)</script>',
      url: 'https://x.org/?a=1&b=<2>',
    });
  });

  it('stays well-formed for any text, which reads back without the illegal characters (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 20 }),
        (headline, body, tagName) => {
          const out = renderEventXml(site, {
            ...event,
            headline,
            body,
            tags: [{ slug: 'x', name: tagName }],
          });
          expect(XMLValidator.validate(out)).toBe(true);
          expect(ILLEGAL.test(out)).toBe(false);
          const doc = parser.parse(out).event;
          expect(text(doc.headline)).toBe(readBack(headline));
          expect(text(doc.body)).toBe(readBack(body));
          expect(text(doc.tags.tag[0])).toBe(readBack(tagName));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('xmlSafe', () => {
  it.each([
    ['plain text', 'plain text'],
    ['keeps\ttab\nLF\rCR', 'keeps\ttab\nLF\rCR'],
    ['drops\u0000\u0001\u001f C0', 'drops C0'],
    ['keeps \u007f\u0085 C1 and \ufffd', 'keeps \u007f\u0085 C1 and \ufffd'],
    ['drops \ufffe\uffff', 'drops '],
    ['drops lone \ud800 and \udfff', 'drops lone  and '],
    ['drops reversed \udc00\ud800 pair', 'drops reversed  pair'],
    ['keeps \ud83d\ude00 pairs', 'keeps \ud83d\ude00 pairs'],
  ])('%j', (input, expected) => {
    expect(xmlSafe(input)).toBe(expected);
  });
});

describe('renderOpml', () => {
  const tags = [
    { slug: 'vladimir-putin', name: 'Vladimir Putin', count: 3 },
    { slug: 'ile-de-france', name: 'Île-de-France', count: 1 },
    { slug: 'russia', name: 'Russia', count: 5 },
    { slug: 'at-t', name: 'AT&T "Inc" <x>', count: 1 },
  ];
  const opml = renderOpml(site, tags);

  it('is a well-formed OPML 2.0 document', () => {
    expect(XMLValidator.validate(opml)).toBe(true);
    expect(opml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n')).toBe(true);
    const doc = parser.parse(opml).opml;
    expect(doc['@_version']).toBe('2.0');
    expect(doc.head.title).toBe('Tidings & Co: tag feeds');
  });

  it('lists every tag’s RSS feed by name, with absolute URLs', () => {
    const outlines = parser.parse(opml).opml.body.outline as Record<string, string>[];
    expect(outlines).toEqual([
      {
        '@_type': 'rss',
        '@_text': 'AT&T "Inc" <x>',
        '@_title': 'AT&T "Inc" <x>',
        '@_xmlUrl': 'https://news.example.org/feeds/tags/at-t.rss',
        '@_htmlUrl': 'https://news.example.org/tags/at-t.html',
      },
      {
        '@_type': 'rss',
        '@_text': 'Île-de-France',
        '@_title': 'Île-de-France',
        '@_xmlUrl': 'https://news.example.org/feeds/tags/ile-de-france.rss',
        '@_htmlUrl': 'https://news.example.org/tags/ile-de-france.html',
      },
      {
        '@_type': 'rss',
        '@_text': 'Russia',
        '@_title': 'Russia',
        '@_xmlUrl': 'https://news.example.org/feeds/tags/russia.rss',
        '@_htmlUrl': 'https://news.example.org/tags/russia.html',
      },
      {
        '@_type': 'rss',
        '@_text': 'Vladimir Putin',
        '@_title': 'Vladimir Putin',
        '@_xmlUrl': 'https://news.example.org/feeds/tags/vladimir-putin.rss',
        '@_htmlUrl': 'https://news.example.org/tags/vladimir-putin.html',
      },
    ]);
    for (const o of outlines) {
      expect(new URL(o['@_xmlUrl'] ?? '').href).toBe(o['@_xmlUrl']);
      expect(new URL(o['@_htmlUrl'] ?? '').href).toBe(o['@_htmlUrl']);
    }
  });

  it('has as many outlines as tags, for many tags', () => {
    const many = Array.from({ length: 250 }, (_, i) => ({ slug: `tag-${i}`, name: `Tag ${i}` }));
    const doc = parser.parse(renderOpml(site, many)).opml;
    expect(doc.body.outline).toHaveLength(250);
    expect(new Set(doc.body.outline.map((o: Record<string, string>) => o['@_xmlUrl'])).size).toBe(250);
  });

  it('is well-formed with no tags', () => {
    expect(XMLValidator.validate(renderOpml(site, []))).toBe(true);
  });
});
