import { HtmlValidate } from 'html-validate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as handleEmailFeedback } from '../../functions/handle-email-feedback.js';
import { listOutbox } from '../../local/outbox.js';
import { linkKeysOf, staticTokenSecret } from '../../shared/adapters/token-secret.js';
import { CONFIRMATION_RESEND_SECONDS } from '../../shared/domain/subscriber-changes.js';
import { signToken, subscriberLinks } from '../../shared/domain/tokens.js';
import { canonicalZone } from '../../shared/domain/zones.js';
import { digestBucket, digestPartition, digestShardOf, TABLE } from '../../shared/keys.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { bounceEvent, complaintEvent, snsEventOf } from '../helpers/ses-feedback.js';
import {
  linkIn,
  mailTo,
  manualClock,
  pathOf,
  seedTopics,
  subscriptionsOf,
} from '../helpers/subscriptions.js';

interface ErrorBody {
  error: { code: string; message: string; issues?: { path: string; rule: string }[] };
}

const clock = manualClock('2026-03-02T09:00:00.000Z');
let rt: TestRuntime;
let subs: ReturnType<typeof subscriptionsOf>;
let n = 0;
const validator = new HtmlValidate({ extends: ['html-validate:recommended'] });

beforeAll(async () => {
  // These tests sign up far more than ten times an hour from 127.0.0.1; the limits have their own file.
  rt = await startTestRuntime({ now: clock.now, signupPolicy: { clientPerHour: 1000 } });
  await seedTopics(rt);
  subs = subscriptionsOf(rt);
}, 60_000);
afterAll(async () => {
  subs?.close();
  await rt?.dispose();
});

const address = () => `reader${++n}@example.org`;

/** What the API answers of followed tags (and no labels): `tags`, `topicLabels` and the deprecated `topics`. */
const follows = (tags: { slug: string; name: string }[]) => ({ tags, topicLabels: [], topics: tags });

const subscribeJson = (body: unknown) =>
  rt.request('/api/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const subscribeForm = (fields: [string, string][]) =>
  rt.request('/api/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams(fields).toString(),
  });

const browserGet = (url: string) => rt.request(pathOf(url), { headers: { accept: 'text/html' } });
const jsonGet = (url: string) => rt.request(pathOf(url), { headers: { accept: 'application/json' } });
const oneClick = (
  url: string,
  body = 'List-Unsubscribe=One-Click',
  type = 'application/x-www-form-urlencoded',
) => rt.request(pathOf(url), { method: 'POST', headers: { 'content-type': type }, body });

/** The confirmation link's button: a form post of the token, as a browser sends it. */
const confirmByButton = (url: string) =>
  rt.request('/api/subscriptions/confirm', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams({ token: new URL(url).searchParams.get('token') ?? '' }).toString(),
  });
/** An API client's POST of the link itself (the token in the query). */
const confirmJson = (url: string) =>
  rt.request(pathOf(url), { method: 'POST', headers: { accept: 'application/json' } });

const expectValidHtml = async (html: string): Promise<void> => {
  const report = await validator.validateString(html);
  expect(report.results.flatMap((r) => r.messages.map((m) => `${m.ruleId}: ${m.message}`))).toEqual([]);
};

/** Signs up and opens the confirmation link; returns the address and its confirmation email. */
const confirmedSubscriber = async (tags = ['Syria', 'Russia'], cadence = 'daily') => {
  const email = address();
  expect((await subscribeJson({ email, tags, cadence })).status).toBe(202);
  const [message] = await mailTo(rt, email);
  if (!message) throw new Error('no confirmation email');
  expect((await confirmJson(linkIn(message, '/api/subscriptions/confirm'))).status).toBe(200);
  return { email, message };
};

const linksOf = async (email: string) => {
  const subscriber = await subs.subscriber(email);
  if (!subscriber) throw new Error(`no subscriber ${email}`);
  return subscriberLinks(subs.keys, rt.url, subscriber, Math.floor(Date.parse(clock.now()) / 1000));
};

describe('POST /api/subscriptions', () => {
  it('stores a pending subscriber and sends a confirmation email with List-Unsubscribe headers', async () => {
    const email = address();
    const res = await subscribeJson({
      email: `  ${email.toUpperCase()} `,
      tags: ['Syria', 'vladimir-putin'],
      cadence: 'weekly',
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({
      message: expect.stringContaining('confirmation link'),
      email: email.toUpperCase(),
      ...follows([
        { slug: 'syria', name: 'Syria' },
        { slug: 'vladimir-putin', name: 'Vladimir Putin' },
      ]),
      cadence: 'weekly',
    });
    const stored = await subs.subscriber(email);
    expect(stored).toMatchObject({ status: 'pending', cadence: 'weekly', tokenVersion: 0 });
    const item = await subs.rawItem(email);
    expect(item?.[TABLE.ttlAttribute]).toBe(Math.floor(Date.parse(clock.now()) / 1000) + 48 * 3600);
    expect(item?.[TABLE.digestIndex.partitionKey]).toBeUndefined();

    const [message, ...more] = await mailTo(rt, email);
    expect(more).toEqual([]);
    expect(message?.subject).toBe('Confirm your weekly Tidings digest: Syria, Vladimir Putin');
    expect(message?.headers['list-unsubscribe']).toMatch(
      new RegExp(`^<${rt.url}/api/subscriptions/unsubscribe\\?token=[\\w.-]+>$`),
    );
    expect(message?.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(message?.text).toContain('works until 2026-03-04 09:00 UTC');
    expect(message?.html).toContain(
      linkIn(message as never, '/api/subscriptions/confirm').replaceAll('&', '&amp;'),
    );
  });

  it('gives the same answer for new, pending, confirmed, unsubscribed and suppressed addresses', async () => {
    const request = (email: string) => ({ email, tags: ['Syria'], cadence: 'daily' });
    const answer = async (email: string) => {
      const json = await subscribeJson(request(email));
      const page = await subscribeForm([
        ['email', email],
        ['tags[]', 'Syria'],
        ['cadence', 'daily'],
      ]);
      return {
        json: [
          json.status,
          json.headers.get('content-type'),
          (await json.text()).replaceAll(email, '<address>'),
        ],
        page: [
          page.status,
          page.headers.get('content-type'),
          (await page.text()).replaceAll(email, '<address>'),
        ],
      };
    };

    const { email: confirmed } = await confirmedSubscriber();
    const { email: left } = await confirmedSubscriber();
    expect((await oneClick((await linksOf(left)).oneClick)).status).toBe(200);
    const suppressed = address();
    await handleEmailFeedback({
      store: subs.store,
      tokenSecret: staticTokenSecret(rt.tokenSecret),
      now: clock.now,
    })(snsEventOf(complaintEvent([suppressed])));
    // Past the resend interval of the confirmed and unsubscribed addresses' sign-ups.
    clock.advance(CONFIRMATION_RESEND_SECONDS);
    const pending = address();
    await subscribeJson(request(pending));

    const reference = await answer(address());
    expect(reference.json[0]).toBe(202);
    expect(reference.page[0]).toBe(202);
    const before = await Promise.all([pending, confirmed, left, suppressed].map((a) => mailTo(rt, a)));
    for (const email of [pending, confirmed, left, suppressed])
      expect(await answer(email)).toEqual(reference);
    const after = await Promise.all([pending, confirmed, left, suppressed].map((a) => mailTo(rt, a)));
    // Mail went only where it may: once to each of the confirmed and unsubscribed addresses (the
    // form's request came within the resend interval of the JSON one), never to the pending address
    // (one was sent moments ago) nor to the suppressed one.
    expect(after.map((m, i) => m.length - (before[i]?.length ?? 0))).toEqual([0, 1, 1, 0]);
    expect(await subs.subscriber(suppressed)).toBeUndefined();
  });

  it('answers the form with a valid page that names what was asked for', async () => {
    const email = address();
    const res = await subscribeForm([
      ['email', email],
      ['tags[]', 'Syria'],
      ['tags[]', 'Iran'],
      ['cadence', 'weekly'],
    ]);
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    await expectValidHtml(html);
    expect(html).toContain(`If ${email} can receive email`);
    expect(html).toContain('<li>Syria</li>\n<li>Iran</li>');
    expect((await subs.subscriber(email))?.tags.map((t) => t.slug)).toEqual(['syria', 'iran']);
  });

  it('sends one confirmation per resend interval and refreshes a pending request after it', async () => {
    const email = address();
    await subscribeJson({ email, tags: ['Syria'], cadence: 'daily' });
    await subscribeJson({ email, tags: ['Russia'], cadence: 'weekly' });
    expect(await mailTo(rt, email)).toHaveLength(1);
    expect((await subs.subscriber(email))?.tags.map((t) => t.slug)).toEqual(['syria']);
    clock.advance(CONFIRMATION_RESEND_SECONDS);
    await subscribeJson({ email, tags: ['Russia'], cadence: 'weekly' });
    const mail = await mailTo(rt, email);
    expect(mail).toHaveLength(2);
    expect(mail[1]?.subject).toContain('weekly Tidings digest: Russia');
    expect(await subs.subscriber(email)).toMatchObject({ status: 'pending', cadence: 'weekly' });
  });

  describe('refuses bad input with a 4xx naming the field and the rule, and writes nothing', () => {
    const cases: [string, unknown, number, { path: string; rule: string }[]][] = [
      ['no email', { tags: ['Syria'], cadence: 'daily' }, 400, [{ path: 'email', rule: 'is required' }]],
      [
        'a malformed email',
        { email: 'reader@', tags: ['Syria'], cadence: 'daily' },
        400,
        [{ path: 'email', rule: 'must be an email address such as reader@example.org' }],
      ],
      [
        'an email too long',
        { email: `${'a'.repeat(250)}@example.org`, tags: ['Syria'], cadence: 'daily' },
        400,
        [{ path: 'email', rule: 'must be at most 254 characters' }],
      ],
      [
        'an unknown tag',
        { email: 'x@example.org', tags: ['Syria', 'Atlantis'], cadence: 'daily' },
        400,
        [{ path: 'tags[1]', rule: 'is not a known tag (got "Atlantis"; GET /api/tags lists them)' }],
      ],
      [
        'no tags',
        { email: 'x@example.org', tags: [], cadence: 'daily' },
        400,
        [{ path: 'tags', rule: 'must name at least one tag, or topicLabels at least one topic label' }],
      ],
      [
        'too many tags',
        { email: 'x@example.org', tags: Array.from({ length: 21 }, () => 'Syria'), cadence: 'daily' },
        400,
        [{ path: 'tags', rule: 'must name at most 20 tags (got 21)' }],
      ],
      [
        'a tag that is not a string',
        { email: 'x@example.org', tags: [7], cadence: 'daily' },
        400,
        [{ path: 'tags[0]', rule: 'must be a string (got number)' }],
      ],
      [
        'an unknown cadence',
        { email: 'x@example.org', tags: ['Syria'], cadence: 'hourly' },
        400,
        [{ path: 'cadence', rule: 'must be one of instant, daily, weekly' }],
      ],
      [
        'an unknown field',
        { email: 'x@example.org', tags: ['Syria'], cadence: 'daily', admin: true },
        400,
        [
          {
            path: 'admin',
            rule: 'is not a known field (allowed: email, tags, topicLabels, cadence, timeZone, deliveryHour, deliveryWeekday, quietHours)',
          },
        ],
      ],
      [
        'an array',
        [],
        400,
        [
          {
            path: 'body',
            rule: 'must be an object with email, tags, topicLabels, cadence, timeZone, deliveryHour, deliveryWeekday, quietHours',
          },
        ],
      ],
    ];

    it.each(cases)('%s', async (_, body, status, issues) => {
      const files = (await listOutbox(rt.outboxDir)).length;
      const res = await subscribeJson(body);
      expect(res.status).toBe(status);
      const error = ((await res.json()) as ErrorBody).error;
      expect(error.code).toBe('validation_failed');
      expect(error.issues).toEqual(issues);
      expect(error.message).toContain(`${issues[0]?.path}: ${issues[0]?.rule}`);
      expect((await listOutbox(rt.outboxDir)).length).toBe(files);
      expect(await subs.subscriber('x@example.org')).toBeUndefined();
    });

    it('lists every problem of a form at once, on a page', async () => {
      const res = await subscribeForm([
        ['email', 'nope'],
        ['tags[]', 'Atlantis'],
        ['cadence', 'monthly'],
      ]);
      expect(res.status).toBe(400);
      const html = await res.text();
      await expectValidHtml(html);
      expect(html).toContain('<li>email: must be an email address such as reader@example.org</li>');
      expect(html).toContain('<li>cadence: must be one of instant, daily, weekly</li>');
      expect(html).toContain(
        '<li>tags[0]: is not a known tag (got &quot;Atlantis&quot;; GET /api/tags lists them)</li>',
      );
    });

    it('refuses malformed JSON, other media types and oversized bodies', async () => {
      const bad = await rt.request('/api/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"email":',
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as ErrorBody).error.code).toBe('malformed_body');
      const text = await rt.request('/api/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'email=x',
      });
      expect(text.status).toBe(415);
      const big = await subscribeForm([['email', 'x'.repeat(300 * 1024)]]);
      expect(big.status).toBe(413);
    });
  });
});

describe('tags and topic labels (one vocabulary, the old body still works)', () => {
  // Every seeded event carries the topic label "Russian President", which the change stream noted.
  const LABEL = { slug: 'russian-president', name: 'Russian President' };

  it('takes an old body that names tags as `topics`: the same tags, answered under both names', async () => {
    const email = address();
    const res = await subscribeJson({ email, topics: ['Syria', 'russia'], cadence: 'daily' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({
      ...follows([
        { slug: 'syria', name: 'Syria' },
        { slug: 'russia', name: 'Russia' },
      ]),
      cadence: 'daily',
    });
    const [message] = await mailTo(rt, email);
    expect((await confirmJson(linkIn(message as never, '/api/subscriptions/confirm'))).status).toBe(200);
    expect(await subs.subscriber(email)).toMatchObject({
      status: 'confirmed',
      tags: [
        { slug: 'syria', name: 'Syria' },
        { slug: 'russia', name: 'Russia' },
      ],
      topics: [],
    });
    // Its issues name the field it sent; sending both names is refused.
    const unknown = await subscribeJson({ email: address(), topics: ['Atlantis'], cadence: 'daily' });
    expect(((await unknown.json()) as ErrorBody).error.issues).toEqual([
      { path: 'topics[0]', rule: 'is not a known tag (got "Atlantis"; GET /api/tags lists them)' },
    ]);
    const both = await subscribeJson({
      email: address(),
      tags: ['Syria'],
      topics: ['Syria'],
      cadence: 'daily',
    });
    expect(((await both.json()) as ErrorBody).error.issues).toEqual([
      { path: 'topics', rule: 'is the former name of tags: send tags alone' },
    ]);
  });

  it('follows topic labels by name or slug, alone or with tags, through confirmation', async () => {
    const email = address();
    const res = await subscribeJson({
      email,
      tags: ['Syria'],
      topicLabels: ['Russian President', 'russian-president'],
      cadence: 'weekly',
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({
      tags: [{ slug: 'syria', name: 'Syria' }],
      topicLabels: [LABEL],
    });
    const [message] = await mailTo(rt, email);
    expect(message?.text).toContain('* Russian President');
    expect((await confirmJson(linkIn(message as never, '/api/subscriptions/confirm'))).status).toBe(200);
    expect(await subs.subscriber(email)).toMatchObject({ tags: [{ slug: 'syria' }], topics: [LABEL] });
    expect(await subs.rawItem(email)).toMatchObject({
      [TABLE.digestIndex.partitionKey]: digestPartition('weekly', digestShardOf(subs.idOf(email))),
    });

    const labelsOnly = address();
    expect(
      (await subscribeJson({ email: labelsOnly, topicLabels: ['Russian President'], cadence: 'daily' }))
        .status,
    ).toBe(202);
    const unknown = await subscribeJson({ email: address(), topicLabels: ['Sports'], cadence: 'daily' });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as ErrorBody).error.issues).toEqual([
      {
        path: 'topicLabels[0]',
        rule: 'is not a known topic label (got "Sports"; the manage page lists them)',
      },
    ]);
  });

  it('offers labels on the manage page and saves them; a label link leaves the label alone', async () => {
    const { email } = await confirmedSubscriber(['Syria'], 'daily');
    const { manage } = await linksOf(email);
    const html = await (await browserGet(manage)).text();
    await expectValidHtml(html);
    expect(html).toContain('<legend>Tags</legend>');
    expect(html).toContain(
      '<input type="checkbox" name="topicLabels[]" value="russian-president"> Russian President',
    );
    const view = await jsonGet(manage);
    expect(await view.json()).toMatchObject({ offered: { topicLabels: [LABEL] } });

    clock.advance(60);
    const token = new URL(manage).searchParams.get('token') ?? '';
    const saved = await rt.request('/api/subscriptions/manage', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: `token=${token}&tags%5B%5D=syria&topicLabels%5B%5D=russian-president&cadence=daily`,
    });
    expect(await saved.text()).toContain(
      '<input type="checkbox" name="topicLabels[]" value="russian-president" checked> Russian President',
    );
    expect(await subs.subscriber(email)).toMatchObject({ tags: [{ slug: 'syria' }], topics: [LABEL] });

    clock.advance(60);
    const leave = (await linksOf(email)).unsubscribeTopicLabel(LABEL.slug);
    const view2 = await jsonGet(leave);
    expect(await view2.json()).toEqual({ subscribed: true, topicLabel: LABEL });
    const page = await (await oneClick(leave)).text();
    expect(page).toContain('Unsubscribed from Russian President (topic)');
    expect(await subs.subscriber(email)).toMatchObject({ tags: [{ slug: 'syria' }], topics: [] });
  });
});

describe('/api/subscriptions/confirm', () => {
  it('confirms once on the button, shows the subscription, and is harmless to confirm again', async () => {
    const email = address();
    await subscribeJson({ email, tags: ['Syria', 'Russia'], cadence: 'weekly' });
    const [message] = await mailTo(rt, email);
    const link = linkIn(message as never, '/api/subscriptions/confirm');
    clock.advance(60);
    const page = await confirmByButton(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    await expectValidHtml(html);
    expect(html).toContain('You are subscribed');
    expect(html).toContain('<li>Syria</li>\n<li>Russia</li>');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');

    const stored = await subs.subscriber(email);
    expect(stored).toMatchObject({
      status: 'confirmed',
      confirmedAt: clock.now(),
      cursor: clock.now(),
      cadence: 'weekly',
    });
    expect(stored?.expiresAt).toBeUndefined();
    const item = await subs.rawItem(email);
    expect(item?.[TABLE.digestIndex.partitionKey]).toBe(
      digestPartition('weekly', digestShardOf(subs.idOf(email))),
    );
    expect(item?.[TABLE.digestIndex.sortKey]).toBe(subs.idOf(email));

    clock.advance(60);
    const again = await confirmJson(link);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({
      status: 'confirmed',
      ...follows([
        { slug: 'syria', name: 'Syria' },
        { slug: 'russia', name: 'Russia' },
      ]),
      cadence: 'weekly',
      changed: false,
    });
    expect(await subs.subscriber(email)).toEqual(stored);
  });

  it('adds the tags of a new request to a confirmed subscriber only when its link is opened', async () => {
    const { email } = await confirmedSubscriber(['Syria'], 'daily');
    clock.advance(CONFIRMATION_RESEND_SECONDS);
    await subscribeJson({ email, tags: ['Iran'], cadence: 'weekly' });
    expect(await subs.subscriber(email)).toMatchObject({
      tags: [{ slug: 'syria', name: 'Syria' }],
      cadence: 'daily',
    });
    const second = (await mailTo(rt, email))[1];
    clock.advance(60);
    expect((await confirmJson(linkIn(second as never, '/api/subscriptions/confirm'))).status).toBe(200);
    const stored = await subs.subscriber(email);
    expect(stored?.tags.map((t) => t.slug)).toEqual(['syria', 'iran']);
    expect(stored?.cadence).toBe('weekly');
    expect(await subs.rawItem(email)).toMatchObject({
      [TABLE.digestIndex.partitionKey]: digestPartition('weekly', digestShardOf(subs.idOf(email))),
    });
  });

  it('refuses a tampered link with 403 and changes nothing', async () => {
    const email = address();
    await subscribeJson({ email, tags: ['Syria'], cadence: 'daily' });
    const link = linkIn((await mailTo(rt, email))[0] as never, '/api/subscriptions/confirm');
    const token = new URL(link).searchParams.get('token') ?? '';
    const [kid, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    const forged = `${kid}.${Buffer.from(JSON.stringify({ ...claims, topics: ['syria', 'russia'] })).toString('base64url')}.${signature}`;
    const before = await subs.subscriber(email);
    const res = await confirmJson(`${rt.url}/api/subscriptions/confirm?token=${forged}`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as ErrorBody).error.message).toContain('query.token: invalid signature');
    const page = await browserGet(`${rt.url}/api/subscriptions/confirm?token=${forged}`);
    expect(page.status).toBe(403);
    const html = await page.text();
    await expectValidHtml(html);
    expect(html).toContain('This link is not valid');
    expect(await subs.subscriber(email)).toEqual(before);
  });

  it('refuses an expired link with 410; the pending subscription lapses and a new sign-up starts afresh', async () => {
    const email = address();
    await subscribeJson({ email, tags: ['Syria'], cadence: 'daily' });
    const old = linkIn((await mailTo(rt, email))[0] as never, '/api/subscriptions/confirm');
    clock.advance(48 * 3600);
    const res = await jsonGet(old);
    expect(res.status).toBe(410);
    expect(((await res.json()) as ErrorBody).error.message).toContain('query.token: expired');
    expect((await subs.subscriber(email))?.status).toBe('pending');

    await subscribeJson({ email, tags: ['Russia'], cadence: 'weekly' });
    const fresh = (await mailTo(rt, email))[1];
    expect((await subs.subscriber(email))?.tokenVersion).toBe(1);
    expect((await confirmJson(linkIn(fresh as never, '/api/subscriptions/confirm'))).status).toBe(200);
    expect(await subs.subscriber(email)).toMatchObject({
      status: 'confirmed',
      tags: [{ slug: 'russia', name: 'Russia' }],
    });
  });

  it('refuses a link of another purpose, a missing token and unknown parameters with 400', async () => {
    const { email } = await confirmedSubscriber();
    const links = await linksOf(email);
    const manageToken = new URL(links.manage).searchParams.get('token');
    const wrong = await jsonGet(`${rt.url}/api/subscriptions/confirm?token=${manageToken}`);
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as ErrorBody).error.issues).toEqual([
      { path: 'query.token', rule: 'is not a confirm link' },
    ]);
    const missing = await jsonGet(`${rt.url}/api/subscriptions/confirm`);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as ErrorBody).error.issues?.[0]?.path).toBe('query.token');
    const extra = await jsonGet(`${rt.url}/api/subscriptions/confirm?token=${manageToken}&email=x`);
    expect(extra.status).toBe(400);
  });
});

describe('unsubscribing (RFC 8058)', () => {
  it('shows a page with a button on GET and changes nothing (mail scanners follow links)', async () => {
    const { email } = await confirmedSubscriber();
    const before = await subs.subscriber(email);
    const links = await linksOf(email);
    for (const url of [links.unsubscribeAll, links.unsubscribeTag('syria')]) {
      const page = await browserGet(url);
      expect(page.status).toBe(200);
      const html = await page.text();
      await expectValidHtml(html);
      // The button posts the token in the body, to a URL without one.
      expect(html).toContain('<form method="post" action="unsubscribe">');
      expect(html).toContain(
        `<input type="hidden" name="token" value="${new URL(url).searchParams.get('token')}">`,
      );
      expect(html).toContain('<input type="hidden" name="List-Unsubscribe" value="One-Click">');
      expect(html).not.toContain(email);
    }
    expect(await subs.subscriber(email)).toEqual(before);
  });

  it('unsubscribes from everything on a POST of exactly List-Unsubscribe=One-Click, without any login', async () => {
    const { email, message } = await confirmedSubscriber();
    const header = message.headers['list-unsubscribe'] ?? '';
    const url = header.slice(1, -1);
    const res = await rt.request(pathOf(url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    await expectValidHtml(html);
    expect(html).toContain('You are unsubscribed');
    const stored = await subs.subscriber(email);
    expect(stored).toMatchObject({ status: 'unsubscribed', tokenVersion: 1 });
    expect((await subs.rawItem(email))?.[TABLE.digestIndex.partitionKey]).toBeUndefined();

    // Again: the same answer, nothing changed.
    expect((await oneClick(url)).status).toBe(200);
    expect(await subs.subscriber(email)).toEqual(stored);
  });

  it('accepts the multipart/form-data encoding too', async () => {
    const { email } = await confirmedSubscriber();
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const res = await rt.request(pathOf((await linksOf(email)).oneClick), { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect((await subs.subscriber(email))?.status).toBe('unsubscribed');
  });

  it.each([
    ['another value', 'List-Unsubscribe=Yes', 'application/x-www-form-urlencoded', 400],
    ['an empty form', '', 'application/x-www-form-urlencoded', 400],
    ['an extra field', 'List-Unsubscribe=One-Click&topic=all', 'application/x-www-form-urlencoded', 400],
    ['a differently cased field', 'list-unsubscribe=one-click', 'application/x-www-form-urlencoded', 400],
    ['JSON', '{"List-Unsubscribe":"One-Click"}', 'application/json', 415],
    ['plain text', 'List-Unsubscribe=One-Click', 'text/plain', 415],
  ])('refuses %s and changes nothing', async (_, body, type, status) => {
    const { email } = await confirmedSubscriber();
    const before = await subs.subscriber(email);
    const res = await oneClick((await linksOf(email)).oneClick, body, type);
    expect(res.status).toBe(status);
    if (status === 400)
      expect(await res.text()).toContain('body.List-Unsubscribe: must be the one field of the form');
    expect(await subs.subscriber(email)).toEqual(before);
  });

  it('leaves one topic with a topic link, and stops digests when the last topic goes', async () => {
    const { email } = await confirmedSubscriber(['Syria', 'Russia']);
    const links = await linksOf(email);
    const res = await oneClick(links.unsubscribeTag('syria'));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Unsubscribed from Syria');
    expect(html).toContain('<li>Russia</li>');
    const stored = await subs.subscriber(email);
    expect(stored).toMatchObject({
      status: 'confirmed',
      tags: [{ slug: 'russia', name: 'Russia' }],
      tokenVersion: 0,
    });
    expect((await subs.rawItem(email))?.[TABLE.digestIndex.partitionKey]).toBe(
      digestPartition('daily', digestShardOf(subs.idOf(email))),
    );
    expect((await oneClick(links.unsubscribeTag('syria'))).status).toBe(200);
    expect(await subs.subscriber(email)).toEqual(stored);

    expect((await oneClick(links.unsubscribeTag('russia'))).status).toBe(200);
    expect(await subs.subscriber(email)).toMatchObject({ status: 'confirmed', tags: [] });
    expect((await subs.rawItem(email))?.[TABLE.digestIndex.partitionKey]).toBeUndefined();
    // The manage link still works, to pick topics again.
    expect((await jsonGet(links.manage)).status).toBe(200);
  });

  it('voids earlier links when leaving everything: manage is 410, unsubscribing again is still fine', async () => {
    const { email } = await confirmedSubscriber();
    const links = await linksOf(email);
    expect((await oneClick(links.unsubscribeAll)).status).toBe(200);
    const manage = await jsonGet(links.manage);
    expect(manage.status).toBe(410);
    expect(((await manage.json()) as ErrorBody).error.message).toContain('query.token: no longer valid');
    expect((await oneClick(links.unsubscribeTag('russia'))).status).toBe(200);
    expect((await subs.subscriber(email))?.tags.map((t) => t.slug)).toEqual(['syria', 'russia']);
  });

  it('refuses a tampered unsubscribe link with 403', async () => {
    const { email } = await confirmedSubscriber();
    const token = new URL((await linksOf(email)).unsubscribeTag('syria')).searchParams.get('token') ?? '';
    const [kid, payload, signature] = token.split('.');
    const forged = `${kid}.${Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()),
        topic: 'russia',
      }),
    ).toString('base64url')}.${signature}`;
    const before = await subs.subscriber(email);
    const res = await oneClick(`${rt.url}/api/subscriptions/unsubscribe?token=${forged}`);
    expect(res.status).toBe(403);
    expect(await subs.subscriber(email)).toEqual(before);
  });
});

describe('the manage page', () => {
  it('shows the subscription in a form and saves topics and cadence (the digest index follows)', async () => {
    const { email } = await confirmedSubscriber(['Syria'], 'daily');
    const confirmedPage = await (
      await confirmByButton(linkIn((await mailTo(rt, email))[0] as never, '/api/subscriptions/confirm'))
    ).text();
    const manage = /href="([^"]+\/api\/subscriptions\/manage\?token=[^"]+)"/.exec(confirmedPage)?.[1] ?? '';
    const page = await browserGet(manage);
    expect(page.status).toBe(200);
    const html = await page.text();
    await expectValidHtml(html);
    expect(html).toContain('<input type="checkbox" name="tags[]" value="syria" checked> Syria');
    expect(html).toContain('<input type="checkbox" name="tags[]" value="russia"> Russia');
    expect(html).toContain('<input type="radio" name="cadence" value="daily" checked>');

    clock.advance(60);
    const token = new URL(manage.replaceAll('&amp;', '&')).searchParams.get('token') ?? '';
    expect(html).toContain('<form method="post" action="manage">');
    expect(html).toContain(`<input type="hidden" name="token" value="${token}">`);
    const saved = await rt.request('/api/subscriptions/manage', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: `token=${token}&tags%5B%5D=russia&tags%5B%5D=iran&cadence=weekly`,
    });
    expect(saved.status).toBe(200);
    const savedHtml = await saved.text();
    await expectValidHtml(savedHtml);
    expect(savedHtml).toContain('Saved.');
    expect(await subs.subscriber(email)).toMatchObject({
      tags: [
        { slug: 'russia', name: 'Russia' },
        { slug: 'iran', name: 'Iran' },
      ],
      cadence: 'weekly',
    });
    expect((await subs.rawItem(email))?.[TABLE.digestIndex.partitionKey]).toBe(
      digestPartition('weekly', digestShardOf(subs.idOf(email))),
    );
  });

  it('takes JSON too, and validates like a sign-up, writing nothing on a 400', async () => {
    const { email } = await confirmedSubscriber(['Syria'], 'daily');
    const { manage } = await linksOf(email);
    const before = await subs.subscriber(email);
    const bad = await rt.request(pathOf(manage), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tags: ['Atlantis'], cadence: 'monthly' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.issues).toEqual([
      { path: 'cadence', rule: 'must be one of instant, daily, weekly' },
      { path: 'tags[0]', rule: 'is not a known tag (got "Atlantis"; GET /api/tags lists them)' },
    ]);
    const none = await rt.request(pathOf(manage), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tags: [], cadence: 'daily' }),
    });
    expect(none.status).toBe(400);
    expect(await subs.subscriber(email)).toEqual(before);

    clock.advance(60);
    const ok = await rt.request(pathOf(manage), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tags: ['Vladimir Putin'], cadence: 'daily' }),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      tags: [{ slug: 'vladimir-putin', name: 'Vladimir Putin' }],
      topicLabels: [],
      topics: [{ slug: 'vladimir-putin', name: 'Vladimir Putin' }],
      changed: true,
    });
  });

  it('is not available before the address is confirmed (409), nor with a forged token (403)', async () => {
    const email = address();
    await subscribeJson({ email, tags: ['Syria'], cadence: 'daily' });
    const stored = await subs.subscriber(email);
    if (!stored) throw new Error('missing');
    const { manage } = subscriberLinks(subs.keys, rt.url, stored, Math.floor(Date.parse(clock.now()) / 1000));
    expect((await jsonGet(manage)).status).toBe(409);
    const forged = signToken(linkKeysOf('another-secret-0123456789abcdefghijklmnop'), {
      sub: stored.id,
      purpose: 'manage',
      v: 0,
      exp: 2_000_000_000,
    });
    expect((await jsonGet(`${rt.url}/api/subscriptions/manage?token=${forged}`)).status).toBe(403);
  });
});

describe('cadence, zone, hour and weekday of the subscriber', () => {
  const KOLKATA = canonicalZone('Asia/Kolkata') as string;

  it('takes a zone (any alias or case), hour, weekday and quiet hours through JSON, and applies them when the link is opened', async () => {
    const email = address();
    const res = await subscribeJson({
      email,
      tags: ['Syria'],
      cadence: 'weekly',
      timeZone: 'asia/kolkata',
      deliveryHour: 6,
      deliveryWeekday: 0,
      quietHours: { from: 22, to: 7 },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({
      cadence: 'weekly',
      timeZone: KOLKATA,
      deliveryHour: 6,
      deliveryWeekday: 0,
      quietHours: { from: 22, to: 7 },
    });
    const [message] = await mailTo(rt, email);
    expect(message?.text).toContain(
      `asked for a weekly digest on Sundays at 06:00 (${KOLKATA}) from Tidings`,
    );
    const link = linkIn(message as never, '/api/subscriptions/confirm');
    // The confirmation page says what confirming will set, before anything is stored.
    const page = await (await browserGet(link)).text();
    await expectValidHtml(page);
    expect(page).toContain(`A weekly digest on Sundays at 06:00 (${KOLKATA})`);
    expect((await subs.subscriber(email))?.timeZone).toBe(KOLKATA); // pending records take the request
    clock.advance(60);
    const confirmed = await confirmJson(link);
    expect(await confirmed.json()).toMatchObject({
      status: 'confirmed',
      cadence: 'weekly',
      timeZone: KOLKATA,
      deliveryHour: 6,
      deliveryWeekday: 0,
      quietHours: { from: 22, to: 7 },
    });
    const item = await subs.rawItem(email);
    expect(item?.[TABLE.digestIndex.partitionKey]).toBe(
      digestPartition('weekly', digestShardOf(subs.idOf(email))),
    );
    expect(item?.[TABLE.digestIndex.sortKey]).toBe(
      `${digestBucket('weekly', KOLKATA, 6, 0)}${subs.idOf(email)}`,
    );
  });

  it('fills what a request leaves out from the settings (hour 7, Monday, UTC)', async () => {
    const email = address();
    const res = await subscribeJson({ email, tags: ['Syria'], cadence: 'daily', timeZone: 'Europe/Berlin' });
    expect(await res.json()).toMatchObject({
      timeZone: 'Europe/Berlin',
      deliveryHour: 7,
      deliveryWeekday: 1,
    });
    expect(await subs.subscriber(email)).toMatchObject({ timeZone: 'Europe/Berlin', deliveryHour: 7 });
    expect((await subs.subscriber(email))?.quietHours).toBeUndefined();
  });

  it('keeps a confirmed subscriber on the default time until a link of a request that chose one is opened', async () => {
    const { email } = await confirmedSubscriber(['Syria'], 'daily');
    expect((await subs.rawItem(email))?.[TABLE.digestIndex.sortKey]).toBe(subs.idOf(email));
    clock.advance(CONFIRMATION_RESEND_SECONDS + 1);
    await subscribeJson({
      email,
      tags: ['Syria'],
      cadence: 'daily',
      timeZone: 'America/New_York',
      deliveryHour: 8,
    });
    expect((await subs.subscriber(email))?.timeZone).toBeUndefined();
    const [, second] = await mailTo(rt, email);
    clock.advance(60);
    expect((await confirmJson(linkIn(second as never, '/api/subscriptions/confirm'))).status).toBe(200);
    expect(await subs.subscriber(email)).toMatchObject({ timeZone: 'America/New_York', deliveryHour: 8 });
    expect((await subs.rawItem(email))?.[TABLE.digestIndex.sortKey]).toBe(
      `${digestBucket('daily', 'America/New_York', 8, 1)}${subs.idOf(email)}`,
    );
  });

  it('takes the instant cadence: stored, confirmed, and kept off the digest index', async () => {
    const { email, message } = await confirmedSubscriber(['Syria'], 'instant');
    expect(message.subject).toBe('Confirm your Tidings alerts: Syria');
    expect(message.text).toContain('asked for alerts as events happen from Tidings');
    expect(await subs.subscriber(email)).toMatchObject({ status: 'confirmed', cadence: 'instant' });
    const item = await subs.rawItem(email);
    expect(item?.[TABLE.digestIndex.partitionKey]).toBeUndefined();
    expect(item?.[TABLE.digestIndex.sortKey]).toBeUndefined();
  });

  it('leaves the time unchosen when the form\'s selects say "as the site sends"', async () => {
    const email = address();
    const res = await subscribeForm([
      ['email', email],
      ['tags[]', 'Syria'],
      ['cadence', 'daily'],
      ['timeZone', ''],
      ['deliveryHour', ''],
      ['deliveryWeekday', ''],
    ]);
    expect(res.status).toBe(202);
    const html = await res.text();
    await expectValidHtml(html);
    expect(html).toContain('a daily digest at 07:00 (UTC)');
    expect((await subs.subscriber(email))?.timeZone).toBeUndefined();
  });

  describe('refuses a bad zone, hour, weekday or quiet hours with a 400 naming the field, and writes nothing', () => {
    const cases: [string, Record<string, unknown>, { path: string; rule: string }][] = [
      [
        'an unknown zone',
        { timeZone: 'Mars/Olympus_Mons' },
        {
          path: 'timeZone',
          rule: 'must be an IANA time zone name such as Europe/Berlin (got "Mars/Olympus_Mons")',
        },
      ],
      [
        'a zone that is not text',
        { timeZone: 5 },
        { path: 'timeZone', rule: 'must be a string (got number)' },
      ],
      [
        'hour 24',
        { deliveryHour: 24 },
        { path: 'deliveryHour', rule: 'must be a whole number from 0 to 23 (a local hour)' },
      ],
      [
        'a fractional hour',
        { deliveryHour: 7.5 },
        { path: 'deliveryHour', rule: 'must be a whole number from 0 to 23 (a local hour)' },
      ],
      [
        'weekday 7',
        { deliveryWeekday: 7 },
        { path: 'deliveryWeekday', rule: 'must be a whole number from 0 to 6 (0 = Sunday … 6 = Saturday)' },
      ],
      [
        'empty quiet hours',
        { quietHours: { from: 3, to: 3 } },
        { path: 'quietHours', rule: 'must start and end at different hours (from, to)' },
      ],
      [
        'a quiet hour out of range',
        { quietHours: { from: 22, to: 30 } },
        { path: 'quietHours.to', rule: 'must be a whole number from 0 to 23 (a local hour)' },
      ],
    ];
    it.each(cases)('%s', async (_name, fields, issue) => {
      const email = address();
      const res = await subscribeJson({ email, tags: ['Syria'], cadence: 'daily', ...fields });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorBody).error.issues).toEqual([issue]);
      expect(await subs.subscriber(email)).toBeUndefined();
      expect(await mailTo(rt, email)).toEqual([]);
    });
  });

  it('changes the zone, hour, weekday and quiet hours on the manage page, the digest index following', async () => {
    const { email } = await confirmedSubscriber(['Syria'], 'weekly');
    const { manage } = await linksOf(email);
    const page = await (await browserGet(manage)).text();
    await expectValidHtml(page);
    expect(page).toContain('<option selected>UTC</option>');
    expect(page).toContain('<option value="7" selected>07:00</option>');
    expect(page).toContain('<option value="1" selected>Monday</option>');
    expect(page).toContain('<input type="radio" name="cadence" value="instant">');
    const token = new URL(manage).searchParams.get('token') ?? '';
    clock.advance(60);
    const saved = await rt.request('/api/subscriptions/manage', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams([
        ['token', token],
        ['tags[]', 'syria'],
        ['cadence', 'weekly'],
        ['timeZone', 'Australia/Sydney'],
        ['deliveryHour', '18'],
        ['deliveryWeekday', '5'],
        ['quietHours.from', '23'],
        ['quietHours.to', '6'],
      ]).toString(),
    });
    expect(saved.status).toBe(200);
    const savedHtml = await saved.text();
    await expectValidHtml(savedHtml);
    expect(savedHtml).toContain('<option selected>Australia/Sydney</option>');
    expect(savedHtml).toContain('a weekly digest on Fridays at 18:00 (Australia/Sydney)');
    expect(await subs.subscriber(email)).toMatchObject({
      timeZone: 'Australia/Sydney',
      deliveryHour: 18,
      deliveryWeekday: 5,
      quietHours: { from: 23, to: 6 },
    });
    expect((await subs.rawItem(email))?.[TABLE.digestIndex.sortKey]).toBe(
      `${digestBucket('weekly', 'Australia/Sydney', 18, 5)}${subs.idOf(email)}`,
    );

    // JSON that names only the hour keeps the rest; "none" in both quiet selects clears them.
    clock.advance(60);
    const json = await rt.request(pathOf(manage), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tags: ['syria'], cadence: 'weekly', deliveryHour: 9 }),
    });
    expect(await json.json()).toMatchObject({
      timeZone: 'Australia/Sydney',
      deliveryHour: 9,
      deliveryWeekday: 5,
      quietHours: { from: 23, to: 6 },
      changed: true,
    });
    clock.advance(60);
    await rt.request('/api/subscriptions/manage', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams([
        ['token', token],
        ['tags[]', 'syria'],
        ['cadence', 'instant'],
        ['timeZone', 'Australia/Sydney'],
        ['deliveryHour', '9'],
        ['deliveryWeekday', '5'],
        ['quietHours.from', ''],
        ['quietHours.to', ''],
      ]).toString(),
    });
    const after = await subs.subscriber(email);
    expect(after).toMatchObject({ cadence: 'instant', deliveryHour: 9 });
    expect(after?.quietHours).toBeUndefined();
    expect((await subs.rawItem(email))?.[TABLE.digestIndex.sortKey]).toBeUndefined();
  });
});

describe('SES feedback', () => {
  const feedback = () =>
    handleEmailFeedback({
      store: subs.store,
      tokenSecret: staticTokenSecret(rt.tokenSecret),
      now: clock.now,
    });

  it('suppresses a permanently bouncing address: off the digest index, and no confirmation mail after', async () => {
    const { email } = await confirmedSubscriber();
    expect(await feedback()(snsEventOf(bounceEvent('Permanent', [email.toUpperCase()])))).toEqual({
      suppressed: 1,
    });
    expect(await subs.store.getSuppression(subs.idOf(email))).toEqual({
      reason: 'bounce',
      at: '2026-03-01T10:00:01.250Z',
    });
    expect((await subs.rawItem(email))?.[TABLE.digestIndex.partitionKey]).toBeUndefined();
    const mails = (await mailTo(rt, email)).length;
    clock.advance(CONFIRMATION_RESEND_SECONDS);
    expect((await subscribeJson({ email, tags: ['Iran'], cadence: 'daily' })).status).toBe(202);
    expect(await mailTo(rt, email)).toHaveLength(mails);
  });

  it('suppresses on a complaint, ignores transient bounces, and survives redelivery', async () => {
    const { email } = await confirmedSubscriber();
    const other = (await confirmedSubscriber()).email;
    expect(await feedback()(snsEventOf(bounceEvent('Transient', [other])))).toEqual({ suppressed: 0 });
    expect((await subs.rawItem(other))?.[TABLE.digestIndex.partitionKey]).toBeDefined();
    const event = snsEventOf(complaintEvent([email]));
    expect(await feedback()(event)).toEqual({ suppressed: 1 });
    expect(await feedback()(event)).toEqual({ suppressed: 1 });
    expect((await subs.store.getSuppression(subs.idOf(email)))?.reason).toBe('complaint');
    expect((await subs.rawItem(email))?.[TABLE.digestIndex.partitionKey]).toBeUndefined();
    expect(await feedback()(snsEventOf('not json'))).toEqual({ suppressed: 0 });
  });
});
