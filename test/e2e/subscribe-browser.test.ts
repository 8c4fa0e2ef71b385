import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOutbox } from '../../local/outbox.js';
import { digestPartition, digestShardOf, TABLE } from '../../shared/keys.js';
import { launchChromium } from '../helpers/browser.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { linkIn, mailTo, seedTopics, subscriptionsOf } from '../helpers/subscriptions.js';

/**
 * A reader subscribes through the form on a tag page and on the home page, in a browser with
 * JavaScript turned off, confirms with the button behind the link in the email the outbox holds, changes the
 * subscription on the manage page, gets a digest of the events posted next (checked as an `.eml`:
 * headers, both parts, links) and nothing on a second run, and leaves with the unsubscribe button.
 */
const SCREENSHOTS = resolve(import.meta.dirname, '../../test-results/screenshots');
let rt: TestRuntime;
let subs: ReturnType<typeof subscriptionsOf>;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const READER = 'reader@example.org';

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [rt, browser] = await Promise.all([startTestRuntime(), launchChromium()]);
  await seedTopics(rt);
  await rt.publish(true);
  subs = subscriptionsOf(rt);
  // No JavaScript: the forms must work as plain HTML.
  context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1024, height: 900 } });
  page = await context.newPage();
}, 240_000);

afterAll(async () => {
  subs?.close();
  await browser?.close();
  await rt?.dispose();
});

const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, name), fullPage: true });

describe('subscribing in a browser', () => {
  it('subscribes from a tag page, confirms from the email, and is on the digest index', async () => {
    await page.goto(`${rt.url}/tags/syria.html`);
    const form = page.locator('#subscribe form');
    expect(await form.getAttribute('method')).toBe('post');
    expect(await form.getAttribute('action')).toBe('/api/subscriptions');
    expect(await form.locator('input[name="tags[]"][value="Syria"]').isChecked()).toBe(true);
    await form.locator('input[name="email"]').fill(READER);
    await form.locator('input[name="cadence"][value="weekly"]').check();
    await shot('subscribe-tag.png');
    await Promise.all([
      page.waitForURL(`${rt.url}/api/subscriptions`),
      form.locator('button[type="submit"]').click(),
    ]);
    expect(await page.textContent('h1')).toBe('Check your inbox');
    expect(await page.textContent('main')).toContain(`If ${READER} can receive email`);
    expect(await subs.subscriber(READER)).toMatchObject({ status: 'pending', cadence: 'weekly' });

    const [confirmation] = await mailTo(rt, READER);
    if (!confirmation) throw new Error('no confirmation email in the outbox');
    expect(confirmation.subject).toBe('Confirm your weekly Tidings digest: Syria');
    expect(confirmation.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    // Following the link (what a mail scanner does too) shows the button and changes nothing.
    await page.goto(linkIn(confirmation, '/api/subscriptions/confirm'));
    expect(await page.textContent('h1')).toBe('Confirm your subscription');
    expect(await subs.subscriber(READER)).toMatchObject({ status: 'pending' });
    await Promise.all([
      page.waitForURL(`${rt.url}/api/subscriptions/confirm`),
      page.click('button:has-text("Confirm my subscription")'),
    ]);
    expect(await page.textContent('h1')).toBe('You are subscribed');
    expect(await page.locator('main li').allTextContents()).toEqual(['Syria']);
    await shot('subscribe-confirmed.png');

    expect(await subs.subscriber(READER)).toMatchObject({
      status: 'confirmed',
      tags: [{ slug: 'syria', name: 'Syria' }],
    });
    expect((await subs.rawItem(READER))?.[TABLE.digestIndex.partitionKey]).toBe(
      digestPartition('weekly', digestShardOf(subs.idOf(READER))),
    );
  });

  it('changes tags and cadence on the manage page reached from the confirmation page', async () => {
    await page.click('a:has-text("Change tags, topics or how often")');
    await page.waitForURL(/\/api\/subscriptions\/manage\?token=/);
    expect(await page.locator('input[name="tags[]"][value="syria"]').isChecked()).toBe(true);
    await page.locator('input[name="tags[]"][value="russia"]').check();
    await page.locator('input[name="cadence"][value="daily"]').check();
    await Promise.all([page.waitForLoadState(), page.click('button:has-text("Save")')]);
    expect(await page.textContent('main')).toContain('Saved.');
    await shot('subscribe-manage.png');
    expect(await subs.subscriber(READER)).toMatchObject({
      cadence: 'daily',
      tags: [
        { slug: 'syria', name: 'Syria' },
        { slug: 'russia', name: 'Russia' },
      ],
    });
  });

  it('subscribes a second reader from the home page by ticking a tag', async () => {
    const other = 'second.reader@example.org';
    await page.goto(`${rt.url}/`);
    const form = page.locator('#subscribe form');
    await form.locator('input[name="email"]').fill(other);
    await form.locator('input[name="tags[]"][value="Russia"]').check();
    await Promise.all([
      page.waitForURL(`${rt.url}/api/subscriptions`),
      form.locator('button[type="submit"]').click(),
    ]);
    expect(await page.textContent('h1')).toBe('Check your inbox');
    const [confirmation] = await mailTo(rt, other);
    if (!confirmation) throw new Error('no confirmation email in the outbox');
    await page.goto(linkIn(confirmation, '/api/subscriptions/confirm'));
    await Promise.all([page.waitForLoadState(), page.click('button:has-text("Confirm my subscription")')]);
    expect(await page.textContent('h1')).toBe('You are subscribed');
    expect(await subs.subscriber(other)).toMatchObject({
      status: 'confirmed',
      cadence: 'daily',
      tags: [{ slug: 'russia', name: 'Russia' }],
    });
  });

  it('gets one digest covering both tags after events are posted, with both parts and every link', async () => {
    const posted = [
      makeEventInput({
        headline: 'Ceasefire holds in Idlib <for now> & talks go on',
        tags: ['Syria', 'Russia'],
      }),
      makeEventInput({ headline: 'Moscow hosts a regional summit', tags: ['Russia'] }),
      makeEventInput({ headline: 'Storm reaches the coast', tags: ['Weather'] }),
    ];
    const res = await rt.write('POST', '/api/events/batch', { events: posted });
    expect(res.status).toBe(200);
    // A correction of an event published before the reader subscribed: in the digest as updated.
    const corrected = await rt.write(
      'PUT',
      '/api/events/2016/11/16/aid-convoy-reaches-aleppo',
      makeEventInput({
        headline: 'Aid convoy reaches Aleppo',
        body: 'The convoy reached the city on Wednesday, the UN said.',
        tags: ['Syria', 'Russia'],
      }),
    );
    expect(corrected.status).toBe(200);
    await rt.capture.idle();
    await rt.publish();
    const before = (await mailTo(rt, READER)).length;

    const report = await rt.digest('daily', { now: true });
    expect(report).toMatchObject({ sent: 2, failed: 0 });
    const mail = await mailTo(rt, READER);
    expect(mail).toHaveLength(before + 1);
    const digest = mail.at(-1);
    if (!digest) throw new Error('no digest in the outbox');

    expect(digest.subject).toMatch(/^3 new and updated events: Syria, Russia$/);
    expect(digest.headers['list-unsubscribe']).toMatch(
      /^<http:\/\/[^>]+\/api\/subscriptions\/unsubscribe\?token=[\w.-]+>$/,
    );
    expect(digest.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(digest.headers['content-type']).toMatch(/^multipart\/alternative/);
    // Both parts carry every event once, as written; the weather event is not the reader's.
    const headlines = [
      'Ceasefire holds in Idlib <for now> & talks go on',
      'Moscow hosts a regional summit',
      'Aid convoy reaches Aleppo',
    ];
    for (const headline of headlines) {
      expect(digest.text.split(headline)).toHaveLength(2);
    }
    expect(digest.text).not.toContain('Storm reaches the coast');
    expect(digest.html).toContain('Ceasefire holds in Idlib &lt;for now&gt; &amp; talks go on');
    expect(digest.html).not.toContain('<for now>');
    expect(digest.text).toContain('Updated');
    // Links: event pages, tag pages and feeds, manage, leave one tag, leave everything.
    expect(digest.text).toContain(`${rt.url}/news/2016/11/16/moscow-hosts-a-regional-summit.html`);
    expect(digest.text).toContain(`${rt.url}/feeds/tags/syria.rss`);
    expect(linkIn(digest, '/api/subscriptions/manage')).toContain(rt.url);
    expect(digest.html).toContain(`${rt.url}/feeds/tags/russia.rss`);

    // The second reader follows Russia only: one email, its two Russia events and the correction.
    const [, secondDigest] = await mailTo(rt, 'second.reader@example.org');
    expect(secondDigest?.subject).toBe('3 new and updated events: Russia');

    // A reader follows a link from the digest to the published event page.
    // No network here: the events' images are outside, so wait for the document, not its images.
    await page.goto(`${rt.url}/local/outbox/${digest.file.replace(/\.eml$/, '.html')}`, {
      waitUntil: 'domcontentloaded',
    });
    await shot('digest-preview.png');
    const eventPage = await page.goto(`${rt.url}/news/2016/11/16/moscow-hosts-a-regional-summit.html`, {
      waitUntil: 'domcontentloaded',
    });
    expect(eventPage?.status()).toBe(200);
    expect(await page.textContent('h1')).toBe('Moscow hosts a regional summit');
  });

  it('sends nothing on a second run: nothing new, never twice', async () => {
    const before = (await listOutbox(rt.outboxDir)).length;
    const report = await rt.digest('daily', { now: true });
    expect(report.sent).toBe(0);
    expect((await listOutbox(rt.outboxDir)).length).toBe(before);
  });

  it('leaves with the button behind the List-Unsubscribe link', async () => {
    const [confirmation] = await mailTo(rt, READER);
    const url = (confirmation?.headers['list-unsubscribe'] ?? '').slice(1, -1);
    await page.goto(url);
    expect(await page.textContent('h1')).toBe('Unsubscribe from everything?');
    // Opening the link changed nothing.
    expect((await subs.subscriber(READER))?.status).toBe('confirmed');
    await Promise.all([page.waitForLoadState(), page.click('button:has-text("Unsubscribe")')]);
    expect(await page.textContent('h1')).toBe('You are unsubscribed');
    await shot('subscribe-unsubscribed.png');
    expect((await subs.subscriber(READER))?.status).toBe('unsubscribed');
    expect((await subs.rawItem(READER))?.[TABLE.digestIndex.partitionKey]).toBeUndefined();
  });

  it('follows a topic label from the home page, and changes tags and topics on the manage page', async () => {
    const third = 'third.reader@example.org';
    await page.goto(`${rt.url}/`);
    const form = page.locator('#subscribe form');
    await form.locator('input[name="email"]').fill(third);
    // Every seeded event is labelled "Russian President".
    await form.locator('input[name="topicLabels[]"][value="Russian President"]').check();
    await Promise.all([
      page.waitForURL(`${rt.url}/api/subscriptions`),
      form.locator('button[type="submit"]').click(),
    ]);
    expect(await page.textContent('main')).toContain('Russian President (topic)');
    const [confirmation] = await mailTo(rt, third);
    if (!confirmation) throw new Error('no confirmation email in the outbox');
    await page.goto(linkIn(confirmation, '/api/subscriptions/confirm'));
    await Promise.all([page.waitForLoadState(), page.click('button:has-text("Confirm my subscription")')]);
    expect(await subs.subscriber(third)).toMatchObject({
      status: 'confirmed',
      tags: [],
      topics: [{ slug: 'russian-president', name: 'Russian President' }],
    });

    await page.click('a:has-text("Change tags, topics or how often")');
    await page.waitForURL(/\/api\/subscriptions\/manage\?token=/);
    const label = page.locator('input[name="topicLabels[]"][value="russian-president"]');
    expect(await label.isChecked()).toBe(true);
    const feed = await page.locator('a:has-text("your digest as a private feed")').getAttribute('href');
    expect(feed).toMatch(/\/api\/subscriptions\/feed\?token=/);
    expect(
      (await rt.request(new URL(feed ?? '', rt.url).pathname + new URL(feed ?? '', rt.url).search)).status,
    ).toBe(200);
    await label.uncheck();
    await page.locator('input[name="tags[]"][value="syria"]').check();
    await Promise.all([page.waitForLoadState(), page.click('button:has-text("Save")')]);
    expect(await page.textContent('main')).toContain('Saved.');
    await shot('subscribe-manage-topics.png');
    expect(await subs.subscriber(third)).toMatchObject({
      tags: [{ slug: 'syria', name: 'Syria' }],
      topics: [],
    });
  });
});
