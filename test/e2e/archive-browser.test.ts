import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const SCREENSHOTS = resolve(import.meta.dirname, '../../test-results/screenshots');
let rt: TestRuntime;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [rt, browser] = await Promise.all([startTestRuntime({ loadSamples: true }), launchChromium()]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await rt?.dispose();
});

describe('a reader going through the archive', () => {
  it('goes from the home page to a topic label, to a month, to a day, and back up to the year', async () => {
    await page.goto(`${rt.url}/`);
    // Every topic label has a page, listed on the topics index the home page links to.
    expect((await rt.request('/topics/index.html')).status).toBe(200);
    expect(await page.$('#topics ~ p a[href="/topics/index.html"]')).not.toBeNull();
    const topic = '/topics/politics-and-elections.html';
    await page.click(`#topics ~ ul a[href="${topic}"]`);
    await page.waitForURL(`${rt.url}${topic}`);
    expect(await page.textContent('h1')).toBe('Politics and elections');
    expect(
      await page.getAttribute(
        'link[rel="alternate"][type="application/atom+xml"][title^="Politics"]',
        'href',
      ),
    ).toBe(`${rt.url}/feeds/topics/politics-and-elections.atom`);
    // Its feeds exist, and so does the archive of each month it lists.
    expect((await rt.request('/feeds/topics/politics-and-elections.rss')).status).toBe(200);
    const archives = await page.$$eval('#history-heading ~ ul a[type="application/atom+xml"]', (as) =>
      as.map((a) => a.getAttribute('href') ?? ''),
    );
    expect(archives.length).toBeGreaterThan(1);
    for (const href of archives) expect((await rt.request(href.slice(rt.url.length))).status).toBe(200);
    await page.screenshot({ path: join(SCREENSHOTS, 'topic.png'), fullPage: true });

    const month = '/news/2016/11/index.html';
    await page.click(`#history-heading ~ ul a[href="${month}"]`);
    await page.waitForURL(`${rt.url}${month}`);
    expect(await page.textContent('h1')).toBe('Events of 2016-11');
    const body = (await page.textContent('main')) ?? '';
    expect(body).toContain('Rome Statute');
    await page.screenshot({ path: join(SCREENSHOTS, 'month.png'), fullPage: true });

    const day = '/news/2016/11/16/index.html';
    await page.click(`main h2 a[href="${day}"]`);
    await page.waitForURL(`${rt.url}${day}`);
    expect(await page.textContent('h1')).toBe('Events of 2016-11-16');
    // The days around it with events, and its month.
    const prev = await page.getAttribute('nav.period a[rel="prev"]', 'href');
    const next = await page.getAttribute('nav.period a[rel="next"]', 'href');
    for (const href of [prev, next]) {
      expect(href).toMatch(/^\/news\/\d{4}\/\d\d\/\d\d\/index\.html$/);
      expect((await rt.request(href ?? '')).status).toBe(200);
    }
    expect((prev ?? '') < day && day < (next ?? '')).toBe(true);

    await page.click(`nav.period a[href="${month}"]`);
    await page.waitForURL(`${rt.url}${month}`);
    await page.click('nav.period a[href="/news/2016/index.html"]');
    await page.waitForURL(`${rt.url}/news/2016/index.html`);
    expect(await page.textContent('h1')).toBe('Events of 2016');
    expect(await page.textContent('main')).toContain('2016-11 (');
  });
});
