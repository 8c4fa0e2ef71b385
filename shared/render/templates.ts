/**
 * Eta templates of the site's pages, kept as strings so esbuild bundles them with the code that
 * renders them. pages.ts compiles each once at module load.
 *
 * Rules for editing: every value is written with `<%= %>`, which escapes it for text and quoted
 * attributes. The only raw outputs (`<%~ %>`) are `it.content` in the layout and `include(...)`,
 * both HTML the engine itself rendered. Every URL reaches a template precomputed by pages.ts.
 * Keep control tags (`<% %>`) at the start of their line and never leave a space before a line
 * break: the html-validate tests reject trailing whitespace.
 */

import { HONEYPOT_FIELD } from '../domain/signup.js';
import { supportedZones } from '../domain/zones.js';

/** Small, readable without JavaScript, one column that fits a phone; follows the reader's dark mode. */
const CSS = [
  ':root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#5a5a5a;--link:#0b57d0;--rule:#ddd}',
  '@media (prefers-color-scheme:dark){:root{--fg:#e6e6e6;--bg:#151515;--muted:#a6a6a6;--link:#8ab4f8;--rule:#333}}',
  '*{box-sizing:border-box}',
  'body{margin:0 auto;max-width:44rem;padding:0 1rem 2rem;color:var(--fg);background:var(--bg);font:1.0625rem/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow-wrap:break-word}',
  'a{color:var(--link)}',
  'h1{font-size:1.45rem;line-height:1.3;margin:.4rem 0 1rem}',
  'h2{font-size:1.15rem;margin:1.6rem 0 .5rem}',
  'h3{font-size:1rem;margin:1.2rem 0 .4rem}',
  '.site{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:baseline;justify-content:space-between;padding:.75rem 0;border-bottom:1px solid var(--rule)}',
  '.brand{font-weight:700;text-decoration:none;color:var(--fg)}',
  '.site nav a{margin-left:.75rem}',
  '.meta,.formats,.context,.count,footer{color:var(--muted);font-size:.9rem}',
  '.topic{font-weight:600}',
  'figure{margin:1rem 0}',
  'img{max-width:100%;height:auto;display:block}',
  'figcaption{color:var(--muted);font-size:.9rem;margin-top:.3rem}',
  'ol,ul{padding-left:1.4rem}',
  'li{margin:.35rem 0}',
  '.tags{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem}',
  '.tags li{margin:0}',
  '.tags a{display:inline-block;padding:.1rem .55rem;border:1px solid var(--rule);border-radius:1rem;text-decoration:none}',
  '.context{display:block;font-style:italic}',
  '#subscribe{border:1px solid var(--rule);border-radius:.5rem;padding:0 1rem .5rem}',
  '#subscribe fieldset{border:0;margin:.5rem 0;padding:0}',
  '#subscribe label{display:block}',
  '#subscribe button{font:inherit;margin:.25rem 0 .75rem}',
  // The sign-up honeypot: off-screen rather than display:none, which some bots check for.
  '.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}',
  'footer{margin-top:2.5rem;padding-top:.75rem;border-top:1px solid var(--rule)}',
].join('\n');

/** The page shell: head with canonical URL and feed discovery, site header, the page, the footer. */
export const LAYOUT = `<!DOCTYPE html>
<html lang="<%= it.lang %>">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><%= it.title %></title>
<% if (it.description) { %>
<meta name="description" content="<%= it.description %>">
<% } %>
<link rel="canonical" href="<%= it.canonical %>">
<% for (const link of it.alternates) { %>
<link rel="alternate" type="<%= link.type %>" title="<%= link.title %>" href="<%= link.href %>">
<% } %>
<style>
${CSS}
</style>
</head>
<body>
<header class="site">
<a class="brand" href="<%= it.nav.home %>"><%= it.siteTitle %></a>
<nav aria-label="Site">
<a href="<%= it.nav.home %>">Latest</a>
<a href="<%= it.nav.tags %>">Tags</a>
</nav>
</header>
<main>
<%~ it.content %>
</main>
<footer>
<p>Follow all events:
<% it.siteFeeds.forEach((feed, i) => { %>
<%= i > 0 ? '· ' : '' %><a href="<%= feed.href %>" type="<%= feed.type %>"><%= feed.label %></a>
<% }) %>
· <a href="<%= it.nav.opml %>" type="text/x-opml">every tag feed (OPML)</a></p>
</footer>
</body>
</html>
`;

/**
 * One event in a list (day, tag and home pages): `it.item` from pages.ts's `listItem`. A list of
 * one day leaves the date out (`it.showDate`), one grouped by topic leaves the topic out (`it.showTopic`).
 */
export const EVENT_ITEM = `<li><a href="<%= it.item.href %>"><%= it.item.headline %></a>
<% const topic = it.showTopic ? it.item.topic : undefined %>
<% if (it.showDate || topic) { %>
<span class="meta">
<% if (it.showDate) { %>
<a href="<%= it.item.dayHref %>"><time datetime="<%= it.item.date %>"><%= it.item.date %></time></a>
<% } %>
<% if (it.showDate && topic) { %>
·
<% } %>
<% if (topic) { %>
<span class="topic"><%= topic %></span>
<% } %>
</span>
<% } %>
</li>
`;

/** An event's page, in the seed archive's order: formats, date and topic, headline, body, sources, related. */
export const EVENT_PAGE = `<article>
<p class="formats">Formats:
<a href="<%= it.formats.html %>" aria-current="page">HTML</a>
<a href="<%= it.formats.json %>" type="application/json">JSON</a>
<a href="<%= it.formats.xml %>" type="application/xml">XML</a></p>
<p class="meta"><a href="<%= it.dayHref %>"><time datetime="<%= it.date %>"><%= it.date %></time></a>
<% if (it.topic) { %>
· <a class="topic" href="<%= it.topic.href %>"><%= it.topic.name %></a>
<% } %>
</p>
<h1><%= it.headline %></h1>
<% if (it.image) { %>
<figure>
<img src="<%= it.image.src %>" alt="<%= it.image.alt %>" loading="lazy" decoding="async">
<% if (it.image.caption) { %>
<figcaption><%= it.image.caption %></figcaption>
<% } %>
</figure>
<% } %>
<% for (const lines of it.paragraphs) { %>
<p>
<% lines.forEach((line, i) => { %>
<% if (i > 0) { %>
<br>
<% } %>
<%= line %>
<% }) %>
</p>
<% } %>
<% if (it.sources.length > 0) { %>
<section aria-labelledby="sources">
<h2 id="sources">Sources</h2>
<ol>
<% for (const source of it.sources) { %>
<% if (source.href) { %>
<li><a href="<%= source.href %>" rel="nofollow noopener"><%= source.name %></a></li>
<% } else { %>
<li><%= source.name %></li>
<% } %>
<% } %>
</ol>
</section>
<% } %>
<% if (it.tags.length > 0) { %>
<section aria-labelledby="tags">
<h2 id="tags">Tags</h2>
<ul class="tags">
<% for (const tag of it.tags) { %>
<li><a href="<%= tag.href %>" rel="tag"><%= tag.name %></a></li>
<% } %>
</ul>
</section>
<% } %>
<% if (it.related.length > 0) { %>
<section aria-labelledby="related">
<h2 id="related">Related</h2>
<ol>
<% for (const item of it.related) { %>
<li><a href="<%= item.href %>"><%= item.headline %></a>
<span class="context">Context: <%= item.context %></span></li>
<% } %>
</ol>
</section>
<% } %>
</article>
`;

/** Links to the page before and after this one in time, and to the period it belongs to. */
export const PERIOD_NAV = `<% if (it.nav) { %>
<nav class="period" aria-label="<%= it.nav.label %>">
<% if (it.nav.prev) { %>
<a href="<%= it.nav.prev.href %>" rel="prev">← <%= it.nav.prev.text %></a>
<% } %>
<% if (it.nav.up) { %>
<a href="<%= it.nav.up.href %>"><%= it.nav.up.text %></a>
<% } %>
<% if (it.nav.next) { %>
<a href="<%= it.nav.next.href %>" rel="next"><%= it.nav.next.text %> →</a>
<% } %>
</nav>
<% } %>
`;

/** A day's events, grouped by topic as the archive's day pages are. */
export const DAY_PAGE = `<h1>Events of <time datetime="<%= it.date %>"><%= it.date %></time></h1>
<%~ include('@period-nav', { nav: it.nav }) %>
<% if (it.groups.length === 0) { %>
<p>No events on this day.</p>
<% } %>
<% it.groups.forEach((group, i) => { %>
<section aria-labelledby="topic-<%= i + 1 %>">
<h2 id="topic-<%= i + 1 %>"><% if (group.href) { %><a href="<%= group.href %>"><%= group.topic %></a><% } else { %><%= group.topic %><% } %></h2>
<ul>
<% for (const item of group.items) { %>
<%~ include('@event-item', { item, showDate: false, showTopic: false }) %>
<% } %>
</ul>
</section>
<% }) %>
`;

/**
 * The sign-up form's delivery time: zone, hour and weekday, each "as the site sends" (empty: the
 * deployment's default) unless chosen. Built once: the zone list is the platform's, and its names
 * are plain ASCII (letters, digits, `/`, `_`, `+`, `-`), escaped anyway.
 */
const DELIVERY_FIELDS = (() => {
  const escapeText = (text: string) =>
    text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
  const option = (value: string, label: string) =>
    `<option value="${escapeText(value)}">${escapeText(label)}</option>`;
  // An option's value is its text when it has none: the zone list is most of the form's bytes.
  const zones = supportedZones().map((zone) => `<option>${escapeText(zone)}</option>`);
  const hours = Array.from({ length: 24 }, (_, h) => option(String(h), `${String(h).padStart(2, '0')}:00`));
  const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'].map((d, i) =>
    option(String(i), d),
  );
  const unset = '<option value="" selected>as the site sends</option>';
  return [
    '<fieldset>',
    '<legend>When, in your time</legend>',
    `<label>Time zone <select name="timeZone">${unset}${zones.join('')}</select></label>`,
    `<label>Digests at <select name="deliveryHour">${unset}${hours.join('')}</select></label>`,
    `<label>Weekly digests on <select name="deliveryWeekday">${unset}${days.join('')}</select></label>`,
    '</fieldset>',
  ].join('\n');
})();

/**
 * The email subscription form (home and tag pages): a plain POST to the subscription API, so it
 * works without JavaScript. Tags go as `tags[]` and topic labels as `topicLabels[]`, one per
 * ticked box, by name (the API resolves names and slugs alike); the delivery time as selects.
 */
export const SUBSCRIBE_FORM = `<form method="post" action="<%= it.form.action %>">
<p>By email, as events happen or in a daily or weekly digest:</p>
<label>Email address <input type="email" name="email" required maxlength="254" autocomplete="email"></label>
<div class="hp" aria-hidden="true"><label>Leave this empty <input type="text" name="${HONEYPOT_FIELD}" tabindex="-1" autocomplete="off"></label></div>
<fieldset>
<legend>Tags</legend>
<% for (const tag of it.form.tags) { %>
<label><input type="checkbox" name="tags[]" value="<%= tag.name %>"<%= tag.checked ? ' checked' : '' %>> <%= tag.name %></label>
<% } %>
</fieldset>
<% if ((it.form.topics ?? []).length > 0) { %>
<fieldset>
<legend>Topics</legend>
<% for (const topic of it.form.topics) { %>
<label><input type="checkbox" name="topicLabels[]" value="<%= topic.name %>"<%= topic.checked ? ' checked' : '' %>> <%= topic.name %></label>
<% } %>
</fieldset>
<% } %>
<fieldset>
<legend>How often</legend>
<label><input type="radio" name="cadence" value="instant"> As it happens</label>
<label><input type="radio" name="cadence" value="daily" checked> Daily</label>
<label><input type="radio" name="cadence" value="weekly"> Weekly</label>
</fieldset>
${DELIVERY_FIELDS}
<button type="submit">Subscribe</button>
</form>
`;

/** A scope's feeds (or a month's archived ones), one link per format, separated by dots. */
export const FEED_LINKS = `<% it.feeds.forEach((feed, i) => { %>
<%= i > 0 ? '· ' : '' %><a href="<%= feed.href %>" type="<%= feed.type %>"><%= feed.label %></a>
<% }) %>
`;

/**
 * The events section of a tag's or topic label's page: its newest events, dated; a topic label's
 * page leaves out each event's topic.
 */
export const SCOPE_EVENTS = `<section aria-labelledby="events-heading">
<h2 id="events-heading">Events</h2>
<% if (it.items.length === 0) { %>
<p>No events yet.</p>
<% } else { %>
<ul>
<% for (const item of it.items) { %>
<%~ include('@event-item', { item, showDate: true, showTopic: it.showTopic }) %>
<% } %>
</ul>
<% } %>
</section>
`;

/** A tag's events, newest first, with its feeds and the subscription form. */
export const TAG_PAGE = `<h1><%= it.tag.name %></h1>
<p class="meta"><%= it.summary %></p>
<section id="subscribe" aria-labelledby="subscribe-heading">
<h2 id="subscribe-heading">Follow <%= it.tag.name %></h2>
<p>In a feed reader:
<%~ include('@feed-links', { feeds: it.feeds }) %>
</p>
<%~ include('@subscribe-form', { form: it.subscribe }) %>
</section>
<%~ include('@scope-events', { items: it.items, showTopic: true }) %>
<%~ include('@history', { history: it.history }) %>
`;

/**
 * A tag's or topic label's whole history: each month with its count, the site's page of that month
 * and the scope's archived feeds of it (RFC 5005), newest first.
 */
export const HISTORY = `<% if (it.history && it.history.length > 0) { %>
<section aria-labelledby="history-heading">
<h2 id="history-heading">Every month</h2>
<ul>
<% for (const month of it.history) { %>
<li><a href="<%= month.href %>"><time datetime="<%= month.month %>"><%= month.month %></time></a> <span class="count">(<%= month.count %>)</span>
<span class="formats">
<%~ include('@feed-links', { feeds: month.feeds }) %>
</span></li>
<% } %>
</ul>
</section>
<% } %>
`;

/** A topic label's events, newest first, with its feeds and every month it has events in. */
export const TOPIC_PAGE = `<h1><%= it.topic.name %></h1>
<p class="meta"><%= it.summary %></p>
<section aria-labelledby="follow-heading">
<h2 id="follow-heading">Follow <%= it.topic.name %></h2>
<p>In a feed reader:
<%~ include('@feed-links', { feeds: it.feeds }) %>
</p>
</section>
<%~ include('@scope-events', { items: it.items, showTopic: false }) %>
<%~ include('@history', { history: it.history }) %>
`;

/** Every topic label with its number of events. */
export const TOPICS_INDEX = `<h1>Topics</h1>
<p class="meta"><%= it.summary %></p>
<% if (it.topics.length > 0) { %>
<ul>
<% for (const topic of it.topics) { %>
<li><a href="<%= topic.href %>"><%= topic.name %></a> <span class="count">(<%= topic.count %>)</span></li>
<% } %>
</ul>
<% } %>
`;

/**
 * Days, each a heading (`it.heading`, the level the page nests them at) linking to the day's
 * page, then its events' headlines.
 */
export const DAYS = `<% for (const day of it.days) { %>
<<%= it.heading %>><a href="<%= day.href %>"><time datetime="<%= day.date %>"><%= day.date %></time></a></<%= it.heading %>>
<ul>
<% for (const item of day.items) { %>
<%~ include('@event-item', { item, showDate: false, showTopic: true }) %>
<% } %>
</ul>
<% } %>
`;

/** A month's days, newest first, each with its events' headlines. */
export const MONTH_PAGE = `<h1>Events of <time datetime="<%= it.month %>"><%= it.month %></time></h1>
<%~ include('@period-nav', { nav: it.nav }) %>
<p class="meta"><%= it.summary %></p>
<%~ include('@days', { days: it.days, heading: 'h2' }) %>
`;

/** A year's months with their counts. */
export const YEAR_PAGE = `<h1>Events of <%= it.year %></h1>
<%~ include('@period-nav', { nav: it.nav }) %>
<p class="meta"><%= it.summary %></p>
<ul>
<% for (const month of it.months) { %>
<li><a href="<%= month.href %>"><time datetime="<%= month.month %>"><%= month.month %></time></a> <span class="count">(<%= month.count %>)</span></li>
<% } %>
</ul>
`;

/** The page a missing address gets: where to go instead. */
export const NOT_FOUND = `<h1>Page not found</h1>
<p>There is no page at this address. It may have been deleted, or the link may be mistyped.</p>
<p><a href="<%= it.home %>">Latest events</a> · <a href="<%= it.tags %>">All tags</a></p>
`;

/** Every tag with its number of events. */
export const TAGS_INDEX = `<h1>Tags</h1>
<p class="meta"><%= it.summary %> Every tag has its own feeds; <a href="<%= it.opml %>" type="text/x-opml">all tag feeds as OPML</a>.</p>
<% if (it.tags.length > 0) { %>
<ul>
<% for (const tag of it.tags) { %>
<li><a href="<%= tag.href %>"><%= tag.name %></a> <span class="count">(<%= tag.count %>)</span></li>
<% } %>
</ul>
<% } %>
`;

/** The latest events by day, then the topics among them and the most used tags. */
export const HOME_PAGE = `<h1><%= it.siteTitle %></h1>
<% if (it.description) { %>
<p><%= it.description %></p>
<% } %>
<section aria-labelledby="latest">
<h2 id="latest">Latest events</h2>
<% if (it.days.length === 0) { %>
<p>No events yet.</p>
<% } %>
<%~ include('@days', { days: it.days, heading: 'h3' }) %>
</section>
<% if (it.topics.length > 0) { %>
<section aria-labelledby="topics">
<h2 id="topics">Topics</h2>
<ul>
<% for (const topic of it.topics) { %>
<li><a href="<%= topic.href %>"><%= topic.name %></a> <span class="count">(<%= topic.count %>)</span></li>
<% } %>
</ul>
<p><a href="<%= it.allTopics %>">All topics</a></p>
</section>
<% } %>
<% if (it.tags.length > 0) { %>
<section aria-labelledby="top-tags">
<h2 id="top-tags">Tags</h2>
<ul class="tags">
<% for (const tag of it.tags) { %>
<li><a href="<%= tag.href %>"><%= tag.name %></a> <span class="count"><%= tag.count %></span></li>
<% } %>
</ul>
<p><a href="<%= it.allTags %>">All tags</a></p>
</section>
<section id="subscribe" aria-labelledby="subscribe-heading">
<h2 id="subscribe-heading">Subscribe</h2>
<%~ include('@subscribe-form', { form: it.subscribe }) %>
</section>
<% } %>
`;
