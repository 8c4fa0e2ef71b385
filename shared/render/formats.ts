/**
 * Machine-readable formats of an event, next to its page: `news/<id>.json` and `news/<id>.xml`,
 * and the OPML list of every tag feed (`feeds/index.opml`).
 *
 * JSON (`news/2016/11/16/<slug>.json`): UTF-8, keys always in this order, 2-space indent,
 * trailing newline. `topic` and `image` (and `image.caption`) are left out when the event has none.
 *
 *   {
 *     "id": "2016/11/16/<slug>",
 *     "date": "2016-11-16",
 *     "topic": "Russian President",
 *     "headline": "…",
 *     "body": "…",                      // plain text; paragraphs separated by a blank line
 *     "tags": [{ "slug": "russia", "name": "Russia" }],
 *     "sources": [{ "name": "The Independent", "url": "https://…" }],
 *     "image": { "url": "https://…", "caption": "Vladimir Putin" },
 *     "publishedAt": "2016-11-16T12:00:00.000Z",
 *     "updatedAt": "2016-11-16T12:00:00.000Z",
 *     "revision": 1,
 *     "permalink": "https://news.example.org/news/2016/11/16/<slug>.html",
 *     "formats": { "html": "https://…/<slug>.html", "json": "https://…/<slug>.json", "xml": "https://…/<slug>.xml" }
 *   }
 *
 * XML (`news/2016/11/16/<slug>.xml`): UTF-8, one element per field, in the JSON's order; `topic`
 * and `image` (and `caption`) absent when the event has none. Characters XML 1.0 cannot carry
 * (C0 controls other than tab, LF and CR; U+FFFE, U+FFFF; unpaired surrogates) are removed;
 * markup characters are escaped. Empty `tags` and `sources` are written as empty elements.
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <event>
 *     <id>2016/11/16/<slug></id>
 *     <date>2016-11-16</date>
 *     <topic>Russian President</topic>
 *     <headline>…</headline>
 *     <body>…</body>
 *     <tags>
 *       <tag slug="russia">Russia</tag>
 *     </tags>
 *     <sources>
 *       <source>
 *         <name>The Independent</name>
 *         <url>https://…</url>
 *       </source>
 *     </sources>
 *     <image>
 *       <url>https://…</url>
 *       <caption>Vladimir Putin</caption>
 *     </image>
 *     <publishedAt>2016-11-16T12:00:00.000Z</publishedAt>
 *     <updatedAt>2016-11-16T12:00:00.000Z</updatedAt>
 *     <revision>1</revision>
 *     <permalink>https://…/<slug>.html</permalink>
 *     <formats>
 *       <html>https://…/<slug>.html</html>
 *       <json>https://…/<slug>.json</json>
 *       <xml>https://…/<slug>.xml</xml>
 *     </formats>
 *   </event>
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { NewsEvent, Source, Tag } from '../domain/event.js';
import { eventPath, feedPath, type SiteConfig, tagPath, topicPath, urlOf } from '../domain/site.js';

/** The JSON format of an event: the event itself plus where it lives. */
export interface EventJson {
  id: string;
  date: string;
  topic?: string;
  headline: string;
  body: string;
  tags: Tag[];
  sources: Source[];
  image?: { url: string; caption?: string };
  publishedAt: string;
  updatedAt: string;
  revision: number;
  permalink: string;
  formats: { html: string; json: string; xml: string };
}

/** The event's fields in the documented order, whatever order the stored object has them in. */
export const eventJsonOf = (site: SiteConfig, event: NewsEvent): EventJson => {
  const { image } = event;
  const html = urlOf(site, eventPath(event.id, 'html'));
  return {
    id: event.id,
    date: event.date,
    ...(event.topic !== undefined ? { topic: event.topic } : {}),
    headline: event.headline,
    body: event.body,
    tags: event.tags.map((t) => ({ slug: t.slug, name: t.name })),
    sources: event.sources.map((s) => ({ name: s.name, url: s.url })),
    ...(image
      ? {
          image:
            image.caption !== undefined ? { url: image.url, caption: image.caption } : { url: image.url },
        }
      : {}),
    publishedAt: event.publishedAt,
    updatedAt: event.updatedAt,
    revision: event.revision,
    permalink: html,
    formats: {
      html,
      json: urlOf(site, eventPath(event.id, 'json')),
      xml: urlOf(site, eventPath(event.id, 'xml')),
    },
  };
};

export const renderEventJson = (site: SiteConfig, event: NewsEvent): string =>
  `${JSON.stringify(eventJsonOf(site, event), null, 2)}\n`;

// C0 controls but tab, LF and CR; the noncharacters U+FFFE/U+FFFF; a high surrogate with no low
// one after it, and a low surrogate with no high one before it.
const XML_ILLEGAL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The text with every character XML 1.0 cannot represent removed. */
export const xmlSafe = (text: string): string => text.replace(XML_ILLEGAL, '');

/** Tag names in a reader's order, whatever the runtime's default locale. */
const byName = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: false,
  processEntities: true,
});

const opmlBuilder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  processEntities: true,
});

/** An event as an XML document; every string goes through `xmlSafe`, the builder escapes it. */
export const renderEventXml = (site: SiteConfig, event: NewsEvent): string => {
  const json = eventJsonOf(site, event);
  const node: Record<string, unknown> = { id: xmlSafe(json.id), date: xmlSafe(json.date) };
  if (json.topic !== undefined) node.topic = xmlSafe(json.topic);
  node.headline = xmlSafe(json.headline);
  node.body = xmlSafe(json.body);
  node.tags = { tag: json.tags.map((t) => ({ '@_slug': xmlSafe(t.slug), '#text': xmlSafe(t.name) })) };
  node.sources = { source: json.sources.map((s) => ({ name: xmlSafe(s.name), url: xmlSafe(s.url) })) };
  if (json.image) {
    node.image =
      json.image.caption !== undefined
        ? { url: xmlSafe(json.image.url), caption: xmlSafe(json.image.caption) }
        : { url: xmlSafe(json.image.url) };
  }
  node.publishedAt = xmlSafe(json.publishedAt);
  node.updatedAt = xmlSafe(json.updatedAt);
  node.revision = String(json.revision);
  node.permalink = json.permalink;
  node.formats = { html: json.formats.html, json: json.formats.json, xml: json.formats.xml };
  return `${XML_DECLARATION}${builder.build({ event: node })}`;
};

/**
 * OPML 2.0 listing every tag's RSS feed, by tag name, then every topic label's (`category` "/topics"),
 * with absolute URLs.
 */
export const renderOpml = (
  site: SiteConfig,
  tags: readonly Pick<Tag, 'slug' | 'name'>[],
  topics: readonly Pick<Tag, 'slug' | 'name'>[] = [],
): string => {
  const sorted = [...tags].sort(
    (a, b) => byName.compare(a.name, b.name) || (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0),
  );
  const title = xmlSafe(`${site.title}: tag feeds`);
  const document = {
    opml: {
      '@_version': '2.0',
      head: { title, docs: 'http://opml.org/spec2.opml' },
      body: {
        outline: [
          ...sorted.map(
            (tag): Record<string, string> => ({
              '@_type': 'rss',
              '@_text': xmlSafe(tag.name),
              '@_title': xmlSafe(tag.name),
              '@_xmlUrl': urlOf(site, feedPath({ kind: 'tag', slug: tag.slug, name: tag.name }, 'rss')),
              '@_htmlUrl': urlOf(site, tagPath(tag.slug)),
            }),
          ),
          ...[...topics]
            .sort((a, b) => byName.compare(a.name, b.name) || (a.slug < b.slug ? -1 : 1))
            .map((topic) => ({
              '@_type': 'rss',
              '@_text': xmlSafe(topic.name),
              '@_title': xmlSafe(topic.name),
              '@_xmlUrl': urlOf(site, feedPath({ kind: 'topic', ...topic }, 'rss')),
              '@_htmlUrl': urlOf(site, topicPath(topic.slug)),
              '@_category': '/topics',
            })),
        ],
      },
    },
  };
  return `${XML_DECLARATION}${opmlBuilder.build(document)}`;
};
