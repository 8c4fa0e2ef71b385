import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as hubHandler } from '../../functions/websub-hub.js';
import { parseHubMessage, makeHandler as workerHandler } from '../../functions/websub-worker.js';
import { LocalHubQueue } from '../../local/websub-queue.js';
import type { Lookup } from '../../shared/adapters/endpoint-guard.js';
import { makeCallbackClient, refusedAddress } from '../../shared/adapters/websub-http.js';
import { makeWebSubStore } from '../../shared/adapters/websub-store.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import { callbackIssue, parseHubRequest } from '../../shared/domain/websub.js';
import type { HubRequestDeps } from '../../shared/services/websub.js';
import { hubLimitsFromEnv } from '../../shared/services/websub-deps.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { fakeLookup } from '../helpers/lookup.js';

const site = defaultSiteConfig('https://news.example.org');

describe('callback addresses in AWS: public only (the webhooks rules and every private range)', () => {
  it.each([
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.10',
    '127.0.0.1',
    '100.64.0.1',
    '0.0.0.0',
    '169.254.169.254',
    '224.0.0.1',
    '::1',
    '::',
    'fd00::1',
    'fc00::1',
    'fe80::1',
    'fd00:ec2::254',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::c0a8:1',
  ])('refuses %s', (address) => {
    expect(refusedAddress(address, 'aws')).toMatch(/must lead to a public address/);
  });

  it.each(['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '8.8.8.8'])('allows %s', (address) => {
    expect(refusedAddress(address, 'aws')).toBeUndefined();
  });

  it('locally allows only this machine', () => {
    expect(refusedAddress('127.0.0.1', 'local')).toBeUndefined();
    expect(refusedAddress('::1', 'local')).toBeUndefined();
    expect(refusedAddress('192.168.1.2', 'local')).toMatch(/this machine/);
    expect(refusedAddress('93.184.216.34', 'local')).toMatch(/this machine/);
  });

  it('refuses http callbacks in AWS, and any scheme but http(s) anywhere', () => {
    expect(callbackIssue('http://reader.example/cb', 'aws')).toBe('must be an https URL');
    expect(callbackIssue('https://reader.example/cb', 'aws')).toBeUndefined();
    expect(callbackIssue('http://127.0.0.1/cb', 'local')).toBeUndefined();
    expect(callbackIssue('file:///etc/passwd', 'local')).toBe('must be an http or https URL');
    expect(callbackIssue(`https://reader.example/${'x'.repeat(2050)}`, 'aws')).toMatch(/at most 2048/);
  });

  it('refuses a name that resolves to a private address, by the name and the address', async () => {
    const client = makeCallbackClient('aws', fakeLookup({ 'internal.example': ['203.0.113.9', '10.0.0.5'] }));
    expect(await client.refused('https://internal.example/cb')).toMatch(/internal\.example is 10\.0\.0\.5/);
    expect(await client.refused('https://[::ffff:192.168.0.1]/cb')).toMatch(/public address/);
    expect(await client.refused('https://unknown.example/cb')).toBe('must have a host name that resolves');
  });

  it('checks again on the address connected to: a name that turns private after the check gets nothing', async () => {
    let hits = 0;
    const server: Server = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    let answer = '93.184.216.34';
    const rebinding: Lookup = (_host, _options, callback) => callback(null, [{ address: answer, family: 4 }]);
    const client = makeCallbackClient('aws', rebinding);
    expect(await client.refused(`http://rebind.example:${port}/cb`)).toBeUndefined();
    answer = '127.0.0.1';
    await expect(
      client.post(`http://rebind.example:${port}/cb`, {}, new Uint8Array(1)),
    ).rejects.toMatchObject({
      name: 'ForbiddenEndpointError',
    });
    await expect(client.get(`http://127.0.0.1:${port}/cb`)).rejects.toMatchObject({
      name: 'ForbiddenEndpointError',
    });
    expect(hits).toBe(0);
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe('parseHubRequest', () => {
  const form = (fields: Record<string, string | string[]>) =>
    new Map(Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
  const base = {
    'hub.mode': 'subscribe',
    'hub.topic': 'https://news.example.org/feeds/tags/syria.rss',
    'hub.callback': 'https://reader.example/cb?id=1',
  };

  it('takes a feed of the site, with a default lease of 10 days', () => {
    expect(parseHubRequest(form(base), site, 'aws')).toEqual({
      ok: true,
      request: {
        mode: 'subscribe',
        topic: 'feeds/tags/syria.rss',
        callback: 'https://reader.example/cb?id=1',
        leaseSeconds: 864_000,
      },
    });
  });

  it('names every field at fault', () => {
    const parsed = parseHubRequest(
      form({
        'hub.mode': ['subscribe', 'unsubscribe'],
        'hub.topic': 'https://news.example.org/index.html',
        'hub.callback': 'http://reader.example/',
      }),
      site,
      'aws',
    );
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.issues.map((i) => i.path)).toEqual(['hub.mode', 'hub.topic', 'hub.callback']);
  });

  it('accepts topic label feeds and refuses archive documents and other files', () => {
    const topic = (t: string) =>
      parseHubRequest(form({ ...base, 'hub.topic': `https://news.example.org/${t}` }), site, 'aws').ok;
    expect(topic('feeds/all.json')).toBe(true);
    expect(topic('feeds/topics/armed-conflicts.atom')).toBe(true);
    expect(topic('feeds/tags/syria/2016-11.atom')).toBe(false);
    expect(topic('feeds/tags/../all.atom')).toBe(false);
    expect(topic('feeds/index.opml')).toBe(false);
  });
});

describe('the hub route in AWS (one handler, real table)', () => {
  let table: TestTable;
  const queue = new LocalHubQueue(() => Date.parse('2026-12-06T06:00:00.000Z'));
  let deps: HubRequestDeps;
  const event = (body: string): APIGatewayProxyEventV2 =>
    ({
      version: '2.0',
      routeKey: 'POST /api/websub',
      rawPath: '/api/websub',
      rawQueryString: '',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      requestContext: {
        http: { method: 'POST', path: '/api/websub', sourceIp: '198.51.100.30' },
        requestId: 'r1',
      },
      body,
      isBase64Encoded: false,
    }) as unknown as APIGatewayProxyEventV2;
  const call = async (fields: Record<string, string>) =>
    (await hubHandler(deps)(event(new URLSearchParams(fields).toString()), {
      awsRequestId: 'r1',
    } as Context)) as {
      statusCode: number;
      body: string;
    };

  beforeAll(async () => {
    table = await startTestTable();
    deps = {
      store: makeWebSubStore(table.db, table.tableName),
      queue,
      site,
      policy: 'aws',
      limits: hubLimitsFromEnv({}),
      callbacks: makeCallbackClient(
        'aws',
        fakeLookup({ 'reader.example': ['93.184.216.34'], 'intranet.example': ['10.9.9.9'] }),
      ),
      feedExists: async (path) => path === 'feeds/all.atom',
      now: () => '2026-12-06T06:00:00.000Z',
    };
  });
  afterAll(() => table?.close());

  it('refuses http and private callbacks with 400 naming hub.callback, queueing nothing', async () => {
    const topic = 'https://news.example.org/feeds/all.atom';
    const http = await call({
      'hub.mode': 'subscribe',
      'hub.topic': topic,
      'hub.callback': 'http://reader.example/cb',
    });
    expect(http.statusCode).toBe(400);
    expect(http.body).toContain('hub.callback: must be an https URL');
    const intranet = await call({
      'hub.mode': 'subscribe',
      'hub.topic': topic,
      'hub.callback': 'https://intranet.example/cb',
    });
    expect(intranet.statusCode).toBe(400);
    expect(intranet.body).toContain('hub.callback: must lead to a public address');
    expect(queue.size).toBe(0);
  });

  it('accepts a public https callback: 202, pending in the table, a verification queued', async () => {
    const res = await call({
      'hub.mode': 'subscribe',
      'hub.topic': 'https://news.example.org/feeds/all.atom',
      'hub.callback': 'https://reader.example/cb',
    });
    expect(res.statusCode).toBe(202);
    expect(
      await deps.store.countForHost('reader.example', Date.parse('2026-12-06T06:00:00.000Z') / 1000),
    ).toBe(1);
    expect(queue.size).toBe(1);
  });

  it('reads its caps from WEBSUB_PER_HOST and WEBSUB_PER_FEED, defaults 100 and 10,000', () => {
    expect(hubLimitsFromEnv({})).toEqual({ perHost: 100, perFeed: 10_000 });
    expect(hubLimitsFromEnv({ WEBSUB_PER_HOST: '5', WEBSUB_PER_FEED: '50' })).toEqual({
      perHost: 5,
      perFeed: 50,
    });
    expect(() => hubLimitsFromEnv({ WEBSUB_PER_HOST: '0' })).toThrow(
      /WEBSUB_PER_HOST must be a whole number/,
    );
  });
});

describe('the hub worker', () => {
  it('sends a message it cannot read back as a batch failure (to the dead-letter queue), and handles the rest', async () => {
    const handler = workerHandler(() => {
      throw new Error('no deps needed for poison');
    });
    const sqs = (bodies: string[]): SQSEvent =>
      ({ Records: bodies.map((body, i) => ({ messageId: `m${i}`, body })) }) as unknown as SQSEvent;
    const out = await handler(sqs(['{"kind":"nope"}', 'not json']), {} as Context);
    expect(out.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m0', 'm1']);
  });

  it('parses the three kinds and refuses a deliver message to a non-feed', () => {
    expect(parseHubMessage('{"kind":"distribute","topics":["feeds/all.atom"]}')).toEqual({
      kind: 'distribute',
      topics: ['feeds/all.atom'],
    });
    expect(() =>
      parseHubMessage('{"kind":"deliver","topic":"index.html","callback":"https://r.example/","attempt":1}'),
    ).toThrow(/topic must be a feed path/);
  });
});

describe('a hub request whose verification cannot be queued', () => {
  it('fails (500) and leaves no pending record behind, so asking again goes through', async () => {
    const table = await startTestTable();
    try {
      const store = makeWebSubStore(table.db, table.tableName);
      let queueUp = false;
      const sent: unknown[] = [];
      const deps: HubRequestDeps = {
        store,
        queue: {
          send: async (entries) => {
            if (!queueUp) throw new Error('SQS is unavailable');
            sent.push(...entries);
          },
        },
        site,
        policy: 'aws',
        limits: hubLimitsFromEnv({}),
        callbacks: makeCallbackClient('aws', fakeLookup({ 'reader.example': ['93.184.216.34'] })),
        feedExists: async () => true,
        now: () => '2026-12-06T06:00:00.000Z',
      };
      const body = new URLSearchParams({
        'hub.mode': 'subscribe',
        'hub.topic': 'https://news.example.org/feeds/all.atom',
        'hub.callback': 'https://reader.example/cb',
      }).toString();
      const event = {
        version: '2.0',
        routeKey: 'POST /api/websub',
        rawPath: '/api/websub',
        rawQueryString: '',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        requestContext: {
          http: { method: 'POST', path: '/api/websub', sourceIp: '198.51.100.30' },
          requestId: 'r2',
        },
        body,
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2;
      const call = () =>
        hubHandler(deps)(event, { awsRequestId: 'r2' } as Context) as Promise<{ statusCode: number }>;
      expect((await call()).statusCode).toBe(500);
      const nowSeconds = Date.parse('2026-12-06T06:00:00.000Z') / 1000;
      expect(await store.countForHost('reader.example', nowSeconds)).toBe(0);
      queueUp = true;
      expect((await call()).statusCode).toBe(202);
      expect(sent).toHaveLength(1);
    } finally {
      await table.close();
    }
  });
});
