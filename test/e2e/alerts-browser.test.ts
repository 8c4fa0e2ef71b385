import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { linkIn, mailTo, manualClock, seedTopics, subscriptionsOf } from '../helpers/subscriptions.js';

/**
 * A reader who wants to know at once, in Tokyo: subscribes on a tag page with the instant cadence
 * and their zone (a browser with JavaScript off), confirms, receives an alert in the outbox for an
 * event posted next, its times in their zone, then moves to a daily digest at 18:00 on the manage
 * page the alert links to.
 */
const SCREENSHOTS = resolve(import.meta.dirname, '../../test-results/screenshots');
const READER = 'tokyo.reader@example.org';
const clock = manualClock('2026-03-02T09:00:00.000Z');
let rt: TestRuntime;
let subs: ReturnType<typeof subscriptionsOf>;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [rt, browser] = await Promise.all([
    startTestRuntime({ now: clock.now, alertIntervalMs: 0 }),
    launchChromium(),
  ]);
  await seedTopics(rt);
  await rt.publish(true);
  // The seeded changes reach the alert queue before anyone follows.
  await rt.alerts();
  subs = subscriptionsOf(rt);
  context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1024, height: 900 } });
  page = await context.newPage();
}, 240_000);

afterAll(async () => {
  subs?.close();
  await browser?.close();
  await rt?.dispose();
});

describe('alerts as it happens, chosen in a browser', () => {
  it('subscribes with the instant cadence and a zone, and confirms', async () => {
    await page.goto(`${rt.url}/tags/syria.html`);
    const form = page.locator('#subscribe form');
    await form.locator('input[name="email"]').fill(READER);
    await form.locator('input[name="cadence"][value="instant"]').check();
    await form.locator('select[name="timeZone"]').selectOption({ label: 'Asia/Tokyo' });
    await Promise.all([
      page.waitForURL(`${rt.url}/api/subscriptions`),
      form.locator('button[type="submit"]').click(),
    ]);
    expect(await page.textContent('h1')).toBe('Check your inbox');
    const [confirmation] = await mailTo(rt, READER);
    if (!confirmation) throw new Error('no confirmation email in the outbox');
    await page.goto(linkIn(confirmation, '/api/subscriptions/confirm'));
    await Promise.all([page.waitForLoadState(), page.click('button:has-text("Confirm my subscription")')]);
    expect(await page.textContent('h1')).toBe('You are subscribed');
    await page.screenshot({ path: join(SCREENSHOTS, 'alerts-confirmed.png'), fullPage: true });
    expect(await subs.subscriber(READER)).toMatchObject({
      status: 'confirmed',
      cadence: 'instant',
      timeZone: 'Asia/Tokyo',
      tags: [{ slug: 'syria', name: 'Syria' }],
    });
  });

  it('receives an alert in the outbox for the next event, its time in Tokyo', async () => {
    const res = await rt.write(
      'POST',
      '/api/events',
      makeEventInput({ headline: 'Aid reaches Aleppo', tags: ['Syria'] }),
    );
    expect(res.status).toBe(201);
    await rt.alerts();
    // A lone event waits a short gather for others, then goes within the minute.
    clock.advance(30);
    await rt.alerts();
    const mail = await mailTo(rt, READER);
    const alert = mail.at(-1);
    expect(mail).toHaveLength(2);
    expect(alert?.subject).toBe('Aid reaches Aleppo');
    expect(alert?.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    // 09:00 UTC is 18:00 in Tokyo.
    expect(alert?.text).toContain('(Asia/Tokyo)');
    expect(alert?.text).toMatch(/18:0\d/);
  });

  it('changes to a daily digest at 18:00 on the manage page the alert links to', async () => {
    const alert = (await mailTo(rt, READER)).at(-1);
    if (!alert) throw new Error('no alert in the outbox');
    await page.goto(linkIn(alert, '/api/subscriptions/manage'));
    expect(await page.locator('input[name="cadence"][value="instant"]').isChecked()).toBe(true);
    await page.locator('input[name="cadence"][value="daily"]').check();
    await page.locator('select[name="deliveryHour"]').selectOption({ label: '18:00' });
    await Promise.all([page.waitForLoadState(), page.click('button:has-text("Save")')]);
    expect(await page.textContent('main')).toContain('Saved.');
    await page.screenshot({ path: join(SCREENSHOTS, 'alerts-manage.png'), fullPage: true });
    expect(await subs.subscriber(READER)).toMatchObject({
      cadence: 'daily',
      deliveryHour: 18,
      timeZone: 'Asia/Tokyo',
    });
  });
});
