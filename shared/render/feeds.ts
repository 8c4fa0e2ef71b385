import { Feed, type FeedOptions, type Item } from 'feed';
import type { FeedCategory, FeedHead, FeedItemModel, FeedLink, FeedModel } from '../domain/feed-model.js';
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
 * - The WebSub hub (`hub`) reaches RSS (`atom:link rel="hub"`) and Atom but never JSON Feed's `hubs`,
 *   written here with the rest of the JSON Feed head.
 */

// C0 controls but tab, LF and CR; U+FFFE and U+FFFF; and, with the `u` flag, only unpaired surrogates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const XML_ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff\ud800-\udfff]/gu;

/** Anything `clean` changes: what XML 1.0 cannot carry, and carriage returns. */
const NOT_CLEAN = new RegExp(`${XML_ILLEGAL.source}|\r`, 'u');

/** The string without characters XML 1.0 cannot carry, line breaks as XML parsers would read them. */
export const clean = (value: string): string =>
  // Most text has nothing to change: one look spares the two passes that would change nothing.
  NOT_CLEAN.test(value) ? value.replace(XML_ILLEGAL, '').replace(/\r\n?/g, '\n') : value;

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

/**
 * The item's HTML: image and paragraphs (`contentWithoutSources`), and the same followed by the
 * sources (`content`), for the formats that have nowhere better for them.
 */
const contentHtml = (item: FeedItemModel): Pick<Shared, 'content' | 'contentWithoutSources'> => {
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
  const contentWithoutSources = parts.join('');
  if (item.sources.length === 0) return { content: contentWithoutSources, contentWithoutSources };
  const list = item.sources.map((source) =>
    source.url
      ? `<li><a href="${escapeHtml(source.url)}">${escapeHtml(source.name)}</a></li>`
      : `<li>${escapeHtml(source.name)}</li>`,
  );
  return {
    content: `${contentWithoutSources}<p>Sources:</p><ul>${list.join('')}</ul>`,
    contentWithoutSources,
  };
};

/** The item's tags, cleaned; one left with no slug or no name says nothing and is dropped. */
const categoriesOf = (item: FeedItemModel): FeedCategory[] =>
  item.categories
    .map((c) => ({ term: clean(c.term), label: clean(c.label), scheme: c.scheme }))
    .filter((c) => c.term !== '' && c.label !== '');

const GENERATOR = 'Tidings';

const optionsFor = (model: FeedHead, format: FeedFormat): FeedOptions => {
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
      ...(model.links.feeds.json ? { json: clean(model.links.feeds.json.href) } : {}),
    },
    author: { name: encode(model.author.name), link: clean(model.author.url) },
    // The site's own; `feed` takes one, the others are written by `addHubs`.
    hub: clean(model.links.hubs[0] ?? ''),
  };
};

/** What several formats make of an item, made once per item (the three formats share it). */
interface Shared {
  content: string;
  contentWithoutSources: string;
  categories: FeedCategory[];
  summaryHtml: string;
  /** Text beyond Latin-1 somewhere in the item (see `writeItems`). */
  beyondLatin1: boolean;
}

const sharedParts = new WeakMap<FeedItemModel, Shared>();

/** Every text of an item (a JSON copy of it, searched whole, cost more than the rest of `shared`). */
const textOf = (item: FeedItemModel): string[] => [
  item.id,
  item.url,
  item.title,
  item.summary,
  ...item.paragraphs,
  item.published,
  item.updated,
  ...item.categories.flatMap((c) => [c.term, c.label, c.scheme]),
  ...item.sources.flatMap((source) => [source.name, source.url ?? '']),
  ...(item.image ? [item.image.url, item.image.type ?? '', item.image.caption ?? ''] : []),
  item.topic ?? '',
];

const shared = (item: FeedItemModel): Shared => {
  let parts = sharedParts.get(item);
  if (!parts) {
    parts = {
      ...contentHtml(item),
      categories: categoriesOf(item),
      summaryHtml: escapeHtml(item.summary),
      beyondLatin1: textOf(item).some((text) => BEYOND_LATIN1.test(text)),
    };
    sharedParts.set(item, parts);
  }
  return parts;
};

const rssItem = (item: FeedItemModel): Item => {
  const { content, categories, summaryHtml } = shared(item);
  const entry: Item = {
    // No id or guid: only then does `feed` write the link as the guid with isPermaLink="true".
    title: cdata(clean(item.title)),
    link: clean(item.url),
    date: new Date(item.updated),
    published: new Date(item.published),
    description: cdata(summaryHtml),
    content: cdata(content),
    category: categories.map((c) => ({ name: text(c.label), domain: attr(c.scheme) })),
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
  description: cdata(shared(item).summaryHtml),
  content: cdata(shared(item).contentWithoutSources),
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
    content: shared(item).content,
    category: shared(item).categories.map((c) => ({ name: c.label })),
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

/** A JSON Feed's own link: archive documents, which have none, are not written as JSON Feed. */
const jsonLinkOf = (head: FeedHead): FeedLink => {
  const link = head.links.feeds.json;
  if (!link) throw new Error(`${head.links.feeds.atom.href} has no JSON Feed`);
  return link;
};

/** The document's other formats, as its head lists them (an archive document has no JSON). */
const siblingsOf = (model: FeedHead, self: FeedFormat): FeedLink[] =>
  (['rss', 'atom', 'json'] as const).flatMap((format) => {
    const link = model.links.feeds[format];
    return format !== self && link ? [link] : [];
  });

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
  for (const c of shared(item).categories) {
    lines.push(`<category term="${attr(c.term)}" scheme="${attr(c.scheme)}" label="${attr(c.label)}"/>`);
  }
  return lines.map((line) => indent + line).join('\n');
};

/** RFC 5005's namespace, for `fh:archive`. */
const FH_NAMESPACE = 'http://purl.org/syndication/history/1.0';

/** The document's RFC 5005 links in `format` (`<link>` in Atom, `<atom:link>` in RSS), and `fh:archive`. */
const historyLines = (model: FeedHead, format: 'rss' | 'atom'): string[] => {
  const history = model.history;
  if (!history) return [];
  const type = attr(model.links.feeds[format].type);
  const link = (rel: string, href: string) =>
    format === 'atom'
      ? `<link rel="${rel}" type="${type}" href="${attr(href)}"/>`
      : `<atom:link href="${attr(href)}" rel="${rel}" type="${type}"/>`;
  const lines: string[] = [];
  if (history.current) lines.push(link('current', history.current[format]));
  if (history.prevArchive) lines.push(link('prev-archive', history.prevArchive[format]));
  if (history.nextArchive) lines.push(link('next-archive', history.nextArchive[format]));
  if (history.archive) lines.push('<fh:archive/>');
  return lines;
};

const fhDeclaration = (model: FeedHead): string =>
  model.history?.archive ? ` xmlns:fh="${FH_NAMESPACE}"` : '';

/** Language, typed and sibling links: what `feed` cannot write into an Atom feed's head. */
const finishAtomHead = (head: string, model: FeedHead): string => {
  const withLanguage = replaceOnce(
    head,
    /<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom">/,
    (m) => `${m[0].slice(0, -1)} xml:lang="${attr(model.language)}"${fhDeclaration(model)}>`,
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
        // A format whose link is this feed's own has no feed of its own (private feeds are Atom only).
        ...siblingsOf(model, 'atom')
          .filter((sibling) => sibling.href !== feeds.atom.href)
          .map(
            (sibling) => `<link rel="alternate" type="${attr(sibling.type)}" href="${attr(sibling.href)}"/>`,
          ),
        ...historyLines(model, 'atom'),
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
const finishRssHead = (head: string, model: FeedHead): string => {
  return replaceOnce(head, /^( *)<atom:link href="[^"]*" rel="self" type="application\/rss\+xml"\/>$/m, (m) =>
    [
      m[0],
      ...siblingsOf(model, 'rss').map(
        (sibling) =>
          `${m[1] ?? ''}<atom:link href="${attr(sibling.href)}" rel="alternate" type="${attr(sibling.type)}"/>`,
      ),
      ...historyLines(model, 'rss').map((line) => `${m[1] ?? ''}${line}`),
    ].join('\n'),
  );
};

/** Declares RFC 5005's namespace on an RSS archive document's root. */
const declareRssHistory = (head: string, model: FeedHead): string =>
  model.history?.archive
    ? replaceOnce(head, /<rss version="2\.0"/, (m) => `${m[0]}${fhDeclaration(model)}`)
    : head;

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

/** Where each item starts in a document `feed` writes (its line, and the line break before it). */
const ITEM_START = { rss: '\n        <item>\n', atom: '\n    <entry>\n' } as const;

/** Items written in one document: `feed`'s own work per document is then paid once for many items. */
const BATCH = 32;

/** Text outside Latin-1 makes xml-js's joins slow for the whole document: such items go alone. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: any character above U+00FF is the point
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;

const writeFeedOf = (entries: readonly Item[], format: FeedFormat): string => {
  const feed = new Feed({ ...ITEM_ALONE, updated: new Date(0) });
  for (const entry of entries) feed.addItem(entry);
  return format === 'rss' ? feed.rss2() : format === 'atom' ? feed.atom1() : feed.json1();
};

/**
 * Where the items of one document lie (`[start, end)`), cut at the start of each. Text is escaped or
 * in CDATA, but an RSS title is CDATA of raw text and could hold an item's start line: then there
 * are more starts than items and the document is not cut (undefined). A string or its UTF-8 bytes:
 * the markers are ASCII.
 */
const itemSpans = (
  doc: string | Buffer,
  format: 'rss' | 'atom',
  count: number,
): [number, number][] | undefined => {
  const marker = ITEM_START[format];
  const starts: number[] = [];
  for (let at = doc.indexOf(marker); at >= 0; at = doc.indexOf(marker, at + marker.length)) {
    starts.push(at);
    if (starts.length > count) return undefined;
  }
  const close = `</${ITEM_ELEMENT[format]}>`;
  const last = doc.lastIndexOf(close);
  if (starts.length !== count || last < (starts.at(-1) ?? 0)) return undefined;
  const end = last + close.length;
  return starts.map((start, i) => [start, starts[i + 1] ?? end]);
};

/** The items of a document `feed` wrote (see `itemSpans`). */
const cutItems = (doc: string, format: 'rss' | 'atom', count: number): string[] | undefined =>
  itemSpans(doc, format, count)?.map(([start, end]) => doc.slice(start, end));

/** Where the items of a JSON Feed begin, and where each item's own line is (`indentJsonItem`). */
const JSON_ITEMS = '"items": [\n';
const JSON_ITEM_START = '\n    {\n';
const JSON_ITEMS_END = '\n  ]';
const JSON_ITEM_END = Buffer.from('\n    }');

/** Whether `doc` holds `bytes` at `at` (a loop: a native call per item costs more than the compare). */
const holdsAt = (doc: Buffer, at: number, bytes: Buffer): boolean => {
  if (!Number.isInteger(at) || at < 0 || at + bytes.length > doc.length) return false;
  for (let i = 0; i < bytes.length; i++) if (doc[at + i] !== bytes[i]) return false;
  return true;
};

/**
 * The items of a JSON Feed `assembleJson` wrote, cut from its bytes. JSON escapes line breaks inside
 * strings, so a line holding only `    {` after the items begin can only start an item.
 */
const cutJsonItems = (doc: Buffer, count: number): Buffer[] | undefined => {
  const from = doc.indexOf(JSON_ITEMS);
  if (from < 0) return undefined;
  const starts: number[] = [];
  for (let at = doc.indexOf(JSON_ITEM_START, from); at >= 0; at = doc.indexOf(JSON_ITEM_START, at + 1)) {
    // Each item after the first follows the comma that ends the one before.
    if (starts.length > 0 && doc[at - 1] !== 0x2c) return undefined;
    starts.push(at + 1);
    if (starts.length > count) return undefined;
  }
  const end = doc.lastIndexOf(JSON_ITEMS_END);
  if (starts.length !== count || end < (starts.at(-1) ?? 0)) return undefined;
  const items = starts.map((start, i) =>
    doc.subarray(start, i + 1 < count ? (starts[i + 1] as number) - 2 : end),
  );
  return items.every((item) => holdsAt(item, item.length - JSON_ITEM_END.length, JSON_ITEM_END))
    ? items
    : undefined;
};

/** Items written together in one document by `feed`, each as it stands inside any feed. */
const writeItems = (items: readonly FeedItemModel[], format: FeedFormat): string[] => {
  const entries = items.map(ITEM_BUILDERS[format]);
  if (format === 'json') {
    return (JSON.parse(writeFeedOf(entries, 'json')) as JsonFeedOut).items.map(indentJsonItem);
  }
  const cut = items.length > 1 ? cutItems(writeFeedOf(entries, format), format, items.length) : undefined;
  const texts =
    cut ??
    entries.map((entry) => {
      const [, text] = splitAroundItem(writeFeedOf([entry], format), ITEM_ELEMENT[format]);
      return text;
    });
  return format === 'atom' ? texts.map((text, i) => finishAtomEntry(text, items[i] as FeedItemModel)) : texts;
};

/**
 * Items as they stand inside their feed in `format`: written by `feed`, with the same repairs a whole
 * feed gets. Pure; pass the results, in the model's order, to `assembleFeed`. Items are written in
 * batches, and an item with text outside Latin-1 on its own (see above).
 */
export const renderFeedItems = (items: readonly FeedItemModel[], format: FeedFormat): string[] => {
  const texts = new Array<string>(items.length);
  const batch: number[] = [];
  const flush = () => {
    const written = writeItems(
      batch.map((i) => items[i] as FeedItemModel),
      format,
    );
    batch.forEach((i, k) => {
      texts[i] = written[k] as string;
    });
    batch.length = 0;
  };
  items.forEach((item, i) => {
    if (format !== 'json' && shared(item).beyondLatin1) {
      texts[i] = writeItems([item], format)[0] as string;
      return;
    }
    batch.push(i);
    if (batch.length === BATCH) flush();
  });
  if (batch.length > 0) flush();
  return texts;
};

/**
 * The version of what `renderFeedItems` writes for a given item. Item texts kept from an earlier run
 * are reused only under the same version: change it whenever an item's bytes change (a test pins
 * the bytes of a sample item to it).
 */
export const FEED_ITEMS_VERSION = 1;

/**
 * Beside each feed, the publisher keeps what its items are (`_publish/feeds/...`): the key of each
 * item in order. An incremental run reuses the text of an item whose key is unchanged, cut from the
 * feed as written, instead of writing it again: a tag's feed gains one item and keeps 49. It is
 * written only after the feed's files are, so it never describes newer items than theirs.
 */
export interface FeedItemsRecord {
  version: number;
  site: string;
  /** [key, has content (1) or not (0)], in the feed's order. */
  items: [string, number][];
  /** Where the items lie in each file (`feedItemLayout`), so a run need not search for them. */
  layout?: Partial<Record<FeedFormat, number[]>>;
}

/**
 * Where each item lies in a feed written from `parts` (`assembleFeedParts` of these `items`): the
 * byte offsets [start, end) of item i at 2i and 2i + 1, then the document's size. Kept beside the
 * feed, they let a later run cut its items out without searching it (`feedItemBytes`).
 */
export const feedItemLayout = (
  parts: readonly (string | Uint8Array)[],
  items: readonly (string | Uint8Array)[],
): number[] => {
  const layout: number[] = [];
  let at = 0;
  let next = 0;
  for (const part of parts) {
    const size = typeof part === 'string' ? Buffer.byteLength(part) : part.byteLength;
    if (next < items.length && part === items[next]) {
      layout.push(at, at + size);
      next++;
    }
    at += size;
  }
  layout.push(at);
  return layout;
};

/** What an item's bytes begin and end with in each format. */
const ITEM_EDGES = {
  rss: [Buffer.from(ITEM_START.rss), Buffer.from(`</${ITEM_ELEMENT.rss}>`)],
  atom: [Buffer.from(ITEM_START.atom), Buffer.from(`</${ITEM_ELEMENT.atom}>`)],
  // An item's own line, without the line break before it.
  json: [Buffer.from(JSON_ITEM_START.slice(1)), JSON_ITEM_END],
} as const;

/** The items where a layout says they lie, if the document is the size it says and each item looks whole. */
const cutByLayout = (doc: Buffer, format: FeedFormat, count: number, layout: readonly number[]) => {
  if (!Array.isArray(layout) || layout.length !== 2 * count + 1 || layout[2 * count] !== doc.byteLength)
    return undefined;
  const [first, last] = ITEM_EDGES[format];
  const items: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const start = layout[2 * i] as number;
    const end = layout[2 * i + 1] as number;
    if (end - start < first.length + last.length) return undefined;
    if (!holdsAt(doc, start, first) || !holdsAt(doc, end - last.length, last)) return undefined;
    items.push(doc.subarray(start, end));
  }
  return items;
};

/**
 * The items of a feed `assembleFeed` wrote, as the UTF-8 bytes of what `renderFeedItems` gave (views
 * into `doc`, never copies), or undefined when the document does not hold exactly `count` items. An
 * incremental run writes a feed's kept items back as these bytes: never decoded, never encoded.
 * With the feed's `feedItemLayout` the items are cut where it says, when the document matches it;
 * otherwise they are searched for.
 */
export const feedItemBytes = (
  doc: string | Uint8Array,
  format: FeedFormat,
  count: number,
  layout?: readonly number[],
): Buffer[] | undefined => {
  const bytes =
    typeof doc === 'string' ? Buffer.from(doc) : Buffer.from(doc.buffer, doc.byteOffset, doc.byteLength);
  if (count === 0) return [];
  const placed = layout ? cutByLayout(bytes, format, count, layout) : undefined;
  if (placed) return placed;
  if (format === 'json') return cutJsonItems(bytes, count);
  return itemSpans(bytes, format, count)?.map(([start, end]) => bytes.subarray(start, end));
};

/** One item as it stands inside its feed in `format` (see `renderFeedItems`). */
export const renderFeedItem = (item: FeedItemModel, format: FeedFormat): string =>
  renderFeedItems([item], format)[0] as string;

/**
 * Whether an item has content (`contentHtml`): RSS declares the content namespace only when some
 * item has. Pass it to `assembleFeed` for items written earlier.
 */
export const feedItemHasContent = (item: FeedItemModel): boolean =>
  item.image !== undefined ||
  item.sources.length > 0 ||
  (item.paragraphs.length > 0 ? item.paragraphs : [item.summary]).some((p) => clean(p) !== '');

/** Where the items end: what follows them in a feed `feed` writes. */
const AFTER_ITEMS = { rss: '\n    </channel>', atom: '\n</feed>' } as const;

/** The feed around its items: `feed` writes it with one stand-in item, which is then cut out. */
const writeFrame = (
  options: FeedOptions,
  format: 'rss' | 'atom',
  count: number,
  anyContent: boolean,
): [head: string, tail: string] => {
  const feed = new Feed(options);
  if (count > 0) {
    const standIn: Item = { title: 'item', link: 'https://item.invalid/', date: new Date(0) };
    if (format === 'rss' && anyContent) standIn.content = 'item';
    feed.addItem(standIn);
    const [before, , after] = splitAroundItem(
      format === 'rss' ? feed.rss2() : feed.atom1(),
      ITEM_ELEMENT[format],
    );
    return [before, after];
  }
  const doc = format === 'rss' ? feed.rss2() : feed.atom1();
  const end = doc.lastIndexOf(AFTER_ITEMS[format]);
  if (end < 0) throw new Error(`feed output has no ${AFTER_ITEMS[format].trim()}: the feed package changed`);
  return [doc.slice(0, end), doc.slice(end)];
};

/*
 * Frames from templates. A full publish writes some 110,000 archive documents, each with a frame of
 * its own (another tag, month, title), and `feed` took 40-70 µs to write one. The frames of heads
 * with the same fields present differ only in those fields' values, and a value that neither `feed`
 * nor xml-js changes (no markup characters, nothing XML cannot carry, URLs already in the form
 * `new URL()` gives them) is written as it is: such a head's frame is its template's (written once,
 * with stand-ins for the values) with the values put in. A head with any other value is written by
 * `feed` itself. A test compares both ways over many heads.
 */

/** The option fields a frame's template has stand-ins for: text, then URLs. */
const TEXT_FIELDS = ['title', 'description', 'language', 'authorName'] as const;
const URL_FIELDS = ['id', 'link', 'rss', 'atom', 'json', 'authorLink', 'hub'] as const;
type FrameField = (typeof TEXT_FIELDS)[number] | (typeof URL_FIELDS)[number];
/** Where a template's frame takes a field's value, or the instant `updated` as RSS or Atom spells it. */
type Slot = FrameField | 'updatedUtc' | 'updatedIso';

const fieldsOf = (options: FeedOptions): Record<FrameField, string | undefined> => ({
  title: options.title,
  description: options.description,
  language: options.language,
  authorName: options.author?.name,
  id: options.id,
  link: options.link,
  rss: options.feedLinks?.rss,
  atom: options.feedLinks?.atom,
  json: options.feedLinks?.json,
  authorLink: options.author?.link,
  hub: options.hub,
});

/** `options` with the fields given in place of theirs: what `fieldsOf` reads, written back. */
const withFields = (options: FeedOptions, fields: Partial<Record<FrameField, string>>): FeedOptions => ({
  ...options,
  title: fields.title ?? options.title,
  description: fields.description ?? options.description,
  language: fields.language ?? options.language,
  id: fields.id ?? options.id,
  link: fields.link ?? options.link,
  hub: fields.hub ?? options.hub,
  feedLinks: {
    ...options.feedLinks,
    rss: fields.rss ?? options.feedLinks?.rss,
    atom: fields.atom ?? options.feedLinks?.atom,
    json: fields.json ?? options.feedLinks?.json,
  },
  author: {
    ...options.author,
    name: fields.authorName ?? options.author?.name,
    link: fields.authorLink ?? options.author?.link,
  },
});

/** An instant no head has, for the template's `updated`: its two spellings are replaced. */
const STAND_IN_UPDATED = new Date(Date.UTC(2001, 2, 3, 4, 5, 6, 789));

/** A field's stand-in: a URL as `new URL()` gives it back (its host in lower case), or a word. */
const standInFor = (field: FrameField): string =>
  (URL_FIELDS as readonly string[]).includes(field)
    ? `https://frame-${field.toLowerCase()}.invalid/`
    : `FrameStandIn${field}X`;

/** URL fields `feed` writes as `new URL()` gives them back: all but the Atom id, written as it is given. */
const NORMALIZED: readonly FrameField[] = URL_FIELDS.filter((field) => field !== 'id');

/**
 * The value as `feed` hands it to xml-js, when xml-js writes it as it is (no markup characters,
 * nothing XML cannot carry); otherwise undefined, and the frame is written by `feed`.
 */
const writtenForm = (field: FrameField, value: string): string | undefined => {
  let form = value;
  if (NORMALIZED.includes(field)) {
    try {
      form = new URL(value).toString();
    } catch {
      return undefined;
    }
  }
  return form === '' || /[&<>"']/.test(form) || clean(form) !== form ? undefined : form;
};

interface FrameTemplate {
  /** The frame's head and tail, each cut where a stand-in stood: text, slot, text, slot, … text. */
  pieces: [head: (string | Slot)[], tail: (string | Slot)[]];
}

const frameTemplates = new Map<string, FrameTemplate>();

/** Each stand-in as a template spells it, and the slot it stands for. */
const STAND_INS = new Map<string, Slot>([
  ...[...TEXT_FIELDS, ...URL_FIELDS].map((field): [string, Slot] => [standInFor(field), field]),
  [STAND_IN_UPDATED.toUTCString(), 'updatedUtc'],
  [STAND_IN_UPDATED.toISOString(), 'updatedIso'],
]);
const STAND_IN_PATTERN = new RegExp(
  [...STAND_INS.keys()].map((standIn) => standIn.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'),
  'g',
);

/** `text` cut where stand-ins stood. */
const cutAtStandIns = (text: string): (string | Slot)[] => {
  const pieces: (string | Slot)[] = [];
  let at = 0;
  for (const match of text.matchAll(STAND_IN_PATTERN)) {
    pieces.push(text.slice(at, match.index), STAND_INS.get(match[0]) as Slot);
    at = (match.index ?? 0) + match[0].length;
  }
  pieces.push(text.slice(at));
  return pieces;
};

const frameOf = (
  head: FeedHead,
  format: 'rss' | 'atom',
  count: number,
  anyContent: boolean,
): [head: string, tail: string] => {
  const options = optionsFor(head, format);
  const fields = fieldsOf(options);
  const present = Object.entries(fields).filter(([, value]) => value !== undefined && value !== '');
  const forms = new Map<string, string | undefined>(
    present.map(([field, value]) => [field, writtenForm(field as FrameField, value as string)]),
  );
  if ([...forms.values()].some((form) => form === undefined))
    return writeFrame(options, format, count, anyContent);
  const key = `${format} ${count > 0} ${anyContent} ${present.map(([field]) => field).join(',')}`;
  let template = frameTemplates.get(key);
  if (!template) {
    const standIns = withFields(
      { ...options, updated: STAND_IN_UPDATED },
      Object.fromEntries(present.map(([field]) => [field, standInFor(field as FrameField)])),
    );
    const [before, after] = writeFrame(standIns, format, count, anyContent);
    template = { pieces: [cutAtStandIns(before), cutAtStandIns(after)] };
    frameTemplates.set(key, template);
  }
  const updated = options.updated ?? new Date(0);
  const fill = (piece: string | Slot, i: number): string => {
    if (i % 2 === 0) return piece;
    if (piece === 'updatedUtc') return updated.toUTCString();
    if (piece === 'updatedIso') return updated.toISOString();
    return forms.get(piece) as string;
  };
  return [template.pieces[0].map(fill).join(''), template.pieces[1].map(fill).join('')];
};

/*
 * A feed's head (title, description, links) is written with characters beyond Latin-1 as references
 * (`&#8220;` in XML, `\u201c` in JSON), which mean the same. The head of every tag feed has some
 * (its description quotes the tag's name), and one such character makes the whole feed a two-byte
 * string, which V8 copies and encodes at half speed whenever the feed is written. Items are left as
 * written (CDATA cannot hold references).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: any character above U+00FF is the point
const BEYOND_LATIN1_CHARS = /[^\u0000-\u00ff]/gu;
const BEYOND_LATIN1_UNITS = new RegExp(BEYOND_LATIN1.source, 'g');
const xmlReferences = (xml: string): string =>
  xml.replace(BEYOND_LATIN1_CHARS, (c) => `&#${c.codePointAt(0)};`);
const jsonEscapes = (json: string): string =>
  json.replace(BEYOND_LATIN1_UNITS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

interface JsonFeedOut {
  items: Record<string, unknown>[];
}

/**
 * JSON Feed 1.1 (`feed` writes version 1 with a single `author` and no language) around the items,
 * in pieces: the text before the items, the items, the text after.
 */
const assembleJsonParts = <Piece extends string | Uint8Array>(
  head: FeedHead,
  items: readonly Piece[],
): (string | Piece)[] => {
  const out = {
    version: 'https://jsonfeed.org/version/1.1',
    title: clean(head.title),
    home_page_url: clean(head.links.html),
    feed_url: clean(jsonLinkOf(head).href),
    hubs: head.links.hubs.map((url) => ({ type: 'WebSub', url: clean(url) })),
    description: clean(head.description),
    language: clean(head.language),
    authors: [{ name: clean(head.author.name), url: clean(head.author.url) }],
    items: [] as unknown[],
  };
  const empty = `${jsonEscapes(JSON.stringify(out, null, 2))}\n`;
  if (items.length === 0) return [empty];
  const at = empty.lastIndexOf('"items": []');
  return [
    `${empty.slice(0, at)}"items": [\n`,
    ...items.flatMap((item, i) => (i === 0 ? [item] : [',\n', item])),
    `\n  ]${empty.slice(at + '"items": []'.length)}`,
  ];
};

const assembleJson = (head: FeedHead, items: readonly string[]): string =>
  assembleJsonParts(head, items).join('');

/** The hubs after the first (external ones, `websubHubs`), each on a line after the one `feed` wrote. */
const addHubs = (head: string, model: FeedHead, format: 'rss' | 'atom'): string => {
  const others = model.links.hubs.slice(1);
  if (others.length === 0) return head;
  const line =
    format === 'rss'
      ? /^( *)<atom:link href="[^"]*" rel="hub"\/>$/m
      : /^( *)<link rel="hub" href="[^"]*"\/>$/m;
  return replaceOnce(head, line, (m) =>
    [
      m[0],
      ...others.map((hub) =>
        format === 'rss'
          ? `${m[1] ?? ''}<atom:link href="${attr(clean(hub))}" rel="hub"/>`
          : `${m[1] ?? ''}<link rel="hub" href="${attr(clean(hub))}"/>`,
      ),
    ].join('\n'),
  );
};

const finishHead = (head: string, model: FeedHead, format: 'rss' | 'atom'): string =>
  xmlReferences(
    addHubs(
      format === 'rss' ? finishRssHead(declareRssHistory(head, model), model) : finishAtomHead(head, model),
      model,
      format,
    ),
  );

/**
 * The feed in one format from its head and its items as `renderFeedItems` wrote them, in order.
 * `anyContent` says whether some item has content (`feedItemHasContent`). Pure: the same head and
 * items give the same bytes.
 */
export const assembleFeed = (
  head: FeedHead,
  format: FeedFormat,
  items: readonly string[],
  anyContent: boolean,
): string => assembleFeedParts(head, format, items, anyContent).join('');

/**
 * `assembleFeed` in pieces, to be written one after the other: the text before the items, the
 * items (as text, or as UTF-8 bytes kept from a feed written before), the text after. Joined, a feed of 50 items is a string of 150 KB, which V8 makes slowly
 * (see `ObjectBody`).
 */
export const assembleFeedParts = <Piece extends string | Uint8Array>(
  head: FeedHead,
  format: FeedFormat,
  items: readonly Piece[],
  anyContent: boolean,
): (string | Piece)[] => {
  if (format === 'json') return assembleJsonParts(head, items);
  const [before, after] = frameOf(head, format, items.length, anyContent);
  return [finishHead(before, head, format), ...items, after];
};

/** The feed in one format. Pure: the same model gives the same bytes. */
export const renderFeed = (model: FeedModel, format: FeedFormat): string =>
  assembleFeed(model, format, renderFeedItems(model.items, format), model.items.some(feedItemHasContent));

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
  return finishHead(head, model, format) + entries;
};
