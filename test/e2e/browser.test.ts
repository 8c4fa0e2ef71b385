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

const feedLinks = (p: Page) =>
  p.$$eval('link[rel="alternate"]', (links) =>
    links.map((l) => ({ type: l.getAttribute('type'), href: l.getAttribute('href') })),
  );

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [rt, browser] = await Promise.all([startTestRuntime({ loadSamples: true }), launchChromium()]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await rt?.dispose();
});

describe('a reader in a browser', () => {
  it('goes from the home page to a tag to an event, with feeds discoverable on each', async () => {
    await page.goto(`${rt.url}/`);
    expect(await page.title()).toContain('Tidings');
    expect(await feedLinks(page)).toEqual(
      expect.arrayContaining([
        { type: 'application/rss+xml', href: `${rt.url}/feeds/all.rss` },
        { type: 'application/atom+xml', href: `${rt.url}/feeds/all.atom` },
        { type: 'application/feed+json', href: `${rt.url}/feeds/all.json` },
      ]),
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'home.png'), fullPage: true });

    await page.click('a[href="/tags/vladimir-putin.html"]');
    await page.waitForURL(`${rt.url}/tags/vladimir-putin.html`);
    expect(await page.textContent('h1')).toContain('Vladimir Putin');
    expect(await feedLinks(page)).toEqual(
      expect.arrayContaining([
        { type: 'application/rss+xml', href: `${rt.url}/feeds/tags/vladimir-putin.rss` },
      ]),
    );
    expect(await page.$('#subscribe')).not.toBeNull();
    await page.screenshot({ path: join(SCREENSHOTS, 'tag.png'), fullPage: true });

    const seed =
      '/news/2016/11/16/russian-president-vladimir-putin-signs-a-symbolic-order-to-withdraw-russia-s-signature-from-the-rome-statute-of-the-international-criminal-c.html';
    await page.click(`a[href="${seed}"]`);
    await page.waitForURL(`${rt.url}${seed}`);
    expect(await page.textContent('h1')).toContain('Rome Statute');
    const body = (await page.textContent('body')) ?? '';
    expect(body).toContain('Sources');
    expect(body).toContain('The Independent');
    expect(body).toContain('Related');
    expect(body).toContain('Context: Russia, Russian President, Syria, Vladimir Putin');
    expect(await page.getAttribute('link[rel="canonical"]', 'href')).toBe(`${rt.url}${seed}`);
    await page.screenshot({ path: join(SCREENSHOTS, 'event.png'), fullPage: true });

    // Every related link leads to a page that exists.
    const related = await page.$$eval('a[href^="/news/"][href$=".html"]', (as) =>
      as.map((a) => a.getAttribute('href')),
    );
    for (const href of related) expect((await rt.request(href ?? '')).status).toBe(200);
  });

  it('reads the event page on a phone without sideways scrolling or JavaScript', async () => {
    const phone = await browser.newPage({ viewport: { width: 375, height: 740 }, javaScriptEnabled: false });
    await phone.goto(
      `${rt.url}/news/2016/11/16/russian-president-vladimir-putin-signs-a-symbolic-order-to-withdraw-russia-s-signature-from-the-rome-statute-of-the-international-criminal-c.html`,
    );
    // Runs in the page; typed by hand because the project compiles without the DOM library.
    type PageGlobals = { document: { documentElement: { scrollWidth: number; clientWidth: number } } };
    const { scrollWidth, clientWidth } = await phone.evaluate(() => {
      const root = (globalThis as unknown as PageGlobals).document.documentElement;
      return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
    });
    expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    await phone.screenshot({ path: join(SCREENSHOTS, 'event-phone.png'), fullPage: true });
    await phone.close();
  });

  it('follows the autodiscovered feeds to valid responses', async () => {
    await page.goto(`${rt.url}/tags/syria.html`);
    for (const link of await feedLinks(page)) {
      const res = await rt.request(new URL(link.href ?? '').pathname);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(link.type ?? '');
    }
  });
});
