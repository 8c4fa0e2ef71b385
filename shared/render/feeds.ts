import { Feed, type FeedOptions, type Item } from 'feed';
import type { FeedCategory, FeedItemModel, FeedModel } from '../domain/feed-model.js';
import type { FeedFormat } from '../domain/site.js';

/*
 * RSS 2.0, Atom 1.0 and JSON Feed 1.1 from a FeedModel, written by the `feed` package. This is the only
 * module that imports it, and it works around what `feed` 6 (and xml-js under it) gets wrong:
 *
 * - Characters XML 1.0 cannot carry pass through, making the document ill-formed: every string is
 *   cleaned first (`clean`).
 * - Element text goes through xml-js, which first turns every `&amp;` back into `&` ("to avoid double
 *   sanitization") and only then escapes: a literal "&amp;" would come out as "&". Text is handed over
 *   with `&` already doubled (`text`), which the un-escaping exactly undoes.
 * - CDATA sections split only the first `]]>`; a second one ends the section early. `cdata` splits the
 *   others itself.
 * - Atom titles and summaries are declared type="html" but written raw, so a headline with `<b>` or
 *   `&amp;` in it would be read as markup: they are HTML-escaped here.
 * - Atom category attributes only get `&` escaped (a `<` in a tag name makes the document ill-formed),
 *   enclosure types are `image/<extension>` (`image/jpg`, `image/svg`, `image//photo`), and entries
 *   can have no other links: categories, related and enclosure links are written here, into each entry.
 * - An Atom entry id that is not a URL throws: ids are permalinks.
 * - RSS guids are isPermaLink="false" whenever an id is given: RSS items get no id, so the guid is the
 *   link, isPermaLink="true".
 * - RSS and Atom only link to themselves (rel="self") when given the feed's URL; both get it.
 * - `updated` defaults to now: the model's is always passed, so unchanged feeds are byte-identical.
 * - JSON Feed output claims version 1, has a single `author` and no `language`: rewritten as 1.1.
 */

// C0 controls but tab, LF and CR; U+FFFE and U+FFFF; and, with the `u` flag, only unpaired surrogates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const XML_ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/gu;

/** The string without characters XML 1.0 cannot carry, line breaks as XML parsers would read them. */
export const clean = (value: string): string => value.replace(XML_ILLEGAL, '').replace(/\r\n?/g, '\n');

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text as HTML text or attribute value, after cleaning. */
export const escapeHtml = (value: string): string =>
  clean(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

/** A value for an XML attribute written here: markup escaped, whitespace kept (not normalized to spaces). */
const attr = (value: string): string =>
  clean(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;');

/** Text for an element xml-js writes: it un-escapes `&amp;` before escaping, so `&` is doubled first. */
const text = (value: string): string => clean(value).replace(/&/g, '&amp;');

/**
 * A value for a CDATA section xml-js writes. It splits the first `]]>` (`]]]]><![CDATA[>`) and leaves the
 * rest to end the section early, so the others are split here. `]]>` cannot overlap itself, so the first
 * one in the result is still the original first one.
 */
const cdata = (value: string): string => {
  const first = value.indexOf(']]>');
  return first < 0
    ? value
    : value.slice(0, first + 3) + value.slice(first + 3).replaceAll(']]>', ']]]]><![CDATA[>');
};

/** The item's HTML: image, paragraphs and, where the format has nowhere better for them, the sources. */
const contentHtml = (item: FeedItemModel, withSources: boolean): string => {
  const parts: string[] = [];
  if (item.image) {
    const { url, caption } = item.image;
    const figcaption = caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : '';
    parts.push(
      `<figure><img src="${escapeHtml(url)}" alt="${escapeHtml(caption ?? '')}">${figcaption}</figure>`,
    );
  }
  const paragraphs = item.paragraphs.length > 0 ? item.paragraphs : [item.summary];
  for (const paragraph of paragraphs.map(escapeHtml)) if (paragraph) parts.push(`<p>${paragraph}</p>`);
  if (withSources && item.sources.length > 0) {
    const list = item.sources.map((source) =>
      source.url
        ? `<li><a href="${escapeHtml(source.url)}">${escapeHtml(source.name)}</a></li>`
        : `<li>${escapeHtml(source.name)}</li>`,
    );
    parts.push(`<p>Sources:</p><ul>${list.join('')}</ul>`);
  }
  return parts.join('');
};

/** The item's tags, cleaned; one left with no slug or no name says nothing and is dropped. */
const categoriesOf = (item: FeedItemModel): FeedCategory[] =>
  item.categories
    .map((c) => ({ term: clean(c.term), label: clean(c.label), scheme: c.scheme }))
    .filter((c) => c.term !== '' && c.label !== '');

const GENERATOR = 'Tidings';

const optionsFor = (model: FeedModel, format: FeedFormat): FeedOptions => {
  const encode = format === 'json' ? clean : text;
  return {
    id: encode(model.id),
    title: encode(model.title),
    description: encode(model.description),
    link: clean(model.links.html),
    language: encode(model.language),
    updated: new Date(model.updated),
    generator: GENERATOR,
    feedLinks: {
      rss: clean(model.links.feeds.rss.href),
      atom: clean(model.links.feeds.atom.href),
      json: clean(model.links.feeds.json.href),
    },
    author: { name: encode(model.author.name), link: clean(model.author.url) },
  };
};

const rssItem = (item: FeedItemModel): Item => {
  const entry: Item = {
    // No id or guid: only then does `feed` write the link as the guid with isPermaLink="true".
    title: cdata(clean(item.title)),
    link: clean(item.url),
    date: new Date(item.updated),
    published: new Date(item.published),
    description: cdata(escapeHtml(item.summary)),
    content: cdata(contentHtml(item, true)),
    category: categoriesOf(item).map((c) => ({ name: text(c.label), domain: attr(c.scheme) })),
  };
  // RSS requires an enclosure's type: an image of unknown type is only shown in the content.
  if (item.image?.type)
    entry.enclosure = { url: clean(item.image.url), type: clean(item.image.type), length: 0 };
  return entry;
};

const atomItem = (item: FeedItemModel): Item => ({
  // type="html": the headline and summary are plain text, so they are escaped into HTML.
  title: cdata(escapeHtml(item.title)),
  id: clean(item.id),
  link: clean(item.url),
  date: new Date(item.updated),
  published: new Date(item.published),
  description: cdata(escapeHtml(item.summary)),
  content: cdata(contentHtml(item, false)),
});

const jsonItem = (item: FeedItemModel): Item => {
  const tidings: Record<string, unknown> = {
    sources: item.sources.map((s) =>
      s.url ? { name: clean(s.name), url: clean(s.url) } : { name: clean(s.name) },
    ),
  };
  if (item.topic !== undefined) tidings.topic = clean(item.topic);
  const entry: Item = {
    title: clean(item.title),
    id: clean(item.id),
    link: clean(item.url),
    date: new Date(item.updated),
    published: new Date(item.published),
    description: clean(item.summary),
    content: contentHtml(item, true),
    category: categoriesOf(item).map((c) => ({ name: c.label })),
    extensions: [{ name: '_tidings', objects: tidings }],
  };
  if (item.image) entry.image = clean(item.image.url);
  return entry;
};

const ITEM_BUILDERS: Record<FeedFormat, (item: FeedItemModel) => Item> = {
  rss: rssItem,
  atom: atomItem,
  json: jsonItem,
};

/** Replaces the one match of `pattern` in `xml`, or fails: the output is not what this module expects. */
const replaceOnce = (
  xml: string,
  pattern: RegExp,
  replacement: (match: RegExpExecArray) => string,
): string => {
  const match = pattern.exec(xml);
  if (!match) throw new Error(`feed output has no ${pattern.source}: the feed package changed`);
  return xml.slice(0, match.index) + replacement(match) + xml.slice(match.index + match[0].length);
};

const siblingFormats = (self: FeedFormat): FeedFormat[] =>
  (['rss', 'atom', 'json'] as const).filter((format) => format !== self);

const atomEntryLinks = (item: FeedItemModel, indent: string): string => {
  const lines = [`<link rel="alternate" type="text/html" href="${attr(item.url)}"/>`];
  for (const source of item.sources) {
    if (source.url)
      lines.push(`<link rel="related" href="${attr(source.url)}" title="${attr(source.name)}"/>`);
  }
  if (item.image) {
    const { url, type, caption } = item.image;
    const typeAttr = type ? ` type="${attr(type)}"` : '';
    const titleAttr = caption ? ` title="${attr(caption)}"` : '';
    lines.push(`<link rel="enclosure" href="${attr(url)}"${typeAttr}${titleAttr}/>`);
  }
  for (const c of categoriesOf(item)) {
    lines.push(`<category term="${attr(c.term)}" scheme="${attr(c.scheme)}" label="${attr(c.label)}"/>`);
  }
  return lines.map((line) => indent + line).join('\n');
};

/** Language, typed and sibling links: what `feed` cannot write into an Atom feed's head. */
const finishAtomHead = (head: string, model: FeedModel): string => {
  const withLanguage = replaceOnce(
    head,
    /<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom">/,
    (m) => `${m[0].slice(0, -1)} xml:lang="${attr(model.language)}">`,
  );
  return replaceOnce(
    withLanguage,
    /^( *)<link rel="alternate" href="[^"]*"\/>\n *<link rel="self" href="[^"]*"\/>$/m,
    (m) => {
      const indent = m[1] ?? '';
      const { feeds, html } = model.links;
      return [
        `<link rel="alternate" type="text/html" href="${attr(html)}"/>`,
        `<link rel="self" type="${attr(feeds.atom.type)}" href="${attr(feeds.atom.href)}"/>`,
        ...siblingFormats('atom').map(
          (f) => `<link rel="alternate" type="${attr(feeds[f].type)}" href="${attr(feeds[f].href)}"/>`,
        ),
      ]
        .map((line) => indent + line)
        .join('\n');
    },
  );
};

/**
 * Per entry: the alternate link's type, related links, the enclosure with its real type, escaped
 * categories. Entry text is escaped and its HTML is ours, so the entry's only `<link` line is the one
 * `feed` wrote.
 */
const finishAtomEntry = (entry: string, item: FeedItemModel): string =>
  replaceOnce(entry, /^( *)<link href="[^"]*"\/>$/m, (m) => atomEntryLinks(item, m[1] ?? ''));

/** Adds the sibling formats next to the RSS feed's self link. */
const finishRssHead = (head: string, model: FeedModel): string => {
  const { feeds } = model.links;
  return replaceOnce(head, /^( *)<atom:link href="[^"]*" rel="self" type="application\/rss\+xml"\/>$/m, (m) =>
    [
      m[0],
      ...siblingFormats('rss').map(
        (f) =>
          `${m[1] ?? ''}<atom:link href="${attr(feeds[f].href)}" rel="alternate" type="${attr(feeds[f].type)}"/>`,
      ),
    ].join('\n'),
  );
};

/*
 * Feeds are assembled from items written one at a time. xml-js writes an item the same wherever it
 * stands (same depth, nothing taken from its neighbours or the feed's options), so an item written
 * alone is byte for byte the item written among others: each item is written once per format and
 * placed in every feed that lists it (the site feed and the feed of each of its tags). It is also
 * much faster: xml-js joins strings level by level, and once any text in a document is outside
 * Latin-1 (a curly quote in one headline, or in a tag feed's description) those joins run about ten
 * times slower over the whole document. `renderFeedAtOnce` writes a feed in one go, for comparison.
 */

/** The item and channel elements `feed` writes, by format. */
const ITEM_ELEMENT = { rss: 'item', atom: 'entry' } as const;

/** `doc` cut around its only item: what comes before the item's line, the item, what follows it. */
const splitAroundItem = (doc: string, element: string): [head: string, item: string, tail: string] => {
  const open = new RegExp(`\\n *<${element}>\\n`).exec(doc);
  const close = doc.lastIndexOf(`</${element}>`);
  if (!open || close < open.index)
    throw new Error(`feed output has no <${element}>: the feed package changed`);
  const end = close + element.length + 3;
  return [doc.slice(0, open.index), doc.slice(open.index, end), doc.slice(end)];
};

/** A feed of one item needs options; nothing of them reaches the item. */
const ITEM_ALONE: FeedOptions = { id: 'https://item.invalid/', title: '', link: 'https://item.invalid/' };

/**
 * A JSON Feed item as the feed's `items` array holds it: indented for its place. Only `\n` breaks
 * lines (JSON escapes it inside strings; U+2028 and U+2029 stay as they are and do not).
 */
const indentJsonItem = (item: unknown): string =>
  `    ${JSON.stringify(item, null, 2).replaceAll('\n', '\n    ')}`;

/** The item's JSON Feed object, written by `feed` alone, as the feed's `items` array holds it. */
const jsonItemText = (item: Item): string => {
  const feed = new Feed({ ...ITEM_ALONE, updated: new Date(0) });
  feed.addItem(item);
  const [only] = (JSON.parse(feed.json1()) as JsonFeedOut).items;
  return indentJsonItem(only);
};

/**
 * One item as it stands inside its feed in `format`: written by `feed`, with the same repairs a whole
 * feed gets. Pure; pass the results, in the model's order, to `assembleFeed`.
 */
export const renderFeedItem = (item: FeedItemModel, format: FeedFormat): string => {
  const entry = ITEM_BUILDERS[format](item);
  if (format === 'json') return jsonItemText(entry);
  const feed = new Feed({ ...ITEM_ALONE, updated: new Date(0) });
  feed.addItem(entry);
  const [, text] = splitAroundItem(format === 'rss' ? feed.rss2() : feed.atom1(), ITEM_ELEMENT[format]);
  return format === 'atom' ? finishAtomEntry(text, item) : text;
};

/** RSS declares the content namespace only when some item has content: what `contentHtml` gives. */
const hasContent = (item: FeedItemModel): boolean =>
  item.image !== undefined ||
  item.sources.length > 0 ||
  (item.paragraphs.length > 0 ? item.paragraphs : [item.summary]).some((p) => clean(p) !== '');

/** Where the items end: what follows them in a feed `feed` writes. */
const AFTER_ITEMS = { rss: '\n    </channel>', atom: '\n</feed>' } as const;

/** The feed around its items: `feed` writes it with one stand-in item, which is then cut out. */
const frameOf = (model: FeedModel, format: 'rss' | 'atom'): [head: string, tail: string] => {
  const feed = new Feed(optionsFor(model, format));
  if (model.items.length > 0) {
    const standIn: Item = { title: 'item', link: 'https://item.invalid/', date: new Date(0) };
    if (format === 'rss' && model.items.some(hasContent)) standIn.content = 'item';
    feed.addItem(standIn);
    const [head, , tail] = splitAroundItem(
      format === 'rss' ? feed.rss2() : feed.atom1(),
      ITEM_ELEMENT[format],
    );
    return [head, tail];
  }
  const doc = format === 'rss' ? feed.rss2() : feed.atom1();
  const end = doc.lastIndexOf(AFTER_ITEMS[format]);
  if (end < 0) throw new Error(`feed output has no ${AFTER_ITEMS[format].trim()}: the feed package changed`);
  return [doc.slice(0, end), doc.slice(end)];
};

interface JsonFeedOut {
  items: Record<string, unknown>[];
}

/** JSON Feed 1.1 (`feed` writes version 1 with a single `author` and no language), around the items. */
const assembleJson = (model: FeedModel, items: readonly string[]): string => {
  const out = {
    version: 'https://jsonfeed.org/version/1.1',
    title: clean(model.title),
    home_page_url: clean(model.links.html),
    feed_url: clean(model.links.feeds.json.href),
    description: clean(model.description),
    language: clean(model.language),
    authors: [{ name: clean(model.author.name), url: clean(model.author.url) }],
    items: [] as unknown[],
  };
  const empty = `${JSON.stringify(out, null, 2)}\n`;
  if (items.length === 0) return empty;
  const at = empty.lastIndexOf('"items": []');
  return `${empty.slice(0, at)}"items": [\n${items.join(',\n')}\n  ]${empty.slice(at + '"items": []'.length)}`;
};

/**
 * The feed in one format from its model and its items as `renderFeedItem` wrote them (one per
 * model item, in order). Pure: the same model gives the same bytes.
 */
export const assembleFeed = (model: FeedModel, format: FeedFormat, items: readonly string[]): string => {
  if (items.length !== model.items.length)
    throw new Error(`a feed of ${model.items.length} items was given ${items.length}`);
  if (format === 'json') return assembleJson(model, items);
  const [head, tail] = frameOf(model, format);
  const finished = format === 'rss' ? finishRssHead(head, model) : finishAtomHead(head, model);
  return finished + items.join('') + tail;
};

/** The feed in one format. Pure: the same model gives the same bytes. */
export const renderFeed = (model: FeedModel, format: FeedFormat): string =>
  assembleFeed(
    model,
    format,
    model.items.map((item) => renderFeedItem(item, format)),
  );

/**
 * The same feed written by `feed` in one go, all items in one document, then repaired: what
 * `renderFeed` must equal byte for byte (the tests compare them), and several times slower.
 */
export const renderFeedAtOnce = (model: FeedModel, format: FeedFormat): string => {
  const feed = new Feed(optionsFor(model, format));
  const build = ITEM_BUILDERS[format];
  for (const item of model.items) feed.addItem(build(item));
  if (format === 'json') {
    const parsed = JSON.parse(feed.json1()) as JsonFeedOut;
    return assembleJson(model, parsed.items.map(indentJsonItem));
  }
  const doc = format === 'rss' ? feed.rss2() : feed.atom1();
  const first = new RegExp(`\\n *<${ITEM_ELEMENT[format]}>\\n`).exec(doc);
  const split = first ? first.index : doc.lastIndexOf(AFTER_ITEMS[format]);
  const head = doc.slice(0, split);
  let entries = doc.slice(split);
  if (format === 'atom') {
    let index = 0;
    entries = entries.replace(/^( *)<link href="[^"]*"\/>$/gm, (_line, indent: string) => {
      const item = model.items[index++];
      if (!item) throw new Error('feed output has more Atom entries than the model has items');
      return atomEntryLinks(item, indent);
    });
  }
  return (format === 'rss' ? finishRssHead(head, model) : finishAtomHead(head, model)) + entries;
};
