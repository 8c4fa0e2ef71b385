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

export const FEED_CONTENT_TYPES: Record<FeedFormat, string> = {
  rss: 'application/rss+xml; charset=utf-8',
  atom: 'application/atom+xml; charset=utf-8',
  json: 'application/feed+json; charset=utf-8',
};

/** A feed covers the whole site or one tag. */
export type FeedScope = { kind: 'site' } | { kind: 'tag'; slug: string; name: string };

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
/** A topic label's page. */
export const topicPath = (slug: string): string => `topics/${pageSlug('topic', slug)}.html`;
/** A topic label's feed. */
export const topicFeedPath = (slug: string, format: FeedFormat): string => `feeds/topics/${slug}.${format}`;
export const feedPath = (scope: FeedScope, format: FeedFormat): string =>
  scope.kind === 'site' ? `feeds/all.${format}` : `feeds/tags/${scope.slug}.${format}`;

/** The absolute URL of an object key. */
export const urlOf = (site: Pick<SiteConfig, 'siteUrl'>, path: string): string =>
  `${site.siteUrl.endsWith('/') ? site.siteUrl.replace(/\/+$/, '') : site.siteUrl}/${path === HOME_PAGE ? '' : path}`;
