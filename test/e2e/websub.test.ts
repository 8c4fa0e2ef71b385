import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { operatorWebSubView } from '../../shared/adapters/websub-store.js';
import { LEASE } from '../../shared/domain/websub.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/**
 * The hub against a real subscriber: a node:http server on this machine, as a feed reader on the
 * developer's laptop would be. Time is the runtime's own clock, moved by the test, so leases and
 * the retry schedule (over an hour) run in milliseconds.
 */

interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The runtime's clock when it arrived. */
  at: number;
}

/** How the subscriber answers, per callback path. */
interface Behaviour {
  /** `echo` confirms intent; `deny` answers 404; `wrong` answers 200 with another body. */
  verify: 'echo' | 'deny' | 'wrong';
  /** The status of its answer to a delivery. */
  deliver: number;
}

let clock = Date.parse('2026-12-06T06:00:00.000Z');
const now = () => new Date(clock).toISOString();
const advance = (seconds: number) => {
  clock += seconds * 1000;
};

const startSubscriber = async () => {
  const received: Received[] = [];
  const behaviour = new Map<string, Behaviour>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      received.push({
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: clock,
      });
      const how = behaviour.get(url.pathname) ?? { verify: 'echo', deliver: 200 };
      if (req.method === 'GET') {
        if (how.verify === 'deny') return res.writeHead(404).end('no');
        const challenge = url.searchParams.get('hub.challenge') ?? '';
        return res.writeHead(200).end(how.verify === 'echo' ? challenge : `${challenge}x`);
      }
      res.writeHead(how.deliver).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    behaviour,
    at: (path: string) => received.filter((r) => r.path === path),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
};

type Subscriber = Awaited<ReturnType<typeof startSubscriber>>;

let rt: TestRuntime;
let sub: Subscriber;
const hubRequest = (fields: Record<string, string>, runtime = rt) =>
  runtime.request('/api/websub', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
const topicUrl = (path: string, runtime = rt) => `${runtime.url}/${path}`;

const postEvent = async (overrides: Record<string, unknown>) => {
  const res = await rt.write('POST', '/api/events', makeEventInput(overrides));
  expect(res.status).toBe(201);
  await rt.capture.idle();
};

/** A publish run, then the hub's queue worked through. */
const publishAndDistribute = async () => {
  const report = await rt.publish();
  await rt.hub.drain();
  return report;
};

const view = async (runtime = rt) => {
  const db = createDocumentClient({ endpoint: runtime.dynamodbEndpoint });
  try {
    return await operatorWebSubView(db, 'tidings', Math.floor(clock / 1000));
  } finally {
    db.destroy();
  }
};

beforeAll(async () => {
  sub = await startSubscriber();
  rt = await startTestRuntime({ now });
  await postEvent({ headline: 'First event for the hub', tags: ['Russia'] });
  await rt.publish();
});

afterAll(async () => {
  await rt?.dispose();
  await sub?.close();
});

beforeEach(() => {
  sub.received.length = 0;
});

describe('the WebSub hub, against a real subscriber', () => {
  it('round trip: subscribe, verify, post an event, publish, signed delivery', async () => {
    const log: string[] = [];
    const secret = 'a reader secret';
    const callback = `${sub.base}/round-trip?reader=42`;
    const res = await hubRequest({
      'hub.mode': 'subscribe',
      'hub.topic': topicUrl('feeds/all.atom'),
      'hub.callback': callback,
      'hub.lease_seconds': '86400',
      'hub.secret': secret,
    });
    expect(res.status).toBe(202);
    log.push(`POST /api/websub hub.mode=subscribe hub.topic=${topicUrl('feeds/all.atom')} → ${res.status}`);
    await rt.hub.drain();

    const [verification] = sub.at('/round-trip');
    expect(verification?.method).toBe('GET');
    // The callback's own query is kept; the hub's parameters are added.
    expect(verification?.query.get('reader')).toBe('42');
    expect(verification?.query.get('hub.mode')).toBe('subscribe');
    expect(verification?.query.get('hub.topic')).toBe(topicUrl('feeds/all.atom'));
    expect(verification?.query.get('hub.lease_seconds')).toBe('86400');
    expect(verification?.query.get('hub.challenge')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    log.push(
      `GET  ${verification?.path}?reader=42&hub.mode=subscribe&hub.challenge=… → the reader echoes the challenge: active`,
    );
    const active = (await view()).subscriptions.find((s) => s.callback === `${sub.base}/round-trip`);
    expect(active).toMatchObject({ topic: 'feeds/all.atom', state: 'active', signed: true });
    // Listings never show the secret nor the callback's query.
    expect(JSON.stringify(await view())).not.toContain(secret);
    expect(JSON.stringify(await view())).not.toContain('reader=42');

    sub.received.length = 0;
    await postEvent({ headline: 'Second event pushed to readers', tags: ['Syria'] });
    log.push('POST /api/events "Second event pushed to readers" → 201');
    const report = await publishAndDistribute();
    log.push(`publish: ${report.written} objects written`);
    const deliveries = sub.at('/round-trip').filter((r) => r.method === 'POST');
    expect(deliveries).toHaveLength(1);
    const [delivery] = deliveries as [Received];
    const onDisk = readFileSync(join(rt.siteDir, 'feeds/all.atom'));
    expect(delivery.body.equals(onDisk)).toBe(true);
    expect(delivery.body.toString('utf8')).toContain('Second event pushed to readers');
    expect(delivery.query.get('reader')).toBe('42');
    expect(delivery.headers['content-type']).toBe('application/atom+xml; charset=utf-8');
    expect(delivery.headers.link).toBe(
      `<${rt.url}/api/websub>; rel="hub", <${topicUrl('feeds/all.atom')}>; rel="self"`,
    );
    const expected = `sha256=${createHmac('sha256', secret).update(onDisk).digest('hex')}`;
    expect(delivery.headers['x-hub-signature']).toBe(expected);
    log.push(
      `POST ${delivery.path}?reader=42 Content-Type: ${delivery.headers['content-type']}`,
      `     Link: ${delivery.headers.link}`,
      `     X-Hub-Signature: ${delivery.headers['x-hub-signature']} (HMAC-SHA256 of the ${delivery.body.length}-byte body: verified)`,
    );
    console.log(`WebSub round trip:\n  ${log.join('\n  ')}`);

    // Feeds that did not change are not sent: a run with nothing to do delivers nothing.
    sub.received.length = 0;
    await publishAndDistribute();
    expect(sub.at('/round-trip')).toEqual([]);
  });

  it('every feed names the hub and itself; deliveries of RSS and JSON Feed carry their own types', async () => {
    const rss = readFileSync(join(rt.siteDir, 'feeds/tags/russia.rss'), 'utf8');
    expect(rss).toContain(`<atom:link href="${rt.url}/api/websub" rel="hub"/>`);
    expect(rss).toContain(
      `<atom:link href="${rt.url}/feeds/tags/russia.rss" rel="self" type="application/rss+xml"/>`,
    );
    const json = JSON.parse(readFileSync(join(rt.siteDir, 'feeds/tags/russia.json'), 'utf8'));
    expect(json.hubs).toEqual([{ type: 'WebSub', url: `${rt.url}/api/websub` }]);

    for (const path of ['feeds/tags/russia.rss', 'feeds/tags/russia.json']) {
      expect(
        (
          await hubRequest({
            'hub.mode': 'subscribe',
            'hub.topic': topicUrl(path),
            'hub.callback': `${sub.base}/formats`,
          })
        ).status,
      ).toBe(202);
    }
    await rt.hub.drain();
    sub.received.length = 0;
    await postEvent({ headline: 'Another Russia event', tags: ['Russia'] });
    await publishAndDistribute();
    const types = sub
      .at('/formats')
      .filter((r) => r.method === 'POST')
      .map((r) => r.headers['content-type'])
      .sort();
    expect(types).toEqual(['application/feed+json; charset=utf-8', 'application/rss+xml; charset=utf-8']);
    // No secret given: no signature.
    expect(sub.at('/formats').every((r) => r.headers['x-hub-signature'] === undefined)).toBe(true);
  });

  it('a callback that does not echo the challenge is not subscribed, and gets nothing', async () => {
    sub.behaviour.set('/denies', { verify: 'deny', deliver: 200 });
    sub.behaviour.set('/wrong', { verify: 'wrong', deliver: 200 });
    for (const path of ['/denies', '/wrong'])
      expect(
        (
          await hubRequest({
            'hub.mode': 'subscribe',
            'hub.topic': topicUrl('feeds/all.rss'),
            'hub.callback': `${sub.base}${path}`,
          })
        ).status,
      ).toBe(202);
    await rt.hub.drain();
    expect(sub.at('/denies').map((r) => r.method)).toEqual(['GET']);
    expect(sub.at('/wrong').map((r) => r.method)).toEqual(['GET']);
    const callbacks = (await view()).subscriptions.map((s) => s.callback);
    expect(callbacks).not.toContain(`${sub.base}/denies`);
    expect(callbacks).not.toContain(`${sub.base}/wrong`);
    await postEvent({ headline: 'An event the deniers never get', tags: ['Syria'] });
    await publishAndDistribute();
    expect(sub.at('/denies').filter((r) => r.method === 'POST')).toEqual([]);
    expect(sub.at('/wrong').filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('unsubscribing is verified: a confirmed unsubscribe ends deliveries, a denied one changes nothing', async () => {
    const callback = `${sub.base}/leaving`;
    const topic = topicUrl('feeds/all.json');
    await hubRequest({ 'hub.mode': 'subscribe', 'hub.topic': topic, 'hub.callback': callback });
    await rt.hub.drain();
    expect((await view()).subscriptions.some((s) => s.callback === callback)).toBe(true);

    // Someone else asks to unsubscribe the reader; the reader does not confirm.
    sub.behaviour.set('/leaving', { verify: 'deny', deliver: 200 });
    expect(
      (await hubRequest({ 'hub.mode': 'unsubscribe', 'hub.topic': topic, 'hub.callback': callback })).status,
    ).toBe(202);
    await rt.hub.drain();
    const denied = sub.at('/leaving').at(-1);
    expect(denied?.query.get('hub.mode')).toBe('unsubscribe');
    expect(denied?.query.has('hub.lease_seconds')).toBe(false);
    expect((await view()).subscriptions.some((s) => s.callback === callback && s.state === 'active')).toBe(
      true,
    );

    sub.behaviour.set('/leaving', { verify: 'echo', deliver: 200 });
    await hubRequest({ 'hub.mode': 'unsubscribe', 'hub.topic': topic, 'hub.callback': callback });
    await rt.hub.drain();
    expect((await view()).subscriptions.some((s) => s.callback === callback)).toBe(false);
    sub.received.length = 0;
    await postEvent({ headline: 'After leaving', tags: ['Syria'] });
    await publishAndDistribute();
    expect(sub.at('/leaving')).toEqual([]);
  });

  it('sends nothing for an unsubscribe of a callback not subscribed, nor again for a request already pending', async () => {
    const topic = topicUrl('feeds/all.rss');
    expect(
      (
        await hubRequest({
          'hub.mode': 'unsubscribe',
          'hub.topic': topic,
          'hub.callback': `${sub.base}/stranger`,
        })
      ).status,
    ).toBe(202);
    for (let i = 0; i < 3; i++)
      expect(
        (
          await hubRequest({
            'hub.mode': 'subscribe',
            'hub.topic': topic,
            'hub.callback': `${sub.base}/eager`,
          })
        ).status,
      ).toBe(202);
    await rt.hub.drain();
    expect(sub.at('/stranger')).toEqual([]);
    expect(sub.at('/eager').map((r) => r.method)).toEqual(['GET']);
  });

  it('a lease expires (reads ignore it before any TTL sweep), and renewing extends it', async () => {
    const topic = topicUrl('feeds/tags/syria.atom');
    const short = `${sub.base}/short-lease`;
    const renewed = `${sub.base}/renewed`;
    for (const callback of [short, renewed])
      await hubRequest({
        'hub.mode': 'subscribe',
        'hub.topic': topic,
        'hub.callback': callback,
        'hub.lease_seconds': String(LEASE.minSeconds),
      });
    await rt.hub.drain();
    advance(LEASE.minSeconds - 600);
    // Renewed ten minutes before it lapses: a new lease of a day from now, verified again.
    await hubRequest({
      'hub.mode': 'subscribe',
      'hub.topic': topic,
      'hub.callback': renewed,
      'hub.lease_seconds': '86400',
    });
    await rt.hub.drain();
    expect(sub.at('/renewed').filter((r) => r.method === 'GET')).toHaveLength(2);
    advance(601);

    const live = (await view()).subscriptions.map((s) => s.callback);
    expect(live).not.toContain(short);
    expect(live).toContain(renewed);
    sub.received.length = 0;
    await postEvent({ headline: 'After the short lease lapsed', tags: ['Syria'] });
    await publishAndDistribute();
    expect(sub.at('/short-lease')).toEqual([]);
    expect(sub.at('/renewed').filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('retries a failing delivery with backoff, 7 attempts over more than an hour, then drops it and records it', async () => {
    const callback = `${sub.base}/failing?token=hidden`;
    sub.behaviour.set('/failing', { verify: 'echo', deliver: 503 });
    await hubRequest({
      'hub.mode': 'subscribe',
      'hub.topic': topicUrl('feeds/tags/nepal.atom', rt),
      'hub.callback': callback,
    }).then((res) => expect(res.status).toBe(400));
    // Nepal has no feed yet: publish one first.
    await postEvent({ headline: 'Nepal event one', tags: ['Nepal'] });
    await rt.publish();
    await hubRequest({
      'hub.mode': 'subscribe',
      'hub.topic': topicUrl('feeds/tags/nepal.atom'),
      'hub.callback': callback,
    });
    await rt.hub.drain();
    await postEvent({ headline: 'Nepal event two', tags: ['Nepal'] });
    const start = clock;
    await publishAndDistribute();
    // Move time forward a minute at a time, working the queue, for two hours.
    for (let minute = 0; minute < 120; minute++) {
      advance(60);
      await rt.hub.drain();
    }
    const attempts = sub.at('/failing').filter((r) => r.method === 'POST');
    expect(attempts).toHaveLength(7);
    const minutes = attempts.map((a) => Math.round((a.at - start) / 60_000));
    expect(minutes).toEqual([0, 1, 6, 21, 36, 51, 66]);
    // Backoff: each wait at least as long as the one before.
    const waits = minutes.slice(1).map((m, i) => m - (minutes[i] as number));
    expect(waits).toEqual([...waits].sort((a, b) => a - b));
    expect(rt.hub.queue.size).toBe(0);
    const failures = (await view()).failures.filter((f) => f.callback === `${sub.base}/failing`);
    expect(failures).toEqual([
      expect.objectContaining({ topic: 'feeds/tags/nepal.atom', attempts: 7, reason: 'answered 503' }),
    ]);
    expect(JSON.stringify(failures)).not.toContain('hidden');
  });
});

describe('bad input: 4xx naming the field and the rule, and nothing written or sent', () => {
  const good = () => ({
    'hub.mode': 'subscribe',
    'hub.topic': topicUrl('feeds/all.atom'),
    'hub.callback': `${sub.base}/bad-input`,
  });
  it.each([
    ['hub.mode', { 'hub.mode': 'publish' }, 'must be subscribe or unsubscribe'],
    [
      'hub.topic',
      { 'hub.topic': 'https://elsewhere.example/feeds/all.atom' },
      'must be the URL of a feed of this site',
    ],
    ['hub.topic', { 'hub.topic': '/feeds/all.atom' }, 'must be the URL of a feed of this site'],
    ['hub.topic', { 'hub.topic': '@site/feeds/index.opml' }, 'must be the URL of a feed of this site'],
    ['hub.topic', { 'hub.topic': '@site/feeds/tags/no-such-tag.atom' }, 'must be a feed this site publishes'],
    ['hub.callback', { 'hub.callback': 'ftp://127.0.0.1/x' }, 'must be an http or https URL'],
    ['hub.callback', { 'hub.callback': 'not a url' }, 'must be an absolute URL'],
    ['hub.callback', { 'hub.callback': 'http://user:pw@127.0.0.1/x' }, 'must not carry credentials'],
    ['hub.callback', { 'hub.callback': 'http://192.168.1.10/reader' }, 'must lead to this machine'],
    ['hub.callback', { 'hub.callback': 'http://169.254.169.254/latest' }, 'must lead to this machine'],
    ['hub.lease_seconds', { 'hub.lease_seconds': '3599' }, 'from 3600 (an hour) to 2592000 (30 days)'],
    ['hub.lease_seconds', { 'hub.lease_seconds': '2592001' }, 'from 3600 (an hour) to 2592000 (30 days)'],
    ['hub.lease_seconds', { 'hub.lease_seconds': '1e5' }, 'from 3600 (an hour) to 2592000 (30 days)'],
    ['hub.secret', { 'hub.secret': 's'.repeat(200) }, 'must be under 200 bytes'],
    ['hub.secret', { 'hub.secret': 'é'.repeat(100) }, 'must be under 200 bytes'],
    ['hub.verify', { 'hub.verify': 'sync' }, 'is not a field of this hub'],
  ])('%s: %j → 400', async (field, change, rule) => {
    const fields: Record<string, string> = { ...good(), ...change };
    if (fields['hub.topic']?.startsWith('@site/'))
      fields['hub.topic'] = topicUrl(fields['hub.topic'].slice(6));
    const before = await view();
    const res = await hubRequest(fields);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { message: string } };
    expect(error.message).toContain(`${field}: `);
    expect(error.message).toContain(rule);
    await rt.hub.drain();
    expect(sub.at('/bad-input')).toEqual([]);
    expect(await view()).toEqual(before);
  });

  it('refuses a JSON body (415) and an unknown query parameter (400)', async () => {
    const json = await rt.request('/api/websub', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(good()),
    });
    expect(json.status).toBe(415);
    const query = await rt.request('/api/websub?x=1', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(good()).toString(),
    });
    expect(query.status).toBe(400);
  });
});

describe('caps per callback host and per feed', () => {
  let capped: TestRuntime;
  beforeAll(async () => {
    capped = await startTestRuntime({ now, websubLimits: { perHost: 2, perFeed: 3 } });
    const res = await capped.write(
      'POST',
      '/api/events',
      makeEventInput({ headline: 'Capped', tags: ['Russia'] }),
    );
    expect(res.status).toBe(201);
    await capped.capture.idle();
    await capped.publish();
  });
  afterAll(() => capped?.dispose());

  it('refuses a third subscription for one host (409 naming hub.callback), pending ones counted', async () => {
    const ask = (callback: string, path = 'feeds/all.atom') =>
      hubRequest(
        { 'hub.mode': 'subscribe', 'hub.topic': topicUrl(path, capped), 'hub.callback': callback },
        capped,
      );
    expect((await ask(`${sub.base}/cap-1`)).status).toBe(202);
    expect((await ask(`${sub.base}/cap-2`)).status).toBe(202);
    // Asked again, a callback already counted is not counted twice.
    expect((await ask(`${sub.base}/cap-2`)).status).toBe(202);
    const third = await ask(`${sub.base}/cap-3`);
    expect(third.status).toBe(409);
    expect(((await third.json()) as { error: { message: string } }).error.message).toMatch(
      /^hub\.callback: its host 127\.0\.0\.1 has 2 subscriptions/,
    );
    // Another host name of this machine is another host: the feed's cap holds next.
    const port = new URL(sub.base).port;
    expect((await ask(`http://localhost:${port}/cap-4`)).status).toBe(202);
    const fourth = await ask(`http://localhost:${port}/cap-5`);
    expect(fourth.status).toBe(409);
    expect(((await fourth.json()) as { error: { message: string } }).error.message).toMatch(
      /^hub\.topic: this feed has 3 subscriptions/,
    );
    await capped.hub.drain();
    expect(sub.at('/cap-3')).toEqual([]);
    expect(sub.at('/cap-5')).toEqual([]);
  });
});

describe('external hubs (websubHubs)', () => {
  let withHubs: TestRuntime;
  const pings: { body: URLSearchParams; type: string | undefined }[] = [];
  let hub: Server;
  beforeAll(async () => {
    hub = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        pings.push({
          body: new URLSearchParams(Buffer.concat(chunks).toString()),
          type: req.headers['content-type'],
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', () => r()));
    const hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}/hub`;
    withHubs = await startTestRuntime({ now, websubHubs: [hubUrl] });
  });
  afterAll(async () => {
    await withHubs?.dispose();
    await new Promise<void>((r) => hub.close(() => r()));
  });

  it('every feed names them too, and each changed feed is pinged to them (hub.mode=publish)', async () => {
    const res = await withHubs.write(
      'POST',
      '/api/events',
      makeEventInput({ headline: 'For the other hubs', tags: ['Chad'] }),
    );
    expect(res.status).toBe(201);
    await withHubs.capture.idle();
    await withHubs.publish();
    await withHubs.hub.drain();
    const json = JSON.parse(readFileSync(join(withHubs.siteDir, 'feeds/tags/chad.json'), 'utf8'));
    expect(json.hubs.map((h: { url: string }) => h.url)).toEqual([
      `${withHubs.url}/api/websub`,
      `http://127.0.0.1:${(hub.address() as AddressInfo).port}/hub`,
    ]);
    const pinged = pings.map((p) => p.body.get('hub.url')).sort();
    expect(pinged).toEqual(
      [
        'feeds/all.atom',
        'feeds/all.json',
        'feeds/all.rss',
        'feeds/tags/chad.atom',
        'feeds/tags/chad.json',
        'feeds/tags/chad.rss',
        // The event's topic label has feeds of its own.
        'feeds/topics/russian-president.atom',
        'feeds/topics/russian-president.json',
        'feeds/topics/russian-president.rss',
      ].map((path) => `${withHubs.url}/${path}`),
    );
    expect(
      pings.every(
        (p) => p.body.get('hub.mode') === 'publish' && p.type === 'application/x-www-form-urlencoded',
      ),
    ).toBe(true);
  });
});
