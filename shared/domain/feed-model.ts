import { type ArchiveLinks, monthOf } from './archives.js';
import type { NewsEvent } from './event.js';
import {
  ARCHIVE_FORMATS,
  type ArchiveFormat,
  archivePath,
  eventPath,
  FEED_CONTENT_TYPES,
  type FeedFormat,
  type FeedScope,
  feedPath,
  HOME_PAGE,
  type SiteConfig,
  tagPath,
  topicPath,
  urlOf,
} from './site.js';
import { hubUrl } from './websub.js';

/**
 * Everything a feed says, in any format, decided once: the renderers only encode it. Text is kept as
 * plain text (never HTML) so each format can escape it the way it needs.
 */
/** Everything a feed says but its items. */
export interface FeedHead {
  title: string;
  description: string;
  /** The feed's HTML page, used as its permanent id. */
  id: string;
  links: {
    /** The HTML page the feed mirrors: the site root or the tag page. */
    html: string;
    /** This feed in every format: the format's own entry is its `self` link, the others are siblings. */
    /** The document in each format it is published in (an archive document has no JSON). */
    feeds: Record<ArchiveFormat, FeedLink> & { json?: FeedLink };
    /** The WebSub hubs readers subscribe at for pushes, the site's own first (`rel="hub"`; JSON Feed `hubs`). */
    hubs: string[];
  };
  /** The newest item's `updated`, or the epoch for an empty feed, so unchanged feeds are byte-identical. */
  updated: string;
  language: string;
  author: { name: string; url: string };
  /** Where the document stands in its scope's history (RFC 5005), when the site keeps one. */
  history?: FeedHistory;
}

/** RFC 5005 links, each to the document of that relation in every format (a document links its own). */
export interface FeedHistory {
  /** An archive document (`fh:archive`): a month, complete and stable, not the subscription feed. */
  archive: boolean;
  prevArchive?: Record<ArchiveFormat, string>;
  nextArchive?: Record<ArchiveFormat, string>;
  /** The subscription feed (archive documents only). */
  current?: Record<ArchiveFormat, string>;
}

/** Where a head stands in its scope's history: the subscription feed, or the archive of one month. */
export type FeedPlace = { newestMonth?: string | undefined } | { month: string; links: ArchiveLinks };

export interface FeedModel extends FeedHead {
  items: FeedItemModel[];
}

/** Where an event's feed item stands and when it last changed, as its item says, without building it. */
export interface FeedItemRef {
  /** The item's id: the event's permalink. */
  id: string;
  updated: string;
}

export interface FeedLink {
  href: string;
  /** Media type without parameters: `application/rss+xml`. */
  type: string;
}

export interface FeedItemModel {
  /** The event's permalink: stable across rebuilds and corrections. */
  id: string;
  url: string;
  title: string;
  /** First paragraph of the body, or the headline when the body is empty. Plain text. */
  summary: string;
  /** The body split on blank lines. Plain text, one entry per paragraph. */
  paragraphs: string[];
  published: string;
  updated: string;
  categories: FeedCategory[];
  /** Sources in the publisher's order; `url` is absent when the stored one is not an http(s) URL. */
  sources: { name: string; url?: string }[];
  image?: FeedImage;
  topic?: string;
}

export interface FeedCategory {
  /** The tag's slug. */
  term: string;
  /** The tag's display name. */
  label: string;
  /** The tag page. */
  scheme: string;
}

export interface FeedImage {
  url: string;
  /** Absent when the URL's extension names no image type we know. */
  type?: string;
  caption?: string;
}

/** Feeds with no items claim this instant, so they too are byte-identical from one build to the next. */
export const EMPTY_FEED_UPDATED = '1970-01-01T00:00:00.000Z';

const IMAGE_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  avif: 'image/avif',
};

/** A URL object, or undefined when the text is not one. */
const parseUrl = (value: string): URL | undefined => {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
};

/** An absolute http(s) URL, normalized, or undefined. */
const httpUrl = (value: string): string | undefined => {
  const url = parseUrl(value);
  return url && (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname
    ? url.href
    : undefined;
};

/** A URL in the one spelling every parser agrees on (what `new URL(...).href` gives), or as it was. */
const canonical = (value: string): string => parseUrl(value)?.href ?? value;

/** Paths of slugs and ids (`news/2016/11/16/<slug>.html`): a URL keeps them exactly as they are. */
const PLAIN_PATH = /^(?:[a-z0-9_-]+\/)*[a-z0-9_-]+(?:\.[a-z]+)?$/;

/**
 * `canonical(urlOf(site, path))` without parsing a URL per item and per tag: the site's base is
 * canonicalized once, and a plain path is appended as it is.
 */
const siteUrls = (site: SiteConfig): ((path: string) => string) => {
  const base = canonical(urlOf(site, 'x')).slice(0, -1);
  const baseIsPlain = base.endsWith('/') && canonical(`${base}a/b.html`) === `${base}a/b.html`;
  return (path) =>
    baseIsPlain && path !== HOME_PAGE && PLAIN_PATH.test(path)
      ? `${base}${path}`
      : canonical(urlOf(site, path));
};

/** The image type named by a URL's extension: `.JPG?w=600` is `image/jpeg`. */
export const imageTypeOf = (url: string): string | undefined => {
  const parsed = parseUrl(url);
  if (!parsed) return undefined;
  const name = parsed.pathname.split('/').at(-1) ?? '';
  const dot = name.lastIndexOf('.');
  return dot < 0 ? undefined : IMAGE_TYPES[name.slice(dot + 1).toLowerCase()];
};

/** An instant as ISO 8601 UTC, or the fallback when it does not parse. */
const instant = (value: string, fallback: string): string => {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? fallback : new Date(ms).toISOString();
};

/** The body's paragraphs: split on blank lines, trimmed, empty ones dropped. */
export const paragraphsOf = (body: string): string[] =>
  body
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '');

const mediaType = (format: FeedFormat): string => FEED_CONTENT_TYPES[format].split(';')[0] ?? '';

/**
 * Feed items of a site's events. An item does not depend on the feed it stands in: build it once per
 * event and give it to every feed that lists the event (`feedModelOf`).
 */
export const feedItems = (site: SiteConfig): ((event: NewsEvent) => FeedItemModel) => {
  const url = siteUrls(site);
  return (event) => itemOf(url, event);
};

/** The id and `updated` an event's feed item has (see `feedItems`), from the event's summary. */
export const feedItemRefs = (
  site: SiteConfig,
): ((event: Pick<NewsEvent, 'id' | 'publishedAt' | 'updatedAt'>) => FeedItemRef) => {
  const url = siteUrls(site);
  return (event) => ({
    id: url(eventPath(event.id)),
    updated: instant(event.updatedAt, instant(event.publishedAt, EMPTY_FEED_UPDATED)),
  });
};

const itemOf = (url: (path: string) => string, event: NewsEvent): FeedItemModel => {
  const permalink = url(eventPath(event.id));
  const paragraphs = paragraphsOf(event.body);
  const published = instant(event.publishedAt, EMPTY_FEED_UPDATED);
  const item: FeedItemModel = {
    id: permalink,
    url: permalink,
    title: event.headline,
    summary: paragraphs[0] ?? event.headline,
    paragraphs,
    published,
    updated: instant(event.updatedAt, published),
    categories: event.tags.map((tag) => ({
      term: tag.slug,
      label: tag.name,
      scheme: url(tagPath(tag.slug)),
    })),
    sources: event.sources.map((source) => {
      const url = httpUrl(source.url);
      return url ? { name: source.name, url } : { name: source.name };
    }),
  };
  const imageUrl = event.image && httpUrl(event.image.url);
  if (event.image && imageUrl) {
    const image: FeedImage = { url: imageUrl };
    const type = imageTypeOf(imageUrl);
    if (type) image.type = type;
    if (event.image.caption) image.caption = event.image.caption;
    item.image = image;
  }
  if (event.topic) item.topic = event.topic;
  return item;
};

/**
 * The feed of a scope from its events, newest first, cut at the site's feed size. An event listed
 * twice keeps its first (newest) place, so item ids are unique.
 */
export const buildFeedModel = (site: SiteConfig, scope: FeedScope, events: NewsEvent[]): FeedModel => {
  const item = feedItems(site);
  const items: FeedItemModel[] = [];
  const seen = new Set<string>();
  for (const event of events) {
    if (items.length >= site.feedSize) break;
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    items.push(item(event));
  }
  return feedModelOf(site, scope, items);
};

/**
 * The feed of a scope from items built by `feedItems`, newest first, cut at the site's feed size. An
 * item listed twice keeps its first (newest) place, so item ids are unique.
 */
export const feedModelOf = (site: SiteConfig, scope: FeedScope, all: readonly FeedItemModel[]): FeedModel => {
  const seen = new Set<string>();
  const items: FeedItemModel[] = [];
  for (const item of all) {
    if (items.length >= site.feedSize) break;
    if (seen.has(item.id)) continue;
    seen.add(item.id);
    items.push(item);
  }
  return { ...feedHeadOf(site, scope, items), items };
};

/** What a feed of these items (as `feedModelOf` keeps them: no repeats, within the feed size) says but its items. */
export const feedHeadOf = (
  site: SiteConfig,
  scope: FeedScope,
  items: readonly FeedItemRef[],
  place?: FeedPlace,
): FeedHead => {
  const url = siteUrls(site);
  const html =
    scope.kind === 'site'
      ? canonical(urlOf(site, HOME_PAGE))
      : url(scope.kind === 'tag' ? tagPath(scope.slug) : topicPath(scope.slug));
  const inFormats = (path: (format: ArchiveFormat) => string): Record<ArchiveFormat, string> =>
    Object.fromEntries(ARCHIVE_FORMATS.map((format) => [format, url(path(format))])) as Record<
      ArchiveFormat,
      string
    >;
  const month = place && 'month' in place ? place.month : undefined;
  const link = (path: string, format: FeedFormat): FeedLink => ({ href: url(path), type: mediaType(format) });
  const feeds: FeedHead['links']['feeds'] =
    month === undefined
      ? {
          rss: link(feedPath(scope, 'rss'), 'rss'),
          atom: link(feedPath(scope, 'atom'), 'atom'),
          json: link(feedPath(scope, 'json'), 'json'),
        }
      : {
          rss: link(archivePath(scope, month, 'rss'), 'rss'),
          atom: link(archivePath(scope, month, 'atom'), 'atom'),
        };
  // The latest change to any item: a correction to an older event makes the feed newer too.
  const updated = items.reduce<string | undefined>(
    (latest, item) =>
      latest === undefined || Date.parse(item.updated) > Date.parse(latest) ? item.updated : latest,
    undefined,
  );
  const name = scope.kind === 'site' ? site.title : `${site.title}: ${scope.name}`;
  const head: FeedHead = {
    title: month === undefined ? name : `${name} (${month})`,
    description:
      scope.kind === 'site'
        ? site.description
        : scope.kind === 'tag'
          ? `News events tagged “${scope.name}” on ${site.title}.`
          : `News events on “${scope.name}” on ${site.title}.`,
    id: html,
    links: { html, feeds, hubs: [hubUrl(site), ...(site.hubs ?? [])] },
    updated: updated ?? EMPTY_FEED_UPDATED,
    language: site.language,
    author: { name: site.title, url: site.siteUrl },
  };
  if (place && 'month' in place) {
    const { prev, next } = place.links;
    head.history = {
      archive: true,
      current: inFormats((f) => feedPath(scope, f)),
      ...(prev ? { prevArchive: inFormats((f) => archivePath(scope, prev, f)) } : {}),
      ...(next ? { nextArchive: inFormats((f) => archivePath(scope, next, f)) } : {}),
    };
  } else if (place?.newestMonth !== undefined) {
    const newest = monthOf(place.newestMonth);
    head.history = { archive: false, prevArchive: inFormats((f) => archivePath(scope, newest, f)) };
  }
  return head;
};
