import { HtmlValidate } from 'html-validate';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { composeMessage } from '../../../shared/adapters/mime.js';
import type { Digest, DigestItem, DigestSection, SubscriberLinks } from '../../../shared/domain/digest.js';
import { createdEvent, type NewsEvent, parseEventDraft } from '../../../shared/domain/event.js';
import type { SiteConfig } from '../../../shared/domain/site.js';
import type { Subscriber, TagRef, TopicRef } from '../../../shared/domain/subscription.js';
import {
  listUnsubscribeHeaders,
  renderDigestEmail,
  renderNoticeEmail,
} from '../../../shared/render/emails.js';

const site: SiteConfig = {
  siteUrl: 'https://news.example.org',
  title: 'Tidings',
  description: 'Short news events, tagged and dated.',
  language: 'en',
  feedSize: 20,
};

// Emails need inline styles (mail programs drop style sheets); every other recommended rule holds.
const validator = new HtmlValidate({
  extends: ['html-validate:recommended'],
  rules: { 'no-inline-style': 'off' },
});

const expectValid = async (html: string): Promise<void> => {
  const report = await validator.validateString(html);
  const messages = report.results.flatMap((r) =>
    r.messages.map((m) => `${m.line}:${m.column} ${m.ruleId}: ${m.message}`),
  );
  expect(messages).toEqual([]);
};

const TOKEN = 'eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl';
const links: SubscriberLinks = {
  manage: `${site.siteUrl}/api/subscriptions/manage?token=${TOKEN}m`,
  unsubscribeAll: `${site.siteUrl}/api/subscriptions/unsubscribe?token=${TOKEN}a`,
  oneClick: `${site.siteUrl}/api/subscriptions/unsubscribe?token=${TOKEN}o`,
  feed: `${site.siteUrl}/api/subscriptions/feed?token=${TOKEN}f`,
  unsubscribeTag: (slug) => `${site.siteUrl}/api/subscriptions/unsubscribe?token=${TOKEN}t&tag=${slug}`,
  unsubscribeTopicLabel: (slug) =>
    `${site.siteUrl}/api/subscriptions/unsubscribe?token=${TOKEN}l&topic=${slug}`,
};

const SYRIA: TagRef = { slug: 'syria', name: 'Syria' };
const RUSSIA: TagRef = { slug: 'russia', name: 'Russia' };
const TRICKY: TagRef = { slug: 'r-d-caf', name: 'R&D <café> 🚀' };

const eventOf = (input: Record<string, unknown>, revision = 1): NewsEvent => {
  const parsed = parseEventDraft({ date: '2026-11-01', tags: ['Syria'], ...input });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return { ...createdEvent(parsed.draft, '2026-11-01T08:00:00.000Z'), revision };
};

const subscriberOf = (
  tags: TagRef[],
  cadence: Subscriber['cadence'] = 'daily',
  topics: TopicRef[] = [],
): Subscriber => ({
  id: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
  email: 'reader@example.com',
  tags,
  topics,
  cadence,
  status: 'confirmed',
  createdAt: '2026-10-01T00:00:00.000Z',
  confirmedAt: '2026-10-01T00:00:00.000Z',
  cursor: '2026-11-01T06:00:00.000Z',
  tokenVersion: 1,
});

const digestOf = (sections: DigestSection[], topics: TagRef[], extra: Partial<Digest> = {}): Digest => {
  const shown = sections.reduce((n, s) => n + s.items.length, 0);
  return {
    subscriber: subscriberOf(topics),
    cadence: 'daily',
    window: { start: '2026-11-01T06:00:00.000Z', end: '2026-11-02T06:00:00.000Z' },
    sections,
    total: shown,
    shown,
    ...extra,
  };
};

const item = (event: NewsEvent, tags: TagRef[], updated = false): DigestItem => ({
  event,
  tags,
  topics: [],
  updated,
});

const HOSTILE = eventOf({
  headline: 'Aleppo: <script>alert("x")</script> & "ceasefire" 🕊️ holds',
  body: 'Talks <b>resume</b> in Genève & Wien 🇦🇹.\n\nA second paragraph that a digest leaves out.',
  tags: ['Syria', 'R&D <café> 🚀'],
});
const PLAIN = eventOf({
  headline: 'Russia withdraws from the ICC',
  body: 'The order was signed.',
  tags: ['Russia'],
});
const CORRECTED = eventOf({ headline: 'Casualty figures revised', body: 'New figures.', tags: ['Syria'] }, 3);

const hrefs = (html: string): string[] =>
  [...html.matchAll(/href="([^"]*)"/g)].map((m) => (m[1] ?? '').replaceAll('&amp;', '&'));

describe('renderDigestEmail', () => {
  const topics = [SYRIA, TRICKY, RUSSIA];
  const digest = digestOf(
    [
      {
        kind: 'tag',
        ref: SYRIA,
        items: [item(HOSTILE, [SYRIA, TRICKY]), item(CORRECTED, [SYRIA], true)],
        omitted: 0,
      },
      { kind: 'tag', ref: RUSSIA, items: [item(PLAIN, [RUSSIA])], omitted: 0 },
    ],
    topics,
  );
  const email = renderDigestEmail(digest, site, links);

  it('says the count and the tags in the subject', () => {
    expect(email.subject).toBe('3 new and updated events: Syria, Russia');
    const one = renderDigestEmail(
      digestOf([{ kind: 'tag', ref: SYRIA, items: [item(PLAIN, [SYRIA])], omitted: 0 }], [SYRIA]),
      site,
      links,
    );
    expect(one.subject).toBe('1 new event: Syria');
    const updated = renderDigestEmail(
      digestOf([{ kind: 'tag', ref: SYRIA, items: [item(CORRECTED, [SYRIA], true)], omitted: 0 }], [SYRIA]),
      site,
      links,
    );
    expect(updated.subject).toBe('1 updated event: Syria');
  });

  it('names at most three tags or topics in the subject', () => {
    const many = ['A', 'B', 'C', 'D', 'E'].map((name) => ({ slug: name.toLowerCase(), name }));
    const email = renderDigestEmail(
      digestOf(
        many.map((tag) => ({ kind: 'tag', ref: tag, items: [item(PLAIN, [tag])], omitted: 0 })),
        many,
      ),
      site,
      links,
    );
    expect(email.subject).toBe('5 new events: A, B, C and 2 more');
  });

  it('writes headlines, tags and summaries as written in the text part', () => {
    expect(email.text).toContain('* Aleppo: <script>alert("x")</script> & "ceasefire" 🕊️ holds\n');
    expect(email.text).toContain('  2026-11-01 · Syria, R&D <café> 🚀\n');
    expect(email.text).toContain('  Talks <b>resume</b> in Genève & Wien 🇦🇹.\n');
    expect(email.text).not.toContain('A second paragraph');
    expect(email.text).not.toMatch(/&(amp|lt|gt|quot|#\d+);/);
  });

  it('escapes every value in the HTML part, which shows the same text', () => {
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<b>resume');
    expect(email.html).toContain(
      'Aleppo: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;ceasefire&quot; 🕊️ holds',
    );
    expect(email.html).toContain('Syria, R&amp;D &lt;café&gt; 🚀');
    expect(email.html).toContain('Talks &lt;b&gt;resume&lt;/b&gt; in Genève &amp; Wien 🇦🇹.');
  });

  it('is valid HTML5', async () => {
    await expectValid(email.html);
  });

  it('spells out every URL in the text part: events, topic pages, feeds, and the ways out', () => {
    const expected = [
      'https://news.example.org/news/2026/11/01/aleppo-script-alert-x-script-ceasefire-holds.html',
      'https://news.example.org/news/2026/11/01/casualty-figures-revised.html',
      'https://news.example.org/news/2026/11/01/russia-withdraws-from-the-icc.html',
      'All Syria events: https://news.example.org/tags/syria.html',
      'RSS feed: https://news.example.org/feeds/tags/syria.rss',
      'All Russia events: https://news.example.org/tags/russia.html',
      'RSS feed: https://news.example.org/feeds/tags/russia.rss',
      `Manage your subscription: ${links.manage}`,
      `Unsubscribe from everything: ${links.unsubscribeAll}`,
      `This digest in your feed reader (a private feed: do not share it): ${links.feed}`,
      `Unsubscribe from Syria: ${links.unsubscribeTag('syria')}`,
      `Unsubscribe from R&D <café> 🚀: ${links.unsubscribeTag('r-d-caf')}`,
      `Unsubscribe from Russia: ${links.unsubscribeTag('russia')}`,
    ];
    for (const line of expected) expect(email.text).toContain(line);
  });

  it('gives a followed topic label its section, its page and feed, and its own way out', () => {
    const label: TopicRef = { slug: 'armed-conflicts-and-attacks', name: 'Armed conflicts and attacks' };
    const labelled = { ...PLAIN, topic: label.name };
    const withLabel = renderDigestEmail(
      {
        ...digestOf([], [SYRIA]),
        subscriber: subscriberOf([SYRIA], 'daily', [label]),
        sections: [
          {
            kind: 'topic',
            ref: label,
            items: [{ event: labelled, tags: [], topics: [label], updated: false }],
            omitted: 2,
          },
        ],
        total: 3,
        shown: 1,
      },
      site,
      links,
    );
    for (const line of [
      '== Armed conflicts and attacks ==',
      'All Armed conflicts and attacks events: https://news.example.org/topics/armed-conflicts-and-attacks.html',
      'RSS feed: https://news.example.org/feeds/topics/armed-conflicts-and-attacks.rss',
      '2 more in Armed conflicts and attacks: https://news.example.org/topics/armed-conflicts-and-attacks.html',
      `Unsubscribe from Syria: ${links.unsubscribeTag('syria')}`,
      `Unsubscribe from Armed conflicts and attacks: ${links.unsubscribeTopicLabel(label.slug)}`,
      'because you subscribed to Syria and Armed conflicts and attacks',
    ]) {
      expect(withLabel.text).toContain(line);
    }
    expect(hrefs(withLabel.html)).toContain(links.unsubscribeTopicLabel(label.slug));
  });

  it('links only absolute URLs in the HTML part, the same ones the text part spells out', () => {
    const all = hrefs(email.html);
    for (const href of all) expect(href).toMatch(/^https:\/\/news\.example\.org\//);
    for (const href of all) expect(email.text).toContain(href);
    expect(all).toContain(links.manage);
    expect(all).toContain(links.unsubscribeAll);
    expect(all).toContain(links.feed);
    for (const tag of topics) expect(all).toContain(links.unsubscribeTag(tag.slug));
    expect(all).toContain(`${site.siteUrl}/feeds/tags/syria.rss`);
  });

  it('shows each event once, under its first topic, with all its matching topics', () => {
    expect(email.text.split('Aleppo:').length - 1).toBe(1);
    expect(email.html.split('Aleppo:').length - 1).toBe(1);
    const syria = email.text.indexOf('== Syria ==');
    const russia = email.text.indexOf('== Russia ==');
    const aleppo = email.text.indexOf('* Aleppo');
    expect(syria).toBeGreaterThanOrEqual(0);
    expect(aleppo).toBeGreaterThan(syria);
    expect(russia).toBeGreaterThan(aleppo);
    // A topic with nothing in this digest gets no section (but keeps its unsubscribe link).
    expect(email.text).not.toContain('== R&D');
  });

  it('marks corrected events "Updated", and only those', () => {
    expect(email.text).toContain('* Casualty figures revised\n  Updated · 2026-11-01 · Syria\n');
    expect(email.text).toContain('* Russia withdraws from the ICC\n  2026-11-01 · Russia\n');
    expect(email.text.match(/Updated · /g)).toHaveLength(1);
    const html = email.html;
    expect(html.match(/>Updated</g)).toHaveLength(1);
    const marker = html.indexOf('>Updated<');
    expect(marker).toBeGreaterThan(html.indexOf('Casualty figures revised'));
    expect(marker).toBeLessThan(html.indexOf('Russia withdraws'));
  });

  it('says the window and the cadence', () => {
    expect(email.text).toContain('in Sun 1 Nov, 06:00 – Mon 2 Nov, 06:00 (UTC)');
    expect(email.text.startsWith('Your daily digest from Tidings\n')).toBe(true);
    expect(email.html).toContain(
      '<h1 style="font-size:22px;line-height:1.3;margin:12px 0 8px">Your daily digest</h1>',
    );
    const weekly = renderDigestEmail({ ...digest, cadence: 'weekly' }, site, links);
    expect(weekly.text).toContain('You receive this weekly digest');
  });

  it("says the window in the subscriber's zone, named, and keeps the events' own dates", () => {
    const berlin = renderDigestEmail(
      { ...digest, subscriber: { ...digest.subscriber, timeZone: 'Europe/Berlin' } },
      site,
      links,
    );
    expect(berlin.text).toContain('in Sun 1 Nov, 07:00 – Mon 2 Nov, 07:00 (Europe/Berlin)');
    expect(berlin.html).toContain('Sun 1 Nov, 07:00 – Mon 2 Nov, 07:00 (Europe/Berlin)');
    expect(berlin.text).toContain('* Russia withdraws from the ICC\n  2026-11-01 · Russia\n');
    // A subscriber who never chose sees the deployment's default zone.
    const kolkata = renderDigestEmail(digest, site, links, 'Asia/Kolkata');
    expect(kolkata.text).toContain('in Sun 1 Nov, 11:30 – Mon 2 Nov, 11:30 (Asia/Kolkata)');
  });

  it('links the rest when the digest is capped', async () => {
    const capped = digestOf(
      [
        { kind: 'tag', ref: SYRIA, items: [item(HOSTILE, [SYRIA])], omitted: 48 },
        { kind: 'tag', ref: RUSSIA, items: [], omitted: 3 },
      ],
      [SYRIA, RUSSIA],
      { total: 52, shown: 1 },
    );
    const email = renderDigestEmail(capped, site, links);
    expect(email.subject).toBe('52 new events: Syria, Russia');
    expect(email.text).toContain(
      'The 1 most recent are below; the links under each tag and topic lead to the rest.',
    );
    expect(email.text).toContain('48 more in Syria: https://news.example.org/tags/syria.html');
    expect(email.text).toContain('3 more in Russia: https://news.example.org/tags/russia.html');
    expect(email.html).toContain(
      '<a href="https://news.example.org/tags/syria.html" style="color:#0b57d0">48 more in Syria</a>',
    );
    expect(email.html).toContain(
      '<a href="https://news.example.org/tags/russia.html" style="color:#0b57d0">3 more in Russia</a>',
    );
    await expectValid(email.html);
  });

  it('keeps a long summary to its first words', () => {
    const long = eventOf({ headline: 'Long', body: `${'word '.repeat(200)}end` });
    const email = renderDigestEmail(
      digestOf([{ kind: 'tag', ref: SYRIA, items: [item(long, [SYRIA])], omitted: 0 }], [SYRIA]),
      site,
      links,
    );
    const summary = email.text.split('\n').find((line) => line.startsWith('  word')) ?? '';
    expect(summary.endsWith('…')).toBe(true);
    expect([...summary.trim()].length).toBeLessThanOrEqual(240);
  });

  it('survives composition: both parts come back from the MIME message as rendered', async () => {
    const raw = await composeMessage({
      from: 'Tidings <news@example.org>',
      to: 'reader@example.com',
      ...email,
      headers: listUnsubscribeHeaders(links),
    });
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe(email.subject);
    expect(mail.text).toBe(email.text);
    expect(mail.html).toBe(email.html);
  });
});

describe('listUnsubscribeHeaders', () => {
  it('gives the one-click link in angle brackets and the RFC 8058 POST body', () => {
    expect(listUnsubscribeHeaders(links)).toEqual({
      'List-Unsubscribe': `<${links.oneClick}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
  });
});

describe('renderNoticeEmail', () => {
  const notice = renderNoticeEmail(site, {
    subject: 'Confirm your subscription to R&D <café> 🚀',
    heading: 'Confirm your subscription',
    paragraphs: ['You asked for a daily digest of these topics:'],
    items: ['Syria', 'R&D <café> 🚀'],
    action: { label: 'Confirm', url: `${site.siteUrl}/api/subscriptions/confirm?token=${TOKEN}&x=1` },
    footer: ['If you did not ask for this, ignore this email: nothing is sent without confirmation.'],
    footerLinks: [{ label: 'Unsubscribe', url: links.unsubscribeAll }],
  });

  it('keeps the subject and writes the text part as written, URLs spelled out', () => {
    expect(notice.subject).toBe('Confirm your subscription to R&D <café> 🚀');
    expect(notice.text).toBe(
      [
        'Confirm your subscription',
        '',
        'You asked for a daily digest of these topics:',
        '',
        '* Syria',
        '* R&D <café> 🚀',
        '',
        `Confirm: ${site.siteUrl}/api/subscriptions/confirm?token=${TOKEN}&x=1`,
        '',
        '-- ',
        'If you did not ask for this, ignore this email: nothing is sent without confirmation.',
        `Unsubscribe: ${links.unsubscribeAll}`,
        '',
      ].join('\n'),
    );
  });

  it('escapes the HTML part, links the action and is valid HTML5', async () => {
    expect(notice.html).toContain('<li>R&amp;D &lt;café&gt; 🚀</li>');
    expect(notice.html).not.toContain('<café>');
    expect(hrefs(notice.html)).toEqual([
      `${site.siteUrl}/`,
      `${site.siteUrl}/api/subscriptions/confirm?token=${TOKEN}&x=1`,
      `${site.siteUrl}/api/subscriptions/confirm?token=${TOKEN}&x=1`,
      links.unsubscribeAll,
    ]);
    await expectValid(notice.html);
  });

  it('leaves out what is not given', async () => {
    const bare = renderNoticeEmail(site, {
      subject: 'Done',
      heading: 'You are subscribed',
      paragraphs: ['Thanks.'],
    });
    expect(bare.text).toBe('You are subscribed\n\nThanks.\n');
    expect(bare.html).not.toContain('<ul>');
    expect(bare.html).not.toContain('border-top:1px solid #dddddd;color');
    await expectValid(bare.html);
  });
});
