import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HtmlValidate } from 'html-validate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_FOUND_PAGE } from '../../shared/domain/site.js';
import { BUILT_IN_NOT_FOUND_PAGE } from '../../shared/render/not-found.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime();
});

afterAll(async () => {
  await rt?.dispose();
});

const expectJsonNotFound = async (res: Response) => {
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await res.json()).toEqual({ message: 'Not Found' });
};

describe('an unknown address on the local server', () => {
  it('is a bare HTML 404 page before anything is published, valid HTML5', async () => {
    const res = await rt.request('/news/2099/01/01/nothing.html');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toBe(BUILT_IN_NOT_FOUND_PAGE);
    const report = await new HtmlValidate({ extends: ['html-validate:recommended'] }).validateString(html);
    expect(report.results.flatMap((r) => r.messages.map((m) => `${m.ruleId}: ${m.message}`))).toEqual([]);
  });

  describe('once the site is published', () => {
    let page: string;
    beforeAll(async () => {
      const res = await rt.write('POST', '/api/events', makeEventInput({ headline: 'Not found test one' }));
      expect(res.status).toBe(201);
      await rt.capture.idle();
      await rt.publish();
      page = readFileSync(join(rt.siteDir, NOT_FOUND_PAGE), 'utf8');
    });

    it.each([
      '/news/2099/01/01/nothing.html',
      '/no-such-folder/',
      '/tags/no-such-tag.html',
      '/feeds/nothing.xml',
    ])('answers the site’s own 404 page, as HTML with status 404: %s', async (path) => {
      const res = await rt.request(path);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await res.text();
      expect(html).toBe(page);
      expect(html).toContain('<h1>Page not found</h1>');
      // The site's layout: its navigation, not the bare built-in page.
      expect(html).toContain('<a href="/tags/index.html">All tags</a>');
    });

    it('answers the publisher’s records with the 404 page, never the record', async () => {
      const res = await rt.request('/_publish/feeds/all.json');
      expect(res.status).toBe(404);
      expect(await res.text()).toBe(page);
    });

    it('answers a HEAD with the status and type and no body', async () => {
      const res = await rt.request('/no-such-page.html', { method: 'HEAD' });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toBe('');
    });

    it('still serves the pages that exist', async () => {
      const res = await rt.request('/');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    });
  });

  it.each([
    ['GET', '/api/no-such-route'],
    ['GET', '/api'],
    ['GET', '/api/webhooks/some-id/more'],
    ['DELETE', '/api/tags'],
    ['GET', '/local/no-such-tool'],
    ['POST', '/local/no-such-tool'],
  ])('keeps the API’s JSON 404 for %s %s', async (method, path) => {
    await expectJsonNotFound(await rt.request(path, { method }));
  });

  it('keeps a function’s own JSON error for a missing event', async () => {
    const res = await rt.request('/api/events/2099/01/01/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ error: { code: expect.any(String) } });
  });

  it('answers a route the API knows but with a method it does not as the API does', async () => {
    // API Gateway: a route key that does not match is a 404 `{"message":"Not Found"}` too.
    await expectJsonNotFound(await rt.request('/api/tags', { method: 'PUT' }));
  });
});
