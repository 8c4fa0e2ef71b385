/**
 * The emails' words: the digest, instant alerts and short notices (confirmation and the like), each as a subject,
 * a plain-text part that reads on its own (every URL spelled out) and an HTML part rendered with
 * the Eta templates of email-templates.ts (every value escaped by the engine). Every link is
 * absolute: an email is read far from the site.
 */
import { Eta } from 'eta/core';
import { type Alert, alertSections } from '../domain/alerts.js';
import type { Digest, DigestItem, DigestSection, SubscriberLinks } from '../domain/digest.js';
import type { NewsEvent } from '../domain/event.js';
import {
  eventPath,
  feedPath,
  type SiteConfig,
  tagPath,
  topicFeedPath,
  topicPath,
  urlOf,
} from '../domain/site.js';
import * as templates from './email-templates.js';

/** What a mailer needs besides the addresses. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

// Compiled once, when the module loads. autoEscape is Eta's default; set anyway so it cannot drift.
const eta = new Eta({ autoEscape: true, autoTrim: [false, 'nl'], useWith: false, varName: 'it' });
eta.loadTemplate('@email-layout', templates.EMAIL_LAYOUT);
eta.loadTemplate('@digest', templates.DIGEST_CONTENT);
eta.loadTemplate('@digest-footer', templates.DIGEST_FOOTER);
eta.loadTemplate('@notice', templates.NOTICE_CONTENT);
eta.loadTemplate('@notice-footer', templates.NOTICE_FOOTER);

/** Names of tags and topics a subject line lists before it says "and N more". */
const SUBJECT_NAMES = 3;
/** What the digest's link to the subscriber's private feed says: it is theirs, and stays theirs. */
const PRIVATE_FEED_LABEL = 'This digest in your feed reader (a private feed: do not share it)';

/** About two lines of a phone's screen. */
const SUMMARY_MAX = 240;

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** Window formatters by zone, each made once. */
const windowFormats = new Map<string, Intl.DateTimeFormat>();

/** `Mon 7 Dec, 07:00` in `timeZone`: one formatter per zone, shared by every digest of a run. */
const localMinute = (iso: string, timeZone: string): string => {
  let format = windowFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    windowFormats.set(timeZone, format);
  }
  return format.format(Date.parse(iso));
};

/**
 * The digest's window in the reader's zone, named: `Mon 7 Dec, 07:00 – Tue 8 Dec, 07:00
 * (Europe/Berlin)`. Events keep their own dates; only the window is the reader's time.
 */
export const windowLine = (window: { start: string; end: string }, timeZone: string): string =>
  `${localMinute(window.start, timeZone)} – ${localMinute(window.end, timeZone)} (${timeZone})`;

const summaries = new WeakMap<NewsEvent, string>();

/** An event's summary, computed once per event object: a digest run shares events across thousands of digests. */
const summaryOf = (event: NewsEvent): string => {
  let summary = summaries.get(event);
  if (summary === undefined) {
    summary = summarize(event);
    summaries.set(event, summary);
  }
  return summary;
};

/** The first paragraph of the body on one line, cut at a word near `SUMMARY_MAX` characters. */
const summarize = (event: NewsEvent): string => {
  const first = (event.body.split(/\n[ \t]*\n/).find((p) => p.trim() !== '') ?? '')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...first];
  if (chars.length <= SUMMARY_MAX) return first;
  const cut = chars.slice(0, SUMMARY_MAX - 1).join('');
  const space = cut.lastIndexOf(' ');
  return `${(space > cut.length / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
};

/** `Syria, Russia and Iran`. */
const nameList = (names: string[]): string =>
  names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;

/** `Syria, Russia` / `Syria, Russia, Iran and 2 more`: a subject stays short enough to read. */
const subjectNames = (names: string[]): string =>
  names.length > SUBJECT_NAMES
    ? `${names.slice(0, SUBJECT_NAMES).join(', ')} and ${names.length - SUBJECT_NAMES} more`
    : names.join(', ');

/**
 * `List-Unsubscribe` with the one-click link and `List-Unsubscribe-Post` (RFC 8058): mail
 * providers show an unsubscribe button that POSTs `List-Unsubscribe=One-Click` to the link.
 */
export const listUnsubscribeHeaders = (links: Pick<SubscriberLinks, 'oneClick'>): Record<string, string> => ({
  'List-Unsubscribe': `<${links.oneClick}>`,
  'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
});

interface ItemModel {
  url: string;
  headline: string;
  updated: boolean;
  /** The date and the subscriber's tags and topic label the event carries. */
  meta: string;
  summary: string;
}

interface SectionModel {
  name: string;
  pageUrl: string;
  feedUrl: string;
  items: ItemModel[];
  more?: { url: string; label: string };
}

const itemModel = (site: SiteConfig, item: DigestItem): ItemModel => ({
  url: urlOf(site, eventPath(item.event.id)),
  headline: item.event.headline,
  updated: item.updated,
  meta: [item.event.date, [...item.tags, ...item.topics].map((t) => t.name).join(', ')].join(' · '),
  summary: summaryOf(item.event),
});

const sectionModel = (site: SiteConfig, section: DigestSection): SectionModel => {
  const { ref } = section;
  const tag = section.kind === 'tag';
  const pageUrl = urlOf(site, tag ? tagPath(ref.slug) : topicPath(ref.slug));
  const model: SectionModel = {
    name: ref.name,
    pageUrl,
    feedUrl: urlOf(
      site,
      tag ? feedPath({ kind: 'tag', slug: ref.slug, name: ref.name }, 'rss') : topicFeedPath(ref.slug, 'rss'),
    ),
    items: section.items.map((item) => itemModel(site, item)),
  };
  if (section.omitted > 0) model.more = { url: pageUrl, label: `${section.omitted} more in ${ref.name}` };
  return model;
};

/** `3 new events`, `2 updated events`, `5 new and updated events`. */
const countPhrase = (digest: Digest): string => {
  const items = digest.sections.flatMap((s) => s.items);
  const updated = items.filter((i) => i.updated).length;
  const kind =
    updated === 0
      ? 'new'
      : updated === items.length && digest.total === digest.shown
        ? 'updated'
        : 'new and updated';
  return plural(digest.total, `${kind} event`, `${kind} events`);
};

/** What a digest and an alert each say around their list of events. */
interface ListWords {
  subject: string;
  heading: string;
  summary: string;
  reason: string;
}

/**
 * The layout digests and alerts share: a heading and a summary, the events in sections by tag and
 * topic label, and the small print with every way out of the subscription (both parts).
 */
const renderEventList = (
  models: readonly SectionModel[],
  subscriber: Digest['subscriber'],
  site: SiteConfig,
  links: SubscriberLinks,
  words: ListWords,
): RenderedEmail => {
  const { heading, summary, reason } = words;
  const { tags, topics } = subscriber;
  const leaveOne = [
    ...tags.map((t) => ({ name: t.name, url: links.unsubscribeTag(t.slug) })),
    ...topics.map((t) => ({ name: t.name, url: links.unsubscribeTopicLabel(t.slug) })),
  ];

  const html = eta.render('@email-layout', {
    lang: site.language,
    title: `${heading} · ${site.title}`,
    siteTitle: site.title,
    siteUrl: urlOf(site, ''),
    content: eta.render('@digest', { heading, summary, sections: models }),
    footer: eta.render('@digest-footer', {
      feedLabel: PRIVATE_FEED_LABEL,
      reason,
      manage: links.manage,
      unsubscribeAll: links.unsubscribeAll,
      feed: links.feed,
      leaveOne,
    }),
  });

  const text: string[] = [`${heading} from ${site.title}`, summary, ''];
  for (const section of models) {
    text.push(`== ${section.name} ==`, `All ${section.name} events: ${section.pageUrl}`);
    text.push(`RSS feed: ${section.feedUrl}`, '');
    for (const item of section.items) {
      text.push(`* ${item.headline}`, `  ${item.updated ? 'Updated · ' : ''}${item.meta}`);
      if (item.summary) text.push(`  ${item.summary}`);
      text.push(`  ${item.url}`, '');
    }
    if (section.more) text.push(`${section.more.label}: ${section.more.url}`, '');
  }
  text.push('-- ', reason, `Manage your subscription: ${links.manage}`);
  text.push(`${PRIVATE_FEED_LABEL}: ${links.feed}`);
  text.push(`Unsubscribe from everything: ${links.unsubscribeAll}`);
  for (const one of leaveOne) text.push(`Unsubscribe from ${one.name}: ${one.url}`);
  return { subject: words.subject, text: `${text.join('\n')}\n`, html };
};

/** The digest's subject, both parts and the links every way out of the subscription. */
export const renderDigestEmail = (
  digest: Digest,
  site: SiteConfig,
  links: SubscriberLinks,
  /** The zone of subscribers who have not chosen one (the deployment's default). */
  defaultTimeZone = 'UTC',
): RenderedEmail => {
  const models = digest.sections.map((section) => sectionModel(site, section));
  const count = countPhrase(digest);
  const names = models.map((s) => s.name);
  const subject = names.length > 0 ? `${count}: ${subjectNames(names)}` : count;
  const window = `in ${windowLine(digest.window, digest.subscriber.timeZone ?? defaultTimeZone)}`;
  const capped =
    digest.shown < digest.total
      ? ` The ${digest.shown} most recent are below; the links under each tag and topic lead to the rest.`
      : '';
  const { tags, topics } = digest.subscriber;
  return renderEventList(models, digest.subscriber, site, links, {
    subject,
    heading: `Your ${digest.cadence} digest`,
    summary: `${count[0]?.toUpperCase()}${count.slice(1)} in your tags and topics ${window}.${capped}`,
    reason: `You receive this ${digest.cadence} digest because you subscribed to ${nameList([...tags, ...topics].map((t) => t.name))} on ${site.title} (${site.siteUrl}).`,
  });
};

/**
 * An instant alert: one event's headline as the subject (or the count and the tags and topics of
 * several), the times in the subscriber's zone, named, and the digest's layout and ways out.
 */
export const renderAlertEmail = (alert: Alert, site: SiteConfig, links: SubscriberLinks): RenderedEmail => {
  const models = alertSections(alert).map((section) => sectionModel(site, section));
  const updated = alert.items.filter((i) => i.updated).length;
  const kind = updated === 0 ? 'new' : updated === alert.items.length ? 'updated' : 'new and updated';
  const count = plural(alert.items.length, `${kind} event`, `${kind} events`);
  const [only] = alert.items;
  const subject =
    alert.items.length === 1 && only
      ? `${only.updated ? 'Updated: ' : ''}${only.event.headline}`
      : `${count}: ${subjectNames(models.map((s) => s.name))}`;
  const { tags, topics } = alert.subscriber;
  return renderEventList(models, alert.subscriber, site, links, {
    subject,
    heading: 'Your alert',
    summary: `${count[0]?.toUpperCase()}${count.slice(1)} in your tags and topics in ${windowLine(alert.window, alert.zone)}.`,
    reason: `You receive these alerts as events happen because you subscribed to ${nameList([...tags, ...topics].map((t) => t.name))} on ${site.title} (${site.siteUrl}).`,
  });
};

/** A short email: a heading, paragraphs, an optional list and one action, some small print. */
export interface Notice {
  subject: string;
  heading: string;
  paragraphs: string[];
  /** A short bulleted list after the paragraphs (what a subscription follows, say). */
  items?: string[];
  /** The one thing to do: a button in HTML, the URL spelled out in both parts. */
  action?: { label: string; url: string };
  /** Small print under the line. */
  footer?: string[];
  /** Links in the small print (manage, unsubscribe). */
  footerLinks?: { label: string; url: string }[];
}

/** A notice in the digest's look (the confirmation email uses it): subject, both parts. */
export const renderNoticeEmail = (site: SiteConfig, notice: Notice): RenderedEmail => {
  const items = notice.items ?? [];
  const footer = notice.footer ?? [];
  const footerLinks = notice.footerLinks ?? [];
  const html = eta.render('@email-layout', {
    lang: site.language,
    title: `${notice.heading} · ${site.title}`,
    siteTitle: site.title,
    siteUrl: urlOf(site, ''),
    content: eta.render('@notice', { ...notice, items, action: notice.action }),
    footer:
      footer.length + footerLinks.length > 0
        ? eta.render('@notice-footer', { lines: footer, links: footerLinks })
        : undefined,
  });
  const text: string[] = [notice.heading, ''];
  for (const paragraph of notice.paragraphs) text.push(paragraph, '');
  if (items.length > 0) text.push(...items.map((item) => `* ${item}`), '');
  if (notice.action) text.push(`${notice.action.label}: ${notice.action.url}`, '');
  if (footer.length + footerLinks.length > 0) {
    text.push('-- ', ...footer, ...footerLinks.map((link) => `${link.label}: ${link.url}`));
  }
  return { subject: notice.subject, text: `${text.join('\n').trimEnd()}\n`, html };
};
