import { pageSlug } from './slug.js';

/** What every page and feed needs to know about the site. */
export interface SiteConfig {
  /** Absolute base URL without a trailing slash: `https://news.example.org`. */
  siteUrl: string;
  title: string;
  description: string;
  /** BCP 47 language of the content. */
  language: string;
  /** Newest events per feed. */
  feedSize: number;
  /** External WebSub hubs every feed names besides the site's own, and pings when it changes (`websubHubs`). */
  hubs?: readonly string[];
}

/** The product's own settings for a site at `siteUrl`; deployments override title and feed size. */
export const defaultSiteConfig = (siteUrl: string): SiteConfig => ({
  siteUrl: siteUrl.replace(/\/+$/, ''),
  title: 'Tidings',
  description: 'News events, as they happen, with their sources.',
  language: 'en',
  feedSize: 50,
});

export type FeedFormat = 'rss' | 'atom' | 'json';

export const FEED_FORMATS: readonly FeedFormat[] = ['rss', 'atom', 'json'];

/**
 * The formats of RFC 5005 archive documents: the RFC is for Atom (and RSS by the same links). JSON
 * Feed has no archive of its own: a third of the archive's objects, written and rewritten, for a
 * `next_url` that feed readers do not follow.
 */
export type ArchiveFormat = 'rss' | 'atom';
export const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['rss', 'atom'];

export const FEED_CONTENT_TYPES: Record<FeedFormat, string> = {
  rss: 'application/rss+xml; charset=utf-8',
  atom: 'application/atom+xml; charset=utf-8',
  json: 'application/feed+json; charset=utf-8',
};

/** A feed covers the whole site, one tag or one topic label. */
export type FeedScope =
  | { kind: 'site' }
  | { kind: 'tag'; slug: string; name: string }
  | { kind: 'topic'; slug: string; name: string };

export const EVENT_FORMATS_CONTENT_TYPES = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
} as const;

// Object keys (no leading slash) of everything the publisher writes.
export const HOME_PAGE = 'index.html';
export const TAGS_PAGE = 'tags/index.html';
export const OPML_FILE = 'feeds/index.opml';
/** What CloudFront (and the local server) answer for a page that does not exist, with status 404. */
export const NOT_FOUND_PAGE = '404.html';

/**
 * `news/2016/11/16/<slug>.html`: the seed archive's layout, one file per format. An event stored
 * under a reserved id before the rule (`…/index`, until migrated) is kept off the day's page.
 */
export const eventPath = (id: string, format: 'html' | 'json' | 'xml' = 'html'): string =>
  `news/${id.slice(0, 11)}${pageSlug('event', id.slice(11))}.${format}`;
/** `news/2016/11/16/index.html`. */
export const dayPath = (date: string): string => `news/${date.replaceAll('-', '/')}/index.html`;
/** `tags/<slug>.html`; a tag stored under a reserved slug before the rule is kept off `tags/index.html`. */
export const tagPath = (slug: string): string => `tags/${pageSlug('tag', slug)}.html`;
/** `topics/<slug>.html`: a topic label's page (reserved slugs as for tags). */
export const topicPath = (slug: string): string => `topics/${pageSlug('topic', slug)}.html`;
export const TOPICS_PAGE = 'topics/index.html';
/** Where a scope's files sit under `feeds/` and `feeds/archive/`: `all`, `tags/<slug>`, `topics/<slug>`. */
const scopeDir = (scope: FeedScope): string =>
  scope.kind === 'site' ? 'all' : `${scope.kind === 'tag' ? 'tags' : 'topics'}/${scope.slug}`;
/** A topic label's feed. */
export const topicFeedPath = (slug: string, format: FeedFormat): string => `feeds/topics/${slug}.${format}`;
export const feedPath = (scope: FeedScope, format: FeedFormat): string =>
  `feeds/${scopeDir(scope)}.${format}`;
/** Where the publisher keeps the record of a feed's items (not served: `_publish/`). */
export const feedItemsPath = (scope: FeedScope): string => `_publish/${feedPath(scope, 'json')}`;
/**
 * `feeds/archive/<scope>/YYYY-MM.<format>`: a scope's RFC 5005 archive document of one month
 * (`YYYY-MM`), every event of that month in that scope.
 */
export const archivePath = (scope: FeedScope, month: string, format: ArchiveFormat): string =>
  `feeds/archive/${scopeDir(scope)}/${month}.${format}`;
/** `news/2016/11/index.html`: a month's page (`YYYY-MM`), beside its days' folders. */
export const monthPath = (month: string): string => `news/${month.replace('-', '/')}/index.html`;
/** `news/2016/index.html`: a year's page. */
export const yearPath = (year: string): string => `news/${year}/index.html`;

/** The absolute URL of an object key. */
export const urlOf = (site: Pick<SiteConfig, 'siteUrl'>, path: string): string =>
  `${site.siteUrl.endsWith('/') ? site.siteUrl.replace(/\/+$/, '') : site.siteUrl}/${path === HOME_PAGE ? '' : path}`;
