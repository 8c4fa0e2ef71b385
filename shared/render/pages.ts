/**
 * The site's HTML pages, rendered with the Eta templates of templates.ts (every value escaped by
 * the engine). Links: the canonical URL, `<link rel="alternate">` and visible feed/OPML links are
 * absolute (urlOf), since readers copy them elsewhere; links between pages are root-relative, under
 * the site's base path if `siteUrl` has one.
 */
import { Eta } from 'eta/core';
import { type Counts, keysOf, monthOf, topicScope, yearOf } from '../domain/archives.js';
import type { NewsEvent, Tag } from '../domain/event.js';
import { type EventSummary, newestFirst, type RelatedEvent } from '../domain/related.js';
import {
  type ArchiveFormat,
  archivePath,
  dayPath,
  eventPath,
  FEED_FORMATS,
  type FeedFormat,
  type FeedScope,
  feedPath,
  HOME_PAGE,
  monthPath,
  NOT_FOUND_PAGE,
  OPML_FILE,
  type SiteConfig,
  TAGS_PAGE,
  TOPICS_PAGE,
  tagPath,
  topicPath,
  urlOf,
  yearPath,
} from '../domain/site.js';
import * as templates from './templates.js';

/** A tag with the number of its events, as the tag index and the home page list them. */
export interface TagCount extends Tag {
  count: number;
}

export interface TagPageOptions {
  /** How many events the tag has in all, when `events` is only its newest. */
  total?: number;
  /** Its events per month (`YYYY-MM`), its whole history: listed with links to each month's archives. */
  months?: Counts;
}

/** A topic label with the number of its events. */
export interface TopicCount {
  name: string;
  slug: string;
  count: number;
}

/** The days before and after a day's page that have events. */
export interface DayPageOptions {
  prev?: string;
  next?: string;
}

export interface HomePageOptions {
  /** How many of the most used tags the home page lists (default 30). */
  topTags?: number;
  /** Every topic label with its count; without it, the labels of the latest events. */
  topics?: readonly TopicCount[];
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  // The one character above Latin-1 the pages add themselves (where `truncate` cuts), written as a
  // reference: a page whose text is Latin-1 is then a one-byte string, which V8 copies and encodes
  // twice as fast, and every page is copied to be written.
  '…': '&#8230;',
};

/** Eta's escaping (text and quoted attributes), and the ellipsis as a reference. */
const escapeHtml = (value: unknown): string => {
  const text = String(value);
  return /[&<>"'…]/.test(text) ? text.replace(/[&<>"'…]/g, (c) => ESCAPES[c] ?? c) : text;
};

/**
 * Eta appends each piece of a page to a string (`__eta.res+=piece;`, one statement a line), which
 * makes the page a chain of a thousand or more small strings that V8 must copy into one before it
 * can write it out: some 80 ns a piece, as long as rendering the page again (measured). This
 * rewrites each such statement to push the piece onto an array, joined once at the end. The
 * templates use none of Eta's layout, capture or block helpers, which would still write to
 * `__eta.res`; the page tests check the output.
 */
const joinedOutput = {
  processFnString: (fn: string): string => {
    const body = fn.replace(/^__eta\.res\+=(.*);$/gm, '__pieces.push($1);');
    const end = body.lastIndexOf('return __eta.res;');
    if (end < 0) throw new Error("Eta's compiled template changed shape: no `return __eta.res;`");
    return `${body.slice(0, end)}return __pieces.join('');${body.slice(end + 'return __eta.res;'.length)}`;
  },
};

// Compiled once, when the module loads. autoEscape is Eta's default; set anyway so it cannot drift.
const eta = new Eta({
  autoEscape: true,
  autoTrim: [false, 'nl'],
  useWith: false,
  varName: 'it',
  escapeFunction: escapeHtml,
  functionHeader: 'const __pieces = [];',
  plugins: [joinedOutput],
});
eta.loadTemplate('@layout', templates.LAYOUT);
eta.loadTemplate('@event-item', templates.EVENT_ITEM);
eta.loadTemplate('@feed-links', templates.FEED_LINKS);
eta.loadTemplate('@scope-events', templates.SCOPE_EVENTS);
eta.loadTemplate('@days', templates.DAYS);
eta.loadTemplate('@event', templates.EVENT_PAGE);
eta.loadTemplate('@day', templates.DAY_PAGE);
eta.loadTemplate('@tag', templates.TAG_PAGE);
eta.loadTemplate('@tags', templates.TAGS_INDEX);
eta.loadTemplate('@not-found', templates.NOT_FOUND);
eta.loadTemplate('@home', templates.HOME_PAGE);
eta.loadTemplate('@subscribe-form', templates.SUBSCRIBE_FORM);
eta.loadTemplate('@period-nav', templates.PERIOD_NAV);
eta.loadTemplate('@history', templates.HISTORY);
eta.loadTemplate('@topic', templates.TOPIC_PAGE);
eta.loadTemplate('@topics', templates.TOPICS_INDEX);
eta.loadTemplate('@month', templates.MONTH_PAGE);
eta.loadTemplate('@year', templates.YEAR_PAGE);

const FEED_TYPES: Record<FeedFormat, string> = {
  rss: 'application/rss+xml',
  atom: 'application/atom+xml',
  json: 'application/feed+json',
};
const FEED_LABELS: Record<FeedFormat, string> = { rss: 'RSS', atom: 'Atom', json: 'JSON Feed' };

/** html-validate's long-title limit, and about what search results and tabs show. */
const TITLE_MAX = 70;
const DESCRIPTION_MAX = 200;
const DEFAULT_TOP_TAGS = 30;
/** Topics the home page's subscription form offers: the most used tags. */
const SUBSCRIBE_TOPICS = 6;
/** Where the subscription form posts (the API shares the site's origin). */
const SUBSCRIBE_ACTION = 'api/subscriptions';

interface Link {
  type: string;
  title: string;
  href: string;
}

interface FeedLink {
  type: string;
  label: string;
  href: string;
}

interface LayoutModel {
  title: string;
  description: string;
  canonical: string;
  alternates: Link[];
}

const basePaths = new Map<string, string>();

/** Root-relative link to an object key, under the site's base path when the site is not at the root. */
const hrefOf = (site: SiteConfig, path: string): string => {
  let base = basePaths.get(site.siteUrl);
  if (base === undefined) {
    base = new URL(site.siteUrl).pathname.replace(/\/+$/, '');
    basePaths.set(site.siteUrl, base);
  }
  return `${base}/${path === HOME_PAGE ? '' : path}`;
};

/** A publisher's link, or none if it is not http(s): validation guarantees it, this keeps pages safe regardless. */
const externalHref = (url: string): string | undefined => {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Cuts text to at most `max` by `measure` (UTF-16 units by default) at a code point boundary, and at
 * a word boundary if one is near, marking the cut with an ellipsis. `measure` must add up: the
 * measure of a string is the sum of its characters' (it is taken character by character).
 */
export const truncate = (
  text: string,
  max: number,
  measure: (s: string) => number = (s) => s.length,
): string => {
  if (measure(text) <= max) return text;
  const room = max - measure('…');
  let end = 0;
  let used = 0;
  for (const char of text) {
    used += measure(char);
    if (used > room) break;
    end += char.length;
  }
  let out = text.slice(0, end);
  const space = out.lastIndexOf(' ');
  if (space > out.length / 2) out = out.slice(0, space);
  return `${out.trimEnd()}…`;
};

/** A title's length as written in the page: html-validate's long-title counts `&amp;` as five. */
const escapedLength = (text: string): number => {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const reference = ESCAPES[text[i] as string];
    if (reference !== undefined) length += reference.length - 1;
  }
  return length;
};

/** `<page> · <site>` within the title limit; the page's own name wins the room when it is long. */
const pageTitle = (site: SiteConfig, name?: string): string => {
  if (name === undefined) return truncate(site.title, TITLE_MAX, escapedLength);
  const suffix = ` · ${site.title}`;
  if (escapedLength(name + suffix) <= TITLE_MAX) return `${name}${suffix}`;
  const room = TITLE_MAX - escapedLength(suffix);
  return room >= 30
    ? `${truncate(name, room, escapedLength)}${suffix}`
    : truncate(name, TITLE_MAX, escapedLength);
};

const feedLinks = (site: SiteConfig, scope: FeedScope): FeedLink[] =>
  FEED_FORMATS.map((format) => ({
    type: FEED_TYPES[format],
    label: FEED_LABELS[format],
    href: urlOf(site, feedPath(scope, format)),
  }));

/** `<link rel="alternate">` for a scope's feeds, titled so a reader can tell them apart. */
const feedAlternates = (site: SiteConfig, scope: FeedScope): Link[] =>
  FEED_FORMATS.map((format) => ({
    type: FEED_TYPES[format],
    title:
      scope.kind === 'site'
        ? `${site.title} (${FEED_LABELS[format]})`
        : `${scope.name} · ${site.title} (${FEED_LABELS[format]})`,
    href: urlOf(site, feedPath(scope, format)),
  }));

const tagScope = (tag: Tag): FeedScope => ({ kind: 'tag', slug: tag.slug, name: tag.name });

/** What every page of a site shows the same: worked out once per site settings, not per page. */
interface SiteFrame {
  nav: { home: string; tags: string; opml: string };
  siteFeeds: FeedLink[];
  siteAlternates: Link[];
}

const frames = new WeakMap<SiteConfig, SiteFrame>();

const frameOf = (site: SiteConfig): SiteFrame => {
  let frame = frames.get(site);
  if (!frame) {
    frame = {
      nav: { home: hrefOf(site, HOME_PAGE), tags: hrefOf(site, TAGS_PAGE), opml: urlOf(site, OPML_FILE) },
      siteFeeds: feedLinks(site, { kind: 'site' }),
      siteAlternates: feedAlternates(site, { kind: 'site' }),
    };
    frames.set(site, frame);
  }
  return frame;
};

const renderPage = (site: SiteConfig, layout: LayoutModel, template: string, model: object): string => {
  const { nav, siteFeeds } = frameOf(site);
  return eta.render('@layout', {
    ...layout,
    lang: site.language,
    siteTitle: site.title,
    nav,
    siteFeeds,
    content: eta.render(template, model),
  });
};

interface ListItem {
  href: string;
  headline: string;
  date: string;
  dayHref: string;
  topic?: string;
}

/** What a list of events shows of each: headline, day and topic. */
export type ListedEvent = Pick<EventSummary, 'id' | 'date' | 'headline' | 'topic' | 'publishedAt'>;

const listItem = (site: SiteConfig, event: ListedEvent): ListItem => {
  const item: ListItem = {
    href: hrefOf(site, eventPath(event.id)),
    headline: event.headline,
    date: event.date,
    dayHref: hrefOf(site, dayPath(event.date)),
  };
  if (event.topic !== undefined) item.topic = event.topic;
  return item;
};

/** Body text as paragraphs (split at blank lines) of lines (kept apart with `<br>`). */
const paragraphsOf = (body: string): string[][] =>
  body
    .split(/\n[ \t]*\n/)
    .map((paragraph) =>
      paragraph
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== ''),
    )
    .filter((lines) => lines.length > 0);

/** Text for `<meta name="description">`: the body's start, or the headline if there is no body. */
export const descriptionOf = (text: string): string => {
  // Collapsing white space only shortens text, so a start that collapses to more than the limit
  // cuts the same as the whole text; most bodies are far longer than a description.
  const start = text.trimStart();
  for (let take = 2 * DESCRIPTION_MAX; take < start.length; take *= 2) {
    const collapsed = start.slice(0, take).replace(/\s+/g, ' ');
    if (collapsed.length > DESCRIPTION_MAX + 1) return truncate(collapsed, DESCRIPTION_MAX);
  }
  return truncate(start.replace(/\s+/g, ' ').trim(), DESCRIPTION_MAX);
};

/** An event's page: the event, its sources and tags, and the related events with the tags they share. */
export const renderEventPage = (
  site: SiteConfig,
  event: NewsEvent,
  related: readonly RelatedEvent[],
): string => {
  const sources = event.sources.map((s) => ({ name: s.name, href: externalHref(s.url) }));
  const imageHref = event.image ? externalHref(event.image.url) : undefined;
  if (event.image && imageHref) sources.push({ name: 'Cover image', href: imageHref });
  const model = {
    formats: {
      html: hrefOf(site, eventPath(event.id, 'html')),
      json: hrefOf(site, eventPath(event.id, 'json')),
      xml: hrefOf(site, eventPath(event.id, 'xml')),
    },
    date: event.date,
    dayHref: hrefOf(site, dayPath(event.date)),
    topic: topicLink(site, event.topic),
    headline: event.headline,
    image:
      event.image && imageHref
        ? { src: imageHref, alt: event.image.caption ?? '', caption: event.image.caption }
        : undefined,
    paragraphs: paragraphsOf(event.body),
    sources,
    tags: event.tags.map((t) => ({ name: t.name, href: hrefOf(site, tagPath(t.slug)) })),
    related: related.map((r) => ({
      href: hrefOf(site, eventPath(r.event.id)),
      headline: r.event.headline,
      context: r.sharedTags.map((t) => t.name).join(', '),
    })),
  };
  const formats: Link[] = [
    { type: 'application/json', title: 'This event as JSON', href: urlOf(site, eventPath(event.id, 'json')) },
    { type: 'application/xml', title: 'This event as XML', href: urlOf(site, eventPath(event.id, 'xml')) },
  ];
  return renderPage(
    site,
    {
      title: pageTitle(site, event.headline),
      description: descriptionOf(event.body || event.headline),
      canonical: urlOf(site, eventPath(event.id)),
      alternates: [
        ...frameOf(site).siteAlternates,
        ...event.tags.flatMap((t) => feedAlternates(site, tagScope(t))),
        ...formats,
      ],
    },
    '@event',
    model,
  );
};

/** A topic label's name and page, when the label has a slug (one of only punctuation has none). */
const topicLink = (
  site: SiteConfig,
  label: string | undefined,
): { name: string; href: string } | undefined => {
  if (label === undefined || label === '') return undefined;
  const { slug } = topicScope(label);
  return slug === '' ? undefined : { name: label, href: hrefOf(site, topicPath(slug)) };
};

interface PeriodNav {
  label: string;
  prev?: { href: string; text: string };
  next?: { href: string; text: string };
  up?: { href: string; text: string };
}

const periodNav = (
  label: string,
  pathOf: (key: string) => string,
  site: SiteConfig,
  around: { prev?: string | undefined; next?: string | undefined },
  up?: { path: string; text: string },
): PeriodNav => ({
  label,
  ...(around.prev ? { prev: { href: hrefOf(site, pathOf(around.prev)), text: around.prev } } : {}),
  ...(around.next ? { next: { href: hrefOf(site, pathOf(around.next)), text: around.next } } : {}),
  ...(up ? { up: { href: hrefOf(site, up.path), text: up.text } } : {}),
});

const ARCHIVE_FEEDS: readonly ArchiveFormat[] = ['atom', 'rss'];

/** A scope's months, newest first, with the site's month page and the scope's archived feeds of each. */
const historyOf = (site: SiteConfig, scope: FeedScope, months: Counts | undefined) =>
  keysOf(months ?? {})
    .reverse()
    .map((month) => ({
      month,
      count: months?.[month] ?? 0,
      href: hrefOf(site, monthPath(month)),
      feeds: ARCHIVE_FEEDS.map((format) => ({
        type: FEED_TYPES[format],
        label: FEED_LABELS[format],
        href: urlOf(site, archivePath(scope, month, format)),
      })),
    }));

const countOf = (count: number): string => `${count} ${count === 1 ? 'event' : 'events'}`;

/** A day's events grouped by topic, topics in order of their first event (untopical ones last, as "Other"). */
export const renderDayPage = (
  site: SiteConfig,
  date: string,
  events: readonly ListedEvent[],
  options: DayPageOptions = {},
): string => {
  const ordered = [...events].sort(
    (a, b) =>
      (a.publishedAt < b.publishedAt ? -1 : a.publishedAt > b.publishedAt ? 1 : 0) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const groups = new Map<string, ListItem[]>();
  const untopical: ListItem[] = [];
  for (const event of ordered) {
    const item = listItem(site, event);
    if (event.topic === undefined) untopical.push(item);
    else groups.set(event.topic, [...(groups.get(event.topic) ?? []), item]);
  }
  const model = {
    date,
    nav: periodNav('Days', dayPath, site, options, { path: monthPath(monthOf(date)), text: monthOf(date) }),
    groups: [
      ...[...groups].map(([topic, items]) => ({ topic, href: topicLink(site, topic)?.href, items })),
      ...(untopical.length > 0 ? [{ topic: 'Other', items: untopical }] : []),
    ],
  };
  return renderPage(
    site,
    {
      title: pageTitle(site, `Events of ${date}`),
      description: `${events.length} ${events.length === 1 ? 'event' : 'events'} on ${date}.`,
      canonical: urlOf(site, dayPath(date)),
      alternates: frameOf(site).siteAlternates,
    },
    '@day',
    model,
  );
};

/** A tag's events, newest first, with its feeds shown and announced, and room for a subscription form. */
export const renderTagPage = (
  site: SiteConfig,
  tag: Tag,
  events: readonly ListedEvent[],
  options: TagPageOptions = {},
): string => {
  const shown = [...events].sort(newestFirst);
  const total = Math.max(options.total ?? shown.length, shown.length);
  const count = `${total} ${total === 1 ? 'event' : 'events'}`;
  const summary =
    total > shown.length
      ? `${count}; the newest ${shown.length} are listed here.`
      : `${count}, newest first.`;
  const scope = tagScope(tag);
  return renderPage(
    site,
    {
      title: pageTitle(site, tag.name),
      description: `Events tagged ${tag.name}: ${count}.`,
      canonical: urlOf(site, tagPath(tag.slug)),
      alternates: [...frameOf(site).siteAlternates, ...feedAlternates(site, scope)],
    },
    '@tag',
    {
      tag: { name: tag.name },
      summary,
      feeds: feedLinks(site, scope),
      items: shown.map((e) => listItem(site, e)),
      subscribe: { action: hrefOf(site, SUBSCRIBE_ACTION), tags: [{ name: tag.name, checked: true }] },
      history: historyOf(site, scope, options.months),
    },
  );
};

/** A topic label's events, newest first, its feeds, and every month it has events in. */
export const renderTopicPage = (
  site: SiteConfig,
  label: string,
  events: readonly ListedEvent[],
  options: TagPageOptions = {},
): string => {
  const scope = topicScope(label);
  const shown = [...events].sort(newestFirst);
  const total = Math.max(options.total ?? shown.length, shown.length);
  const summary =
    total > shown.length
      ? `${countOf(total)}; the newest ${shown.length} are listed here, and every month below.`
      : `${countOf(total)}, newest first.`;
  return renderPage(
    site,
    {
      title: pageTitle(site, label),
      description: `Events on ${label}: ${countOf(total)}.`,
      canonical: urlOf(site, topicPath(scope.slug)),
      alternates: [...frameOf(site).siteAlternates, ...feedAlternates(site, scope)],
    },
    '@topic',
    {
      topic: { name: label },
      summary,
      feeds: feedLinks(site, scope),
      items: shown.map((e) => listItem(site, e)),
      history: historyOf(site, scope, options.months),
    },
  );
};

/** Every topic label by name, with its count. */
export const renderTopicsIndex = (site: SiteConfig, topics: readonly TopicCount[]): string => {
  const sorted = [...topics].sort((a, b) => byName.compare(a.name, b.name) || (a.slug < b.slug ? -1 : 1));
  return renderPage(
    site,
    {
      title: pageTitle(site, 'Topics'),
      description: `All ${topics.length} topics of ${site.title}.`,
      canonical: urlOf(site, TOPICS_PAGE),
      alternates: frameOf(site).siteAlternates,
    },
    '@topics',
    {
      summary: `${topics.length} ${topics.length === 1 ? 'topic' : 'topics'}; each has its own feeds.`,
      topics: sorted.map((t) => ({ name: t.name, count: t.count, href: hrefOf(site, topicPath(t.slug)) })),
    },
  );
};

/** A month's days, newest first, with their events' headlines; links to the months around it and its year. */
export const renderMonthPage = (
  site: SiteConfig,
  month: string,
  events: readonly ListedEvent[],
  around: { prev?: string | undefined; next?: string | undefined } = {},
): string => {
  const days = new Map<string, ListItem[]>();
  for (const event of [...events].sort(newestFirst))
    days.set(event.date, [...(days.get(event.date) ?? []), listItem(site, event)]);
  const year = yearOf(month);
  return renderPage(
    site,
    {
      title: pageTitle(site, `Events of ${month}`),
      description: `${countOf(events.length)} in ${month}.`,
      canonical: urlOf(site, monthPath(month)),
      alternates: frameOf(site).siteAlternates,
    },
    '@month',
    {
      month,
      nav: periodNav('Months', monthPath, site, around, { path: yearPath(year), text: year }),
      summary: `${countOf(events.length)} on ${days.size} ${days.size === 1 ? 'day' : 'days'}.`,
      days: [...days].map(([date, items]) => ({ date, href: hrefOf(site, dayPath(date)), items })),
    },
  );
};

/** A year's months with their counts; links to the years around it. */
export const renderYearPage = (
  site: SiteConfig,
  year: string,
  months: Counts,
  around: { prev?: string | undefined; next?: string | undefined } = {},
): string => {
  const listed = keysOf(months).filter((m) => yearOf(m) === year);
  const total = listed.reduce((sum, m) => sum + (months[m] ?? 0), 0);
  return renderPage(
    site,
    {
      title: pageTitle(site, `Events of ${year}`),
      description: `${countOf(total)} in ${year}.`,
      canonical: urlOf(site, yearPath(year)),
      alternates: frameOf(site).siteAlternates,
    },
    '@year',
    {
      year,
      nav: periodNav('Years', yearPath, site, around),
      summary: `${countOf(total)} in ${listed.length} ${listed.length === 1 ? 'month' : 'months'}.`,
      months: listed.map((month) => ({
        month,
        count: months[month] ?? 0,
        href: hrefOf(site, monthPath(month)),
      })),
    },
  );
};

const byName = new Intl.Collator('en', { sensitivity: 'base', numeric: true });

/** Every tag by name, with its count and a link to the OPML file of all tag feeds. */
export const renderTagsIndex = (site: SiteConfig, tags: readonly TagCount[]): string => {
  const sorted = [...tags].sort(
    (a, b) => byName.compare(a.name, b.name) || (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0),
  );
  return renderPage(
    site,
    {
      title: pageTitle(site, 'Tags'),
      description: `All ${tags.length} tags of ${site.title}.`,
      canonical: urlOf(site, TAGS_PAGE),
      alternates: frameOf(site).siteAlternates,
    },
    '@tags',
    {
      summary: `${tags.length} ${tags.length === 1 ? 'tag' : 'tags'}.`,
      opml: urlOf(site, OPML_FILE),
      tags: sorted.map((t) => ({ name: t.name, count: t.count, href: hrefOf(site, tagPath(t.slug)) })),
    },
  );
};

/** The 404 page: served for any missing address, at any depth; links are root-relative like every page's. */
export const renderNotFoundPage = (site: SiteConfig): string =>
  renderPage(
    site,
    {
      title: pageTitle(site, 'Page not found'),
      description: `No page at this address on ${site.title}.`,
      canonical: urlOf(site, NOT_FOUND_PAGE),
      alternates: frameOf(site).siteAlternates,
    },
    '@not-found',
    { home: hrefOf(site, HOME_PAGE), tags: hrefOf(site, TAGS_PAGE) },
  );

/**
 * The home page: the latest events grouped by day (newest first), the topics among them with
 * their counts, and the most used tags.
 */
export const renderHomePage = (
  site: SiteConfig,
  latest: readonly ListedEvent[],
  tags: readonly TagCount[],
  options: HomePageOptions = {},
): string => {
  const days = new Map<string, ListItem[]>();
  const topics = new Map<string, number>();
  for (const event of [...latest].sort(newestFirst)) {
    days.set(event.date, [...(days.get(event.date) ?? []), listItem(site, event)]);
    if (event.topic !== undefined) topics.set(event.topic, (topics.get(event.topic) ?? 0) + 1);
  }
  const topTags = [...tags]
    .sort((a, b) => b.count - a.count || byName.compare(a.name, b.name))
    .slice(0, options.topTags ?? DEFAULT_TOP_TAGS);
  return renderPage(
    site,
    {
      title: pageTitle(site),
      description: site.description,
      canonical: urlOf(site, HOME_PAGE),
      alternates: frameOf(site).siteAlternates,
    },
    '@home',
    {
      siteTitle: site.title,
      description: site.description,
      days: [...days].map(([date, items]) => ({ date, href: hrefOf(site, dayPath(date)), items })),
      topics: (options.topics ?? [...topics].map(([name, count]) => ({ name, count })))
        .flatMap(({ name, count }) => {
          const link = topicLink(site, name);
          return link ? [{ ...link, count }] : [];
        })
        .sort((a, b) => b.count - a.count || byName.compare(a.name, b.name)),
      tags: topTags.map((t) => ({ name: t.name, count: t.count, href: hrefOf(site, tagPath(t.slug)) })),
      allTags: hrefOf(site, TAGS_PAGE),
      allTopics: hrefOf(site, TOPICS_PAGE),
      subscribe: {
        action: hrefOf(site, SUBSCRIBE_ACTION),
        tags: topTags.slice(0, SUBSCRIBE_TOPICS).map((t) => ({ name: t.name, checked: false })),
        // The topic labels of the events shown, most used first.
        topics: [...topics]
          .sort(([a, m], [b, n]) => n - m || byName.compare(a, b))
          .slice(0, SUBSCRIBE_TOPICS)
          .map(([name]) => ({ name, checked: false })),
      },
    },
  );
};
