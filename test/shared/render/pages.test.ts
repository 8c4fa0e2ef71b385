import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { HtmlValidate } from 'html-validate';
import { describe, expect, it } from 'vitest';
import { createdEvent, type NewsEvent, parseEventDraft, type Tag } from '../../../shared/domain/event.js';
import { relatedEvents } from '../../../shared/domain/related.js';
import type { SiteConfig } from '../../../shared/domain/site.js';
import {
  descriptionOf,
  renderDayPage,
  renderEventPage,
  renderHomePage,
  renderMonthPage,
  renderNotFoundPage,
  renderTagPage,
  renderTagsIndex,
  renderTopicPage,
  renderTopicsIndex,
  renderYearPage,
  type TagCount,
  truncate,
} from '../../../shared/render/pages.js';
import * as templates from '../../../shared/render/templates.js';

const site: SiteConfig = {
  siteUrl: 'https://news.example.org',
  title: 'Tidings',
  description: 'Short news events, tagged and dated.',
  language: 'en',
  feedSize: 20,
};

// No rule is relaxed: the pages pass html-validate's recommended preset as it is.
const validator = new HtmlValidate({ extends: ['html-validate:recommended'] });

const expectValid = async (html: string): Promise<void> => {
  const report = await validator.validateString(html);
  const messages = report.results.flatMap((r) =>
    r.messages.map((m) => `${m.line}:${m.column} ${m.ruleId}: ${m.message}`),
  );
  expect(messages).toEqual([]);
  expect(report.valid).toBe(true);
};

const fixedTime = (i: number): string => new Date(Date.UTC(2017, 0, 1, 0, 0, i)).toISOString();

const eventOf = (input: Record<string, unknown>, i = 0): NewsEvent => {
  const parsed = parseEventDraft(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return createdEvent(parsed.draft, fixedTime(i));
};

const samples: NewsEvent[] = (
  JSON.parse(
    readFileSync(resolve(import.meta.dirname, '../../../local/sample-events.json'), 'utf8'),
  ) as Record<string, unknown>[]
).map(eventOf);

const seed = samples.find(
  (e) => e.date === '2016-11-16' && e.headline.startsWith('Russian President Vladimir Putin signs'),
);
if (!seed) throw new Error('the seed event is not in local/sample-events.json');

/** The five related events the seed archive lists, found among the samples. */
const SEED_RELATED: [string, string][] = [
  ['2015-12-09', 'Russian President Vladimir Putin says he hopes nuclear warheads'],
  ['2018-01-30', 'Reports surface about the publication on January 29'],
  ['2016-12-29', 'Russian president Vladimir Putin says a ceasefire'],
  ['2016-08-27', 'A fire at a warehouse in Moscow'],
  ['2016-07-31', 'Democratic presidential election nominee Hillary Clinton'],
];
const seedNeighbours = SEED_RELATED.map(([date, start]) => {
  const found = samples.find((e) => e.date === date && e.headline.startsWith(start));
  if (!found) throw new Error(`sample ${date} missing`);
  return found;
});

const tagCounts = (events: readonly NewsEvent[]): TagCount[] => {
  const counts = new Map<string, TagCount>();
  for (const e of events)
    for (const t of e.tags) counts.set(t.slug, { ...t, count: (counts.get(t.slug)?.count ?? 0) + 1 });
  return [...counts.values()];
};

const byTag = (slug: string): NewsEvent[] => samples.filter((e) => e.tags.some((t) => t.slug === slug));

/** The HTML escaping the pages must show for a text: the five characters Eta escapes. */
const escaped = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const canonicalOf = (html: string): string[] =>
  [...html.matchAll(/<link rel="canonical" href="([^"]*)">/g)].map((m) => m[1] ?? '');

const FEED_TYPE = /^application\/(rss\+xml|atom\+xml|feed\+json)$/;

/** Every `<link rel="alternate">` that announces a feed, as `type href`. */
const feedsOf = (html: string): string[] =>
  [...html.matchAll(/<link rel="alternate" type="([^"]*)" title="([^"]*)" href="([^"]*)">/g)]
    .filter((m) => FEED_TYPE.test(m[1] ?? ''))
    .map((m) => {
      expect(m[2]).not.toBe('');
      return `${m[1]} ${m[3]}`;
    });

const feedSet = (base: string): string[] => [
  `application/rss+xml ${base}.rss`,
  `application/atom+xml ${base}.atom`,
  `application/feed+json ${base}.json`,
];
const SITE_FEEDS = feedSet('https://news.example.org/feeds/all');
const tagFeeds = (slug: string): string[] => feedSet(`https://news.example.org/feeds/tags/${slug}`);

const EVENT_URL =
  'https://news.example.org/news/2016/11/16/russian-president-vladimir-putin-signs-a-symbolic-order-to-withdraw-russia-s-signature-from-the-rome-statute-of-the-international-criminal-c';
const EVENT_HREF = EVENT_URL.replace('https://news.example.org', '');

describe('every page', () => {
  const pages: [string, () => string][] = [
    ['event', () => renderEventPage(site, seed, relatedEvents(seed, samples))],
    [
      'day',
      () =>
        renderDayPage(
          site,
          '2016-10-02',
          samples.filter((e) => e.date === '2016-10-02'),
        ),
    ],
    ['tag', () => renderTagPage(site, { slug: 'russia', name: 'Russia' }, byTag('russia'))],
    ['tags index', () => renderTagsIndex(site, tagCounts(samples))],
    ['home', () => renderHomePage(site, samples.slice(0, 30), tagCounts(samples))],
    ['empty day', () => renderDayPage(site, '2016-01-01', [])],
    ['empty tag', () => renderTagPage(site, { slug: 'russia', name: 'Russia' }, [])],
    ['empty tags index', () => renderTagsIndex(site, [])],
    ['empty home', () => renderHomePage(site, [], [])],
    ['not found', () => renderNotFoundPage(site)],
  ];

  it.each(pages)('%s page is valid HTML5 (html-validate recommended)', async (_, render) => {
    await expectValid(render());
  });

  it('the not-found page links home and to the tags from the root, whatever the missing path', () => {
    const html = renderNotFoundPage(site);
    expect(html).toContain('<h1>Page not found</h1>');
    expect(html).toContain('<a href="/">Latest events</a>');
    expect(html).toContain('<a href="/tags/index.html">All tags</a>');
  });

  it.each(pages)(
    '%s page has doctype, lang, charset, viewport, title, inline CSS and no script',
    (_, render) => {
      const html = render();
      expect(html).toMatch(/^<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n/i);
      expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
      expect(html).toMatch(/<title>[^<]+<\/title>/);
      expect(html).toMatch(/<style>[^<]*@media[^<]*<\/style>/);
      expect(html.toLowerCase()).not.toContain('<script');
      expect(html.endsWith('</html>\n')).toBe(true);
      expect(canonicalOf(html)).toHaveLength(1);
    },
  );

  it.each(pages)('%s page links pages root-relative and feeds absolute', (_, render) => {
    const html = render();
    const hrefs = [...html.matchAll(/<a [^>]*href="([^"]*)"/g)].map((m) => m[1] ?? '');
    for (const href of hrefs) {
      expect(href.startsWith('/') || href.startsWith('https://'), href).toBe(true);
      if (href.startsWith('https://news.example.org/')) expect(href).toMatch(/\/feeds\//);
    }
  });
});

describe('renderEventPage', () => {
  const html = renderEventPage(site, seed, relatedEvents(seed, seedNeighbours));

  it('has its canonical URL and its formats as alternates', () => {
    expect(canonicalOf(html)).toEqual([`${EVENT_URL}.html`]);
    expect(html).toContain(
      `<link rel="alternate" type="application/json" title="This event as JSON" href="${EVENT_URL}.json">`,
    );
    expect(html).toContain(
      `<link rel="alternate" type="application/xml" title="This event as XML" href="${EVENT_URL}.xml">`,
    );
  });

  it('announces the site feeds and the feeds of each of its tags', () => {
    expect(feedsOf(html)).toEqual([
      ...SITE_FEEDS,
      ...tagFeeds('russia'),
      ...tagFeeds('russian-president'),
      ...tagFeeds('syria'),
      ...tagFeeds('vladimir-putin'),
    ]);
  });

  it('shows the formats line, the date linking to its day, the topic and the headline', () => {
    expect(html).toMatch(
      new RegExp(
        `Formats:\\n<a href="${EVENT_HREF}\\.html" aria-current="page">HTML</a>\\n<a href="${EVENT_HREF}\\.json"[^>]*>JSON</a>\\n<a href="${EVENT_HREF}\\.xml"[^>]*>XML</a>`,
      ),
    );
    expect(html).toContain(
      '<a href="/news/2016/11/16/index.html"><time datetime="2016-11-16">2016-11-16</time></a>',
    );
    expect(html).toContain('<a class="topic" href="/topics/russian-president.html">Russian President</a>');
    expect(html).toContain(`<h1>${escaped(seed.headline)}</h1>`);
    expect(html.match(/<h1>/g)).toHaveLength(1);
    expect(html).toContain(
      '<title>Russian President Vladimir Putin signs a symbolic&#8230; · Tidings</title>',
    );
  });

  it('shows the body, the image with its caption, the sources and the tags', () => {
    expect(html).toContain(`<p>\n${escaped(seed.body)}</p>`);
    expect(html).toMatch(
      /<figure>\n<img src="https:\/\/static\.independent\.co\.uk\/[^"]+vladimir-putin\.jpg" alt="Vladimir Putin"[^>]*>\n<figcaption>Vladimir Putin<\/figcaption>\n<\/figure>/,
    );
    expect(html).toMatch(
      /<h2 id="sources">Sources<\/h2>\n<ol>\n<li><a href="https:\/\/www\.independent\.co\.uk\/[^"]+" rel="nofollow noopener">The Independent<\/a><\/li>\n<li><a href="https:\/\/static\.independent\.co\.uk\/[^"]+" rel="nofollow noopener">Cover image<\/a><\/li>\n<\/ol>/,
    );
    for (const [slug, name] of [
      ['russia', 'Russia'],
      ['russian-president', 'Russian President'],
      ['syria', 'Syria'],
      ['vladimir-putin', 'Vladimir Putin'],
    ]) {
      expect(html).toContain(`<li><a href="/tags/${slug}.html" rel="tag">${name}</a></li>`);
    }
  });

  it('lists the seed’s related events, each linked, with its Context line', () => {
    const section = html.slice(html.indexOf('<h2 id="related">'));
    const items = [
      ...section.matchAll(/<li><a href="([^"]+)">([^<]+)<\/a>\n<span class="context">([^<]+)<\/span><\/li>/g),
    ];
    expect(items.map((m) => [m[1], m[3]])).toEqual([
      [
        '/news/2015/12/09/russian-president-vladimir-putin-says-he-hopes-nuclear-warheads-will-not-be-needed-to-deal-with-terrorists-after-russia-launched-cruise-mis.html',
        'Context: Russia, Russian President, Syria, Vladimir Putin',
      ],
      [
        '/news/2018/01/30/reports-surface-about-the-publication-on-january-29-by-the-united-states-of-a-list-of-russian-politicians-and-oligarchs-that-the-u-s-govern.html',
        'Context: Russia, Russian President, Vladimir Putin',
      ],
      [
        '/news/2016/12/29/russian-president-vladimir-putin-says-a-ceasefire-has-been-brokered-between-the-syrian-government-and-rebel-forces-the-ceasefire-is-said-to.html',
        'Context: Russia, Syria, Vladimir Putin',
      ],
      [
        '/news/2016/08/27/a-fire-at-a-warehouse-in-moscow-russia-kills-at-least-17-people-all-migrant-workers-from-kyrgyzstan-the-investigative-committee-of-russi.html',
        'Context: Russia, Russian President, Vladimir Putin',
      ],
      [
        '/news/2016/07/31/democratic-presidential-election-nominee-hillary-clinton-accuses-russian-intelligence-services-of-being-behind-recent-hacks-into-democratic.html',
        'Context: Russia, Russian President, Vladimir Putin',
      ],
    ]);
    expect(items.map((m) => m[2])).toEqual(seedNeighbours.map((e) => escaped(e.headline)));
  });

  it('keeps blank-line paragraphs and line breaks of the body', () => {
    const page = renderEventPage(
      site,
      eventOf({ date: '2016-01-01', headline: 'H', body: 'One\ntwo\n\n\nThree' }),
      [],
    );
    expect(page).toContain('<p>\nOne<br>\ntwo</p>\n<p>\nThree</p>');
  });

  it('leaves out what the event does not have', async () => {
    const bare = eventOf({ date: '2016-01-01', headline: 'Nothing else' });
    const page = renderEventPage(site, bare, []);
    await expectValid(page);
    for (const absent of ['<figure>', 'id="sources"', 'id="tags"', 'id="related"', 'class="topic"'])
      expect(page).not.toContain(absent);
    expect(feedsOf(page)).toEqual(SITE_FEEDS);
  });

  it('does not link a source whose URL is not http(s), even if one gets past validation', () => {
    const page = renderEventPage(
      site,
      { ...seed, sources: [{ name: 'Bad', url: 'javascript:alert(1)' }], image: { url: 'data:x' } },
      [],
    );
    expect(page).toContain('<li>Bad</li>');
    expect(page).not.toContain('javascript:');
    expect(page).not.toContain('data:x');
  });
});

describe('renderDayPage', () => {
  const day = samples.filter((e) => e.date === '2016-12-02');
  const html = renderDayPage(site, '2016-12-02', day);

  it('has its canonical URL and the site feeds only', () => {
    expect(canonicalOf(html)).toEqual(['https://news.example.org/news/2016/12/02/index.html']);
    expect(feedsOf(html)).toEqual(SITE_FEEDS);
  });

  it('lists every event of the day under its topic', () => {
    expect(html).toContain('<h1>Events of <time datetime="2016-12-02">2016-12-02</time></h1>');
    const topics = [...html.matchAll(/<h2 id="topic-\d+">(?:<a href="[^"]+">)?([^<]+)(?:<\/a>)?<\/h2>/g)].map(
      (m) => m[1],
    );
    expect(topics).toEqual([
      'Politics and elections',
      'International relations',
      'Disasters and accidents',
      'Sports',
    ]);
    for (const e of day) expect(html).toContain(`<a href="/news/${e.id}.html">${escaped(e.headline)}</a>`);
  });

  it('puts events without a topic last, under Other', () => {
    const untopical = eventOf({ date: '2016-12-02', headline: 'No topic here' }, 1);
    const page = renderDayPage(site, '2016-12-02', [untopical, ...day]);
    const topics = [...page.matchAll(/<h2 id="topic-\d+">(?:<a href="[^"]+">)?([^<]+)(?:<\/a>)?<\/h2>/g)].map(
      (m) => m[1],
    );
    expect(topics).toEqual([
      'Politics and elections',
      'International relations',
      'Disasters and accidents',
      'Sports',
      'Other',
    ]);
    expect(page).toContain('<a href="/news/2016/12/02/no-topic-here.html">No topic here</a>');
  });
});

describe('renderTagPage', () => {
  const events = byTag('syria');
  const html = renderTagPage(site, { slug: 'syria', name: 'Syria' }, events);

  it('has its canonical URL and announces the site feeds and its own', () => {
    expect(canonicalOf(html)).toEqual(['https://news.example.org/tags/syria.html']);
    expect(feedsOf(html)).toEqual([...SITE_FEEDS, ...tagFeeds('syria')]);
  });

  it('shows its feed links in the subscribe section', () => {
    const section = /<section id="subscribe"[^>]*>([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
    for (const [ext, label] of [
      ['rss', 'RSS'],
      ['atom', 'Atom'],
      ['json', 'JSON Feed'],
    ]) {
      expect(section).toMatch(
        new RegExp(`<a href="https://news\\.example\\.org/feeds/tags/syria\\.${ext}"[^>]*>${label}</a>`),
      );
    }
  });

  it('lists its events newest first, with dates', () => {
    const dates = [...html.matchAll(/<time datetime="([^"]+)">/g)].map((m) => m[1] ?? '');
    expect(dates).toHaveLength(events.length);
    expect(dates).toEqual([...dates].sort().reverse());
    expect(html).toContain(`${events.length} events, newest first.`);
  });

  it('says when it shows only the newest of more', () => {
    expect(
      renderTagPage(site, { slug: 'syria', name: 'Syria' }, events.slice(0, 3), { total: 250 }),
    ).toContain('250 events; the newest 3 are listed here.');
  });
});

describe('renderTagsIndex', () => {
  const html = renderTagsIndex(site, [
    { slug: 'zurich', name: 'Zürich', count: 2 },
    { slug: 'ile-de-france', name: 'Île-de-France', count: 1 },
    { slug: 'brexit', name: 'Brexit', count: 4 },
    { slug: 'syria', name: 'Syria', count: 1 },
  ]);

  it('has its canonical URL, the site feeds and a link to the OPML', () => {
    expect(canonicalOf(html)).toEqual(['https://news.example.org/tags/index.html']);
    expect(feedsOf(html)).toEqual(SITE_FEEDS);
    expect(html).toContain('href="https://news.example.org/feeds/index.opml"');
  });

  it('lists every tag by name with its count', () => {
    expect(
      [
        ...html.matchAll(
          /<li><a href="\/tags\/([a-z-]+)\.html">[^<]+<\/a> <span class="count">\((\d+)\)<\/span><\/li>/g,
        ),
      ].map((m) => `${m[1]} ${m[2]}`),
    ).toEqual(['brexit 4', 'ile-de-france 1', 'syria 1', 'zurich 2']);
  });
});

describe('renderHomePage', () => {
  const latest = samples.slice(0, 6);
  const html = renderHomePage(site, latest, tagCounts(samples), { topTags: 3 });

  it('has the site URL as canonical and the site feeds', () => {
    expect(canonicalOf(html)).toEqual(['https://news.example.org/']);
    expect(feedsOf(html)).toEqual(SITE_FEEDS);
    expect(html).toContain('<title>Tidings</title>');
  });

  it('groups the latest events by day, newest first, linking each day', () => {
    const days = [...html.matchAll(/<h3><a href="\/news\/([\d/]+)\/index\.html">/g)].map((m) => m[1]);
    expect(days).toEqual([
      '2018/01/30',
      '2016/12/29',
      '2016/11/16',
      '2016/08/27',
      '2016/07/31',
      '2015/12/09',
    ]);
  });

  it('offers tags and the topics of the events shown in its subscribe form, each under its own field', () => {
    const form = /<section id="subscribe"[^>]*>([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
    expect(form).toContain('<legend>Tags</legend>');
    expect(form).toContain('<legend>Topics</legend>');
    expect(form).toContain(
      '<input type="checkbox" name="topicLabels[]" value="Russian President"> Russian President',
    );
    expect(form).toMatch(/<input type="checkbox" name="tags\[\]" value="[^"]+">/);
  });

  it('summarizes topics and the most used tags', () => {
    expect(html).toContain(
      '<li><a href="/topics/russian-president.html">Russian President</a> <span class="count">(3)</span></li>',
    );
    const tags = [...html.matchAll(/<li><a href="\/tags\/([a-z0-9-]+)\.html">/g)].map((m) => m[1]);
    const counts = new Map(tagCounts(samples).map((t) => [t.slug, t.count]));
    expect(tags).toHaveLength(3);
    expect(tags.map((slug) => counts.get(slug ?? ''))).toEqual(
      [...counts.values()].sort((a, b) => b - a).slice(0, 3),
    );
  });
});

describe('the archive by date and topic label', () => {
  const november = samples.filter((e) => e.date.startsWith('2016-11'));
  const politics = samples.filter((e) => e.topic === 'Politics and elections');

  it('has a page per month: its days, newest first, with their headlines, and links to the months around and its year', async () => {
    expect(november.length).toBeGreaterThan(2);
    const html = renderMonthPage(site, '2016-11', november, { prev: '2016-08', next: '2016-12' });
    await expectValid(html);
    expect(html).toContain('<link rel="canonical" href="https://news.example.org/news/2016/11/index.html">');
    const days = [...html.matchAll(/<h2><a href="\/news\/(\d{4}\/\d\d\/\d\d)\/index\.html">/g)].map(
      (m) => m[1],
    );
    expect(days).toEqual([...new Set(november.map((e) => e.date.replaceAll('-', '/')))].sort().reverse());
    for (const event of november) expect(html).toContain(`href="/news/${event.id}.html"`);
    expect(html).toContain('<a href="/news/2016/08/index.html" rel="prev">← 2016-08</a>');
    expect(html).toContain('<a href="/news/2016/12/index.html" rel="next">2016-12 →</a>');
    expect(html).toContain('<a href="/news/2016/index.html">2016</a>');
  });

  it('has a page per year: its months with their counts', async () => {
    const html = renderYearPage(site, '2016', { '2015-12': 4, '2016-08': 2, '2016-11': 7 }, { prev: '2015' });
    await expectValid(html);
    expect(html).toContain('9 events in 2 months.');
    expect(html).toContain(
      '<li><a href="/news/2016/11/index.html"><time datetime="2016-11">2016-11</time></a> <span class="count">(7)</span></li>',
    );
    expect(html).not.toContain('2015-12</time>');
    expect(html).toContain('<a href="/news/2015/index.html" rel="prev">← 2015</a>');
  });

  it('has a page per topic label: its newest events, its feeds, and every month with its archived feeds', async () => {
    expect(politics.length).toBeGreaterThan(1);
    const html = renderTopicPage(site, 'Politics and elections', politics.slice(0, 2), {
      total: 12,
      months: { '2016-11': 10, '2017-01': 2 },
    });
    await expectValid(html);
    expect(html).toContain(
      '<link rel="canonical" href="https://news.example.org/topics/politics-and-elections.html">',
    );
    expect(html).toContain('12 events; the newest 2 are listed here, and every month below.');
    expect(html).toContain('href="https://news.example.org/feeds/topics/politics-and-elections.atom"');
    expect(html).toContain(
      '<link rel="alternate" type="application/rss+xml" title="Politics and elections · Tidings (RSS)" href="https://news.example.org/feeds/topics/politics-and-elections.rss">',
    );
    const months = [...html.matchAll(/<li><a href="(\/news\/\d{4}\/\d\d\/index\.html)">/g)].map((m) => m[1]);
    expect(months).toEqual(['/news/2017/01/index.html', '/news/2016/11/index.html']);
    expect(html).toContain(
      'href="https://news.example.org/feeds/archive/topics/politics-and-elections/2016-11.atom"',
    );
  });

  it('lists every topic label, and links the labels from the home page, days and events', async () => {
    const index = renderTopicsIndex(site, [
      { slug: 'politics-and-elections', name: 'Politics and elections', count: 3 },
      { slug: 'index-1', name: 'Index', count: 1 },
    ]);
    await expectValid(index);
    expect(index).toContain(
      '<li><a href="/topics/index-1.html">Index</a> <span class="count">(1)</span></li>',
    );
    const home = renderHomePage(site, politics.slice(0, 3), [], {
      topics: [{ slug: 'politics-and-elections', name: 'Politics and elections', count: 40 }],
    });
    await expectValid(home);
    expect(home).toContain(
      '<li><a href="/topics/politics-and-elections.html">Politics and elections</a> <span class="count">(40)</span></li>',
    );
    const event = politics[0] as NewsEvent;
    expect(renderEventPage(site, event, [])).toContain(
      '<a class="topic" href="/topics/politics-and-elections.html">Politics and elections</a>',
    );
    expect(renderDayPage(site, event.date, [event])).toContain(
      '<a href="/topics/politics-and-elections.html">Politics and elections</a></h2>',
    );
  });

  it('links a day to the days around it that have events, and to its month', async () => {
    const html = renderDayPage(site, '2016-11-16', november, { prev: '2016-11-14', next: '2016-12-01' });
    await expectValid(html);
    expect(html).toContain('<a href="/news/2016/11/14/index.html" rel="prev">← 2016-11-14</a>');
    expect(html).toContain('<a href="/news/2016/12/01/index.html" rel="next">2016-12-01 →</a>');
    expect(html).toContain('<a href="/news/2016/11/index.html">2016-11</a>');
  });

  it("links a tag's page to every month it has events in", async () => {
    const [tag] = (seed as NewsEvent).tags as [Tag];
    const html = renderTagPage(site, tag, [seed as NewsEvent], {
      total: 30,
      months: { '2016-11': 29, '2015-01': 1 },
    });
    await expectValid(html);
    expect(html).toContain(`href="https://news.example.org/feeds/archive/tags/${tag.slug}/2015-01.rss"`);
    expect(html).toContain('<a href="/news/2015/01/index.html"><time datetime="2015-01">2015-01</time></a>');
  });
});

describe('site under a path', () => {
  it('keeps links under the base path', () => {
    const html = renderEventPage({ ...site, siteUrl: 'https://example.org/tidings/' }, seed, []);
    expect(canonicalOf(html)).toEqual([
      `${EVENT_URL.replace('news.example.org', 'example.org/tidings')}.html`,
    ]);
    expect(html).toContain('<a class="brand" href="/tidings/">');
    expect(html).toContain('<a href="/tidings/tags/russia.html" rel="tag">');
  });
});

describe('escaping', () => {
  const nasty = '<script>alert("x")</script> & "quotes"';
  const event = eventOf({
    date: '2016-01-01',
    headline: nasty,
    body: `${nasty}\n\nsecond </p> paragraph`,
    topic: `Topic ${nasty}`,
    tags: [`Tag ${nasty}`],
    sources: [{ name: `Source ${nasty}`, url: 'https://example.com/?a=1&b="2"' }],
    image: { url: 'https://example.com/i.jpg?a=<b>', caption: `Caption ${nasty}` },
  });
  const tag = event.tags[0] as Tag;
  const pages: [string, string][] = [
    ['event', renderEventPage(site, event, [{ event, sharedTags: [tag] }])],
    ['day', renderDayPage(site, event.date, [event])],
    ['tag', renderTagPage(site, tag, [event])],
    ['tags index', renderTagsIndex(site, [{ ...tag, count: 1 }])],
    ['home', renderHomePage(site, [event], [{ ...tag, count: 1 }])],
    ['site title', renderHomePage({ ...site, title: nasty, description: nasty }, [event], [])],
  ];

  it.each(pages)('%s page shows the text escaped, never raw', async (_, html) => {
    expect(html).not.toContain('<script');
    expect(html).not.toContain(nasty);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;');
    await expectValid(html);
  });

  it('escapes URLs inside attributes', () => {
    const html = pages[0]?.[1] ?? '';
    expect(html).toContain('href="https://example.com/?a=1&amp;b=&quot;2&quot;"');
    expect(html).toContain('src="https://example.com/i.jpg?a=&lt;b&gt;"');
  });

  it('adds no character beyond Latin-1 of its own: the ellipsis of a cut is a reference', async () => {
    const long = eventOf({
      date: '2016-01-01',
      headline: 'A headline long enough to be cut in the page title, with plain Latin-1 text in it, and more',
      body: 'Plain text. '.repeat(40),
      tags: ['Zürich'],
    });
    const html = renderEventPage(site, long, []);
    expect(html).toContain('&#8230;');
    expect(/[\u0100-\uffff]/.test(html)).toBe(false);
    await expectValid(html);
    // Text beyond Latin-1 from the event is written as it is.
    expect(renderEventPage(site, { ...long, headline: 'Łódź “quoted”' }, [])).toContain('Łódź “quoted”');
  });

  it('keeps the page title within 70 characters as written, entities included', () => {
    const title = /<title>([^<]*)<\/title>/.exec(pages[5]?.[1] ?? '')?.[1] ?? '';
    expect(title.length).toBeLessThanOrEqual(70);
    expect(title.endsWith('&#8230;')).toBe(true);
  });
});

describe('templates', () => {
  it('write raw output only for HTML the engine rendered', () => {
    for (const [name, template] of Object.entries(templates)) {
      const raw = [...template.matchAll(/<%~\s*(.*?)\s*%>/g)].map((m) => m[1] ?? '');
      for (const expression of raw)
        expect(expression, name).toMatch(/^(it\.content|include\('@[a-z-]+', \{[^}]*\}\))$/);
    }
  });
});

describe('truncate', () => {
  it.each([
    ['short', 10, 'short'],
    ['one two three four five', 12, 'one two…'],
    ['abcdefghijklmnop', 8, 'abcdefg…'],
    ['😀😀😀😀😀', 5, '😀😀…'],
  ])('%s to %d', (text, max, expected) => {
    expect(truncate(text, max)).toBe(expected);
  });
});

describe('descriptionOf', () => {
  const reference = (text: string) => truncate(text.replace(/\s+/g, ' ').trim(), 200);

  it('is the text with white space collapsed, cut to 200 characters (property)', () => {
    // Long runs of white space, so the text's start collapses to about the limit.
    const space = fc.integer({ min: 1, max: 40 }).map((n) => ' \n\t'.repeat(n).slice(0, n));
    const word = fc.string({ minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(fc.array(fc.tuple(space, word), { maxLength: 120 }), (pairs) => {
        const text = pairs.map(([gap, w]) => gap + w).join('');
        expect(descriptionOf(text)).toBe(reference(text));
      }),
      { numRuns: 500 },
    );
  });

  it('cuts a body whose start is mostly white space as the whole body would be cut', () => {
    // Four-letter words six spaces apart: the first 400 characters collapse to exactly 200.
    const text = Array.from({ length: 100 }, (_, i) => `w${String(i).padStart(3, '0')}`).join(' '.repeat(6));
    expect(descriptionOf(text)).toBe(reference(text));
    expect(descriptionOf(text).endsWith('…')).toBe(true);
  });
});

describe('arbitrary text (property)', () => {
  const inlinePiece = fc.oneof(
    fc.constantFrom(
      '<script>',
      '<SCRIPT',
      '</script>',
      '<script',
      '<',
      '>',
      '&',
      '&amp;',
      '&#x3C;',
      '"',
      "'",
      '<!--',
      '-->',
      ']]>',
      '`',
      '\u00a0',
      ' ',
    ),
    fc.string({ unit: 'grapheme', maxLength: 12 }),
  );
  const inline = fc.array(inlinePiece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join(''));
  const body = fc
    .array(fc.oneof(inlinePiece, fc.constantFrom('\n', '\n\n', '\t', ' \n ')), { maxLength: 10 })
    .map((parts) => parts.join(''));

  it('never yields raw markup and always validates', async () => {
    await fc.assert(
      fc.asyncProperty(inline, body, inline, inline, async (headline, text, tagA, tagB) => {
        const parsed = parseEventDraft({
          date: '2016-01-01',
          headline,
          body: text,
          topic: tagA,
          tags: [`${tagA} x1`, `${tagB} x2`],
          sources: [{ name: headline, url: 'https://example.com/' }],
          image: { url: 'https://example.com/i.jpg', caption: tagB },
        });
        fc.pre(parsed.ok);
        if (!parsed.ok) return;
        const event = createdEvent(parsed.draft, fixedTime(0));
        const other = { ...event, id: '2016/01/02/other', date: '2016-01-02' };
        const [first] = event.tags as [Tag];
        const pages = [
          renderEventPage(site, event, relatedEvents(event, [other])),
          renderTagPage(site, first, [event, other]),
          renderDayPage(site, event.date, [event]),
          renderHomePage(site, [event, other], [{ ...first, count: 2 }]),
          renderTagsIndex(
            site,
            event.tags.map((t) => ({ ...t, count: 1 })),
          ),
          renderMonthPage(site, '2016-01', [event, other]),
          renderTopicPage(site, event.topic ?? 'None', [event, other], { months: { '2016-01': 2 } }),
        ];
        for (const [i, html] of pages.entries()) {
          expect(html.toLowerCase()).not.toContain('<script');
          expect(html.toLowerCase()).not.toContain('<!--');
          // The tags index shows tag names only.
          expect(html).toContain(escaped(i === 4 ? first.name : event.headline));
          await expectValid(html);
        }
      }),
      { numRuns: 10 },
    );
  });
});
