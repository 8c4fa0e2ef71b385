import { parseFeed } from '@rowanmanning/feed-parser';
import type { Context } from 'aws-lambda';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeHandler } from '../../functions/get-subscriber-feed.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import { subscriberLinks } from '../../shared/domain/tokens.js';
import type { ApiEvent } from '../../shared/http.js';
import { logger } from '../../shared/logger.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import {
  linkIn,
  mailTo,
  manualClock,
  pathOf,
  seedTopics,
  subscriptionsOf,
} from '../helpers/subscriptions.js';
import { textOf, type XmlNode, xmlParser } from '../helpers/xml.js';

const clock = manualClock('2026-03-02T09:00:00.000Z');
let rt: TestRuntime;
let subs: ReturnType<typeof subscriptionsOf>;
const READER = 'feed.reader@example.org';
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const post = async (input: Record<string, unknown>) => {
  const res = await rt.write('POST', '/api/events', input);
  if (res.status !== 201) throw new Error(`post failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
};

/** The reader's links as an email made now would carry them. */
const linksNow = async () => {
  const stored = await subs.subscriber(READER);
  if (!stored) throw new Error('no subscriber');
  return subscriberLinks(subs.keys, rt.url, stored, Math.floor(Date.parse(clock.now()) / 1000));
};

const permalink = (id: string) => `${rt.url}/news/${id}.html`;
let expected: string[] = [];

beforeAll(async () => {
  rt = await startTestRuntime({ now: clock.now, signupPolicy: { clientPerHour: 1000 } });
  // Three events tagged Syria or Russia, every one labelled "Russian President".
  await seedTopics(rt);
  subs = subscriptionsOf(rt);
  const signup = await rt.request('/api/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: READER,
      tags: ['Syria'],
      topicLabels: ['Russian President'],
      cadence: 'weekly',
    }),
  });
  expect(signup.status).toBe(202);
  const [message] = await mailTo(rt, READER);
  const confirm = linkIn(message as never, '/api/subscriptions/confirm');
  expect((await rt.request(pathOf(confirm), { method: 'POST' })).status).toBe(200);
  clock.advance(60);
  const bySyria = await post(
    makeEventInput({ headline: 'Syria tag, other label', tags: ['Syria'], topic: 'Sports' }),
  );
  await post(makeEventInput({ headline: 'Neither tag nor label', tags: ['Iran'], topic: 'Sports' }));
  await rt.capture.idle();
  const seeded = await rt.request('/api/events?limit=20');
  const all = (
    (await seeded.json()) as { events: { id: string; topic?: string; tags: { slug: string }[] }[] }
  ).events;
  expected = all
    .filter((e) => e.topic === 'Russian President' || e.tags.some((t) => t.slug === 'syria'))
    .map((e) => permalink(e.id));
  expect(expected).toContain(permalink(bySyria));
  expect(expected).toHaveLength(4);
}, 60_000);
afterAll(async () => {
  subs?.close();
  await rt?.dispose();
});

describe('GET /api/subscriptions/feed: the digest as a private Atom feed', () => {
  it('is valid Atom of the reader’s tags and topics, each event once, kept privately a few minutes', async () => {
    const { feed } = await linksNow();
    expect(feed).toMatch(new RegExp(`^${rt.url}/api/subscriptions/feed\\?token=[\\w.-]+$`));
    const res = await rt.request(pathOf(feed));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/atom+xml; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('private, max-age=300');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const xml = await res.text();
    expect(XMLValidator.validate(xml)).toBe(true);

    const parsed = parseFeed(xml);
    expect(parsed.meta.type).toBe('atom');
    expect(parsed.title).toBe('Tidings: your digest');
    expect(parsed.self).toBe(feed);
    expect(parsed.items.map((i) => i.id).sort()).toEqual([...expected].sort());
    expect(parsed.items.map((i) => i.url).sort()).toEqual([...expected].sort());

    // The format assertions of the site's Atom feeds.
    const doc: XmlNode = xmlParser.parse(xml).feed;
    expect(doc['@_xmlns']).toBe('http://www.w3.org/2005/Atom');
    expect(doc['@_xml:lang']).toBe('en');
    expect(textOf(doc.id)).toMatch(/^urn:tidings:private-feed:[0-9a-f]{32}$/);
    expect(textOf(doc.updated)).toMatch(RFC_3339);
    const links: XmlNode[] = doc.link;
    expect(links.filter((l) => l['@_rel'] === 'self')).toEqual([
      { '@_rel': 'self', '@_type': 'application/atom+xml', '@_href': feed },
    ]);
    // Atom only: no sibling formats to point at.
    expect(links.filter((l) => l['@_rel'] === 'alternate').map((l) => l['@_type'])).toEqual(['text/html']);
    const entries: XmlNode[] = doc.entry;
    for (const entry of entries) {
      expect(textOf(entry.updated)).toMatch(RFC_3339);
      expect(textOf(entry.title)).not.toBe('');
    }
    const updated = entries.map((e) => textOf(e.updated));
    expect(updated).toEqual([...updated].sort().reverse());

    // The same feed id whatever link reads it: a fresh link in each digest keeps the reader's state.
    clock.advance(60);
    const again = parseFeed(await (await rt.request(pathOf((await linksNow()).feed))).text());
    expect(textOf(xmlParser.parse(await (await rt.request(pathOf(feed))).text()).feed.id)).toBe(
      textOf(doc.id),
    );
    expect(again.items.map((i) => i.id).sort()).toEqual([...expected].sort());
  });

  it('is linked from the manage page and the digest email', async () => {
    const { manage } = await linksNow();
    const page = await (await rt.request(pathOf(manage), { headers: { accept: 'text/html' } })).text();
    const href =
      /<a href="([^"]+\/api\/subscriptions\/feed\?token=[^"]+)">your digest as a private feed<\/a>/.exec(
        page,
      )?.[1];
    expect(href).toBeDefined();
    expect((await rt.request(pathOf((href ?? '').replaceAll('&amp;', '&')))).status).toBe(200);

    clock.advance(3600);
    expect((await rt.digest('weekly', { now: true })).sent).toBe(1);
    const digest = (await mailTo(rt, READER)).find((m) => /new events?/.test(m.subject ?? ''));
    const inDigest = digest?.text?.match(/private feed: do not share it\): (\S+)/)?.[1];
    expect(inDigest).toMatch(/\/api\/subscriptions\/feed\?token=/);
  });

  it('serves a reader of alerts as they happen, in a zone of their own, the same week of their tags and topics', async () => {
    const reader = 'instant.reader@example.org';
    const signup = await rt.request('/api/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: reader,
        tags: ['Syria'],
        topicLabels: ['Russian President'],
        cadence: 'instant',
        timeZone: 'Asia/Tokyo',
        quietHours: { from: 22, to: 7 },
      }),
    });
    expect(signup.status).toBe(202);
    const confirm = linkIn((await mailTo(rt, reader))[0] as never, '/api/subscriptions/confirm');
    expect((await rt.request(pathOf(confirm), { method: 'POST' })).status).toBe(200);
    const stored = await subs.subscriber(reader);
    expect(stored).toMatchObject({
      cadence: 'instant',
      timeZone: 'Asia/Tokyo',
      quietHours: { from: 22, to: 7 },
    });
    const { feed } = subscriberLinks(
      subs.keys,
      rt.url,
      stored as NonNullable<typeof stored>,
      Math.floor(Date.parse(clock.now()) / 1000),
    );
    const res = await rt.request(pathOf(feed));
    expect(res.status).toBe(200);
    expect(
      parseFeed(await res.text())
        .items.map((i) => i.id)
        .sort(),
    ).toEqual([...expected].sort());
  });

  it('takes only feed links: an email link is refused there, and a feed link is no email link', async () => {
    const { feed, manage } = await linksNow();
    const manageToken = new URL(manage).searchParams.get('token') ?? '';
    const feedToken = new URL(feed).searchParams.get('token') ?? '';
    expect((await rt.request(`/api/subscriptions/feed?token=${manageToken}`)).status).toBe(403);
    expect(
      (
        await rt.request(`/api/subscriptions/manage?token=${feedToken}`, {
          headers: { accept: 'application/json' },
        })
      ).status,
    ).toBe(403);
    const missing = await rt.request('/api/subscriptions/feed');
    expect(missing.status).toBe(400);
    expect(missing.headers.get('cache-control')).toBe('no-store');
    expect((await rt.request(`${pathOf(feed)}&extra=1`)).status).toBe(400);
  });

  it('never writes its token to a log, when it serves and when it fails', async () => {
    const { feed } = await linksNow();
    const token = new URL(feed).searchParams.get('token') ?? '';
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
    logger.setLogLevel('DEBUG');
    try {
      // Served, and a failure of the store behind it (logged with its route and path).
      const failing = makeHandler({
        store: subs.store,
        tokenSecret: () => Promise.resolve(subs.keys),
        site: defaultSiteConfig(rt.url),
        now: clock.now,
        changes: { windowChanges: () => Promise.reject(new Error('the change log is unreachable')) },
      });
      const event = {
        version: '2.0',
        routeKey: 'GET /api/subscriptions/feed',
        rawPath: '/api/subscriptions/feed',
        rawQueryString: `token=${token}`,
        queryStringParameters: { token },
        headers: {},
        requestContext: {
          http: { method: 'GET', path: '/api/subscriptions/feed', sourceIp: '192.0.2.1' },
          requestId: 'r-1',
          routeKey: 'GET /api/subscriptions/feed',
        },
        isBase64Encoded: false,
      } as unknown as ApiEvent;
      const result = await failing(event, lambdaContext('get-subscriber-feed') as Context);
      expect(result.statusCode).toBe(500);
      expect((await rt.request(pathOf(feed))).status).toBe(200);
    } finally {
      logger.setLogLevel('SILENT');
      out.mockRestore();
      err.mockRestore();
    }
    const log = written.join('');
    expect(log).toContain('request failed');
    expect(log).toContain('/api/subscriptions/feed');
    expect(log).not.toContain(token);
    expect(log).not.toContain(token.split('.')[1]);
  });

  it('stops working when the reader signs out all their links', async () => {
    const { feed, manage } = await linksNow();
    expect((await rt.request(pathOf(feed))).status).toBe(200);
    const out = await rt.request('/api/subscriptions/sign-out', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token: new URL(manage).searchParams.get('token') ?? '' }).toString(),
    });
    expect(out.status).toBe(200);
    const gone = await rt.request(pathOf(feed));
    expect(gone.status).toBe(410);
    expect(gone.headers.get('cache-control')).toBe('no-store');
    // The next email's link works.
    expect((await rt.request(pathOf((await linksNow()).feed))).status).toBe(200);
  });
});
