import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  FORBIDDEN_RULE,
  ForbiddenEndpointError,
  isForbiddenAddress,
  type Lookup,
} from '../../local/endpoint-guard.js';
import { LOCAL_TOPIC_ARN, LocalTopic, type LocalTopicOptions, localWebhooks } from '../../local/topic.js';
import { buildChangeMessage, type ChangeMessage } from '../../shared/domain/change-message.js';
import { createdEvent, type NewsEvent, parseEventDraft, tombstoneOf } from '../../shared/domain/event.js';
import type { FilterPolicy } from '../../shared/domain/filter-policy.js';
import { shownUrl } from '../../shared/services/webhooks.js';
import { makeEventInput } from '../helpers/builders.js';
import { fakeLookup } from '../helpers/lookup.js';

const SITE = 'https://news.example.org';
const NOW = '2026-01-01T00:00:00.000Z';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the request ended. */
  at: number;
}

/** A real HTTP receiver on a free port; `respond` picks the status per request (n counts from 1 per path). */
const startReceiver = async (respond: (path: string, n: number) => number = () => 200) => {
  const received: Received[] = [];
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      received.push({
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      });
      res.writeHead(respond(path, n)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    at: (path: string) => received.filter((r) => r.path === path),
    /** Closes kept-alive connections, so the next delivery connects (and resolves) again. */
    dropConnections: () => server.closeAllConnections(),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
};
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

interface Envelope {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  UnsubscribeURL: string;
  MessageAttributes: Record<string, { Type: string; Value: string }>;
}

/** The `<id>@<revision>` key of the change an envelope carries. */
const keyOfEnvelope = (e: Envelope): string => {
  const body = JSON.parse(e.Message) as { id: string; revision: number };
  return `${body.id}@${body.revision}`;
};
const keyOf = (r: Received): string => keyOfEnvelope(JSON.parse(r.body) as Envelope);

const stored = (overrides: Record<string, unknown> = {}): NewsEvent => {
  const parsed = parseEventDraft(makeEventInput(overrides));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return createdEvent(parsed.draft, NOW);
};

// Russia, with a topic; Syria, without one; and the Russia event deleted.
const russia = stored({ headline: 'Russia leaves the court', tags: ['Russia', 'Vladimir Putin'] });
const syria = stored({ headline: 'Talks on Syria resume', tags: ['Syria'], topic: undefined });
const russiaGone = tombstoneOf(russia, '2026-01-02T00:00:00.000Z');
const messages: Record<string, ChangeMessage> = {
  russiaCreated: buildChangeMessage('created', russia, SITE),
  syriaCreated: buildChangeMessage('created', syria, SITE),
  russiaDeleted: buildChangeMessage('deleted', russiaGone, SITE, russia.revision),
};
const nameOf = (key: string) => Object.entries(messages).find(([, m]) => m.key === key)?.[0];

let dir: string;
let configPath: string;
let logLines: string[];
let recorded: string[];
const topics: LocalTopic[] = [];

const makeTopic = (options: Partial<LocalTopicOptions> = {}): LocalTopic => {
  const topic = new LocalTopic({
    configPath,
    log: (line) => logLines.push(line),
    record: (line) => recorded.push(line),
    maxAttempts: 4,
    baseDelayMs: 10,
    now: () => NOW,
    ...options,
  });
  topics.push(topic);
  return topic;
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tidings-topic-'));
  configPath = join(dir, 'subscriptions.json');
  logLines = [];
  recorded = [];
});
afterEach(async () => {
  // Nothing may still be retrying against a receiver that is about to close.
  await Promise.all(topics.splice(0).map((t) => t.idle()));
  rmSync(dir, { recursive: true, force: true });
});

describe('LocalTopic delivers webhooks the way SNS does', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.received.length = 0;
  });

  it('POSTs the SNS notification envelope with the SNS headers', async () => {
    const topic = makeTopic();
    const sub = topic.subscribe('http', `${receiver.url}/hook`);
    expect(await topic.publishBatch([messages.russiaCreated as ChangeMessage])).toEqual({ failed: [] });
    await topic.idle();

    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received as [Received];
    expect(request.path).toBe('/hook');
    expect(request.headers['content-type']).toBe('text/plain; charset=UTF-8');
    expect(request.headers['x-amz-sns-message-type']).toBe('Notification');
    expect(request.headers['x-amz-sns-topic-arn']).toBe(LOCAL_TOPIC_ARN);
    expect(request.headers['x-amz-sns-subscription-arn']).toBe(`${LOCAL_TOPIC_ARN}:${sub.id}`);
    const messageId = request.headers['x-amz-sns-message-id'];
    expect(messageId).toMatch(/^[0-9a-f-]{36}$/);

    const envelope = JSON.parse(request.body) as Envelope;
    expect(envelope).toMatchObject({
      Type: 'Notification',
      MessageId: messageId,
      TopicArn: LOCAL_TOPIC_ARN,
      Message: messages.russiaCreated?.body,
      Timestamp: NOW,
      SignatureVersion: '1',
      UnsubscribeURL: `local:unsubscribe:${sub.id}`,
    });
    expect(envelope.MessageAttributes).toEqual({
      changeType: { Type: 'String', Value: 'created' },
      tags: { Type: 'String.Array', Value: '["russia","vladimir-putin"]' },
      topic: { Type: 'String', Value: 'Russian President' },
    });
    const body = JSON.parse(envelope.Message) as Record<string, unknown>;
    expect(body).toMatchObject({ schemaVersion: '1.0', changeType: 'created', id: russia.id, revision: 1 });

    expect(topic.deliveries).toEqual([
      { subscriptionId: sub.id, messageId, key: `${russia.id}@1`, status: 'delivered', attempts: 1 },
    ]);
  });

  it('gives every subscriber the same message id, and each message its own', async () => {
    const topic = makeTopic();
    topic.subscribe('http', `${receiver.url}/one`);
    topic.subscribe('http', `${receiver.url}/two`);
    await topic.publishBatch([messages.russiaCreated, messages.syriaCreated] as ChangeMessage[]);
    await topic.idle();
    const idsAt = (path: string) =>
      receiver.at(path).map((r) => [nameOf(keyOf(r)), r.headers['x-amz-sns-message-id']]);
    const one = new Map(idsAt('/one') as [string, string][]);
    const two = new Map(idsAt('/two') as [string, string][]);
    expect([...one.keys()].sort()).toEqual(['russiaCreated', 'syriaCreated']);
    expect(two).toEqual(one);
    expect(one.get('russiaCreated')).not.toBe(one.get('syriaCreated'));
  });

  it('leaves out the topic attribute of an event without a topic', async () => {
    const topic = makeTopic();
    topic.subscribe('http', `${receiver.url}/hook`);
    await topic.publishBatch([messages.syriaCreated as ChangeMessage]);
    await topic.idle();
    const envelope = JSON.parse(receiver.received[0]?.body ?? '{}') as Envelope;
    expect(envelope.MessageAttributes).toEqual({
      changeType: { Type: 'String', Value: 'created' },
      tags: { Type: 'String.Array', Value: '["syria"]' },
    });
  });

  it('lets filter policies decide what each subscription receives', async () => {
    const topic = makeTopic();
    const policies: Record<string, FilterPolicy | undefined> = {
      all: undefined,
      // A String.Array attribute matches when any element matches.
      russia: { tags: ['russia'] },
      putinOrSyria: { tags: ['vladimir-putin', 'syria'] },
      deletedOnly: { changeType: ['deleted'] },
      notDeleted: { changeType: [{ 'anything-but': 'deleted' }] },
      // anything-but on an array passes when some element is not excluded: ["russia","vladimir-putin"] passes.
      notOnlyRussia: { tags: [{ 'anything-but': ['russia'] }] },
      withTopic: { topic: [{ exists: true }] },
      withoutTopic: { topic: [{ exists: false }] },
      // Keys are ANDed.
      russiaCreated: { tags: ['russia'], changeType: ['created'] },
      noMatch: { tags: ['ukraine'] },
    };
    for (const [name, policy] of Object.entries(policies)) {
      topic.subscribe('http', `${receiver.url}/${name}`, policy);
    }
    await topic.publishBatch(Object.values(messages));
    await topic.idle();

    const got = (name: string) =>
      receiver
        .at(`/${name}`)
        .map((r) => nameOf(keyOf(r)))
        .sort();
    expect(got('all')).toEqual(['russiaCreated', 'russiaDeleted', 'syriaCreated']);
    expect(got('russia')).toEqual(['russiaCreated', 'russiaDeleted']);
    expect(got('putinOrSyria')).toEqual(['russiaCreated', 'russiaDeleted', 'syriaCreated']);
    expect(got('deletedOnly')).toEqual(['russiaDeleted']);
    expect(got('notDeleted')).toEqual(['russiaCreated', 'syriaCreated']);
    expect(got('notOnlyRussia')).toEqual(['russiaCreated', 'russiaDeleted', 'syriaCreated']);
    expect(got('withTopic')).toEqual(['russiaCreated', 'russiaDeleted']);
    expect(got('withoutTopic')).toEqual(['syriaCreated']);
    expect(got('russiaCreated')).toEqual(['russiaCreated']);
    expect(got('noMatch')).toEqual([]);
  });
});

describe('LocalTopic retries failed webhook deliveries', () => {
  it('retries with backoff when the receiver answers 500 twice, then delivers once', async () => {
    const receiver = await startReceiver((_, n) => (n <= 2 ? 500 : 200));
    try {
      const topic = makeTopic({ maxAttempts: 5, baseDelayMs: 20 });
      const sub = topic.subscribe('http', `${receiver.url}/flaky`);
      await topic.publishBatch([messages.russiaCreated as ChangeMessage]);
      await topic.idle();

      expect(receiver.received).toHaveLength(3);
      // Every attempt carries the same message: consumers de-duplicate on it.
      const ids = new Set(receiver.received.map((r) => r.headers['x-amz-sns-message-id']));
      expect(ids.size).toBe(1);
      expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
      // Exponential backoff: 20 ms, then 40 ms (timers may fire a millisecond early).
      const [first, second, third] = receiver.received.map((r) => r.at) as [number, number, number];
      expect(second - first).toBeGreaterThanOrEqual(18);
      expect(third - second).toBeGreaterThanOrEqual(38);

      expect(topic.deliveries).toEqual([
        {
          subscriptionId: sub.id,
          messageId: [...ids][0],
          key: `${russia.id}@1`,
          status: 'delivered',
          attempts: 3,
        },
      ]);
      expect(logLines).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('gives up after maxAttempts with a failed delivery, and says so', async () => {
    const receiver = await startReceiver(() => 500);
    try {
      const topic = makeTopic({ maxAttempts: 3, baseDelayMs: 5 });
      const sub = topic.subscribe('http', `${receiver.url}/down`);
      await topic.publishBatch([messages.syriaCreated as ChangeMessage]);
      await topic.idle();

      expect(receiver.received).toHaveLength(3);
      expect(topic.deliveries).toEqual([
        expect.objectContaining({
          subscriptionId: sub.id,
          key: `${syria.id}@1`,
          status: 'failed',
          attempts: 3,
        }),
      ]);
      expect(logLines).toEqual([`webhook ${receiver.url}/down gave up on ${syria.id}@1 after 3 attempts`]);
    } finally {
      await receiver.close();
    }
  });

  it('treats a refused connection like a 5xx', async () => {
    const receiver = await startReceiver();
    const url = `${receiver.url}/gone`;
    await receiver.close();
    const topic = makeTopic({ maxAttempts: 2, baseDelayMs: 5 });
    topic.subscribe('http', url);
    await topic.publishBatch([messages.syriaCreated as ChangeMessage]);
    await topic.idle();
    expect(topic.deliveries).toEqual([expect.objectContaining({ status: 'failed', attempts: 2 })]);
    expect(logLines).toHaveLength(1);
  });

  it('logs a webhook by its URL without the query, which may carry a secret', async () => {
    const receiver = await startReceiver();
    const url = `${receiver.url}/gone?token=s3cret-in-the-query&user=alice%40example.org`;
    await receiver.close();
    const topic = makeTopic({
      maxAttempts: 1,
      baseDelayMs: 5,
      lookup: fakeLookup({ 'meta.test': ['169.254.169.254'] }),
    });
    topic.subscribe('http', url);
    topic.subscribe('http', 'http://meta.test/hook?token=s3cret-in-the-query');
    await topic.publishBatch([messages.syriaCreated as ChangeMessage]);
    await topic.idle();
    expect(logLines).toHaveLength(2);
    expect(logLines).toContain(
      `webhook ${receiver.url}/gone gave up on ${(messages.syriaCreated as ChangeMessage).key} after 1 attempts`,
    );
    expect(logLines.join('\n')).toContain('webhook http://meta.test/hook refused:');
    for (const line of logLines) {
      expect(line).not.toContain('s3cret');
      expect(line).not.toContain('alice');
    }
  });

  it('does not hold up publishing while a webhook is slow to answer', async () => {
    // A receiver that keeps the request open until released.
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => {
      release = r;
    });
    let arrived: () => void = () => undefined;
    const arrival = new Promise<void>((r) => {
      arrived = r;
    });
    const server = createServer((req, res) => {
      req.resume();
      arrived();
      void released.then(() => res.writeHead(200).end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const topic = makeTopic();
      topic.subscribe('http', `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`);
      expect(await topic.publishBatch([messages.syriaCreated as ChangeMessage])).toEqual({ failed: [] });
      await arrival;
      expect(topic.deliveries).toEqual([]);
      release();
      await topic.idle();
      expect(topic.deliveries).toEqual([expect.objectContaining({ status: 'delivered', attempts: 1 })]);
    } finally {
      release();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('LocalTopic subscriptions from its config file', () => {
  it('writes the envelope of every matching message through record for a log subscription', async () => {
    writeFileSync(
      configPath,
      JSON.stringify({
        subscriptions: [
          { protocol: 'log' },
          { id: 'deletions', protocol: 'log', filterPolicy: { changeType: ['deleted'] } },
        ],
      }),
    );
    const topic = makeTopic();
    const [all, deletions] = topic.list();
    expect(all).toMatchObject({ protocol: 'log', source: 'config', createdAt: NOW });
    expect(all?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(deletions).toMatchObject({
      id: 'deletions',
      protocol: 'log',
      filterPolicy: { changeType: ['deleted'] },
    });

    await topic.publishBatch([messages.russiaCreated, messages.russiaDeleted] as ChangeMessage[]);
    await topic.idle();

    const envelopes = recorded.map((line) => JSON.parse(line) as Envelope);
    expect(envelopes.map((e) => [e.UnsubscribeURL, nameOf(keyOfEnvelope(e))])).toEqual([
      [`local:unsubscribe:${all?.id}`, 'russiaCreated'],
      [`local:unsubscribe:${all?.id}`, 'russiaDeleted'],
      ['local:unsubscribe:deletions', 'russiaDeleted'],
    ]);
    const deleted = envelopes[1] as Envelope;
    expect(deleted).toMatchObject({
      Type: 'Notification',
      TopicArn: LOCAL_TOPIC_ARN,
      Message: messages.russiaDeleted?.body,
      Timestamp: NOW,
      MessageAttributes: {
        changeType: { Type: 'String', Value: 'deleted' },
        tags: { Type: 'String.Array', Value: '["russia","vladimir-putin"]' },
      },
    });
    // Both log subscribers saw one publication of the deletion: one message id.
    expect(envelopes[2]?.MessageId).toBe(deleted.MessageId);
    expect(topic.deliveries.every((d) => d.status === 'delivered' && d.attempts === 1)).toBe(true);
  });

  it('skips invalid entries, naming each, and keeps the valid ones', () => {
    writeFileSync(
      configPath,
      JSON.stringify({
        subscriptions: [
          { protocol: 'smtp', endpoint: 'mailto:news@example.org' },
          { protocol: 'http' },
          { protocol: 'https', endpoint: 'https://hooks.example.org/a', filterPolicy: { tags: [] } },
          {
            protocol: 'http',
            endpoint: 'http://hooks.example.org/b',
            filterPolicy: { tags: { prefix: 'r' } },
          },
          {
            id: 'kept',
            protocol: 'http',
            endpoint: 'http://hooks.example.org/ok',
            filterPolicy: { tags: ['russia'] },
          },
          { protocol: 'log' },
        ],
      }),
    );
    const topic = makeTopic();
    expect(topic.list().map((s) => [s.protocol, s.endpoint])).toEqual([
      ['http', 'http://hooks.example.org/ok'],
      ['log', undefined],
    ]);
    expect(topic.list()[0]).toMatchObject({
      id: 'kept',
      filterPolicy: { tags: ['russia'] },
      source: 'config',
    });
    expect(logLines).toHaveLength(4);
    expect(logLines[0]).toBe(`${configPath}: subscriptions[0].protocol must be http, https or log; skipped`);
    expect(logLines[1]).toBe(`${configPath}: subscriptions[1].endpoint is required for http; skipped`);
    expect(logLines[2]).toContain(
      `${configPath}: subscriptions[2].filterPolicy: tags: a rule array must not be empty`,
    );
    expect(logLines[3]).toContain(
      `${configPath}: subscriptions[3].filterPolicy: tags: nested objects are not allowed`,
    );
    expect(logLines.every((l) => l.endsWith('; skipped'))).toBe(true);
  });

  it('starts with no subscriptions when the file does not exist, and does not create it', () => {
    const topic = makeTopic();
    expect(topic.list()).toEqual([]);
    expect(() => readFileSync(configPath)).toThrow();
  });

  it('persists subscribe and unsubscribe to the config file', () => {
    const topic = makeTopic();
    const a = topic.subscribe('http', 'http://hooks.example.org/a', {
      tags: ['russia'],
      changeType: ['created'],
    });
    const b = topic.subscribe('https', 'https://hooks.example.org/b');
    const file = () => JSON.parse(readFileSync(configPath, 'utf8')) as { subscriptions: unknown[] };
    expect(file().subscriptions).toEqual([
      {
        id: a.id,
        protocol: 'http',
        endpoint: 'http://hooks.example.org/a',
        filterPolicy: { tags: ['russia'], changeType: ['created'] },
        source: 'api',
        createdAt: NOW,
      },
      { id: b.id, protocol: 'https', endpoint: 'https://hooks.example.org/b', source: 'api', createdAt: NOW },
    ]);

    // A restart reads them back as they were, ids and sources included.
    expect(makeTopic({ now: () => 'later' }).list()).toEqual([a, b]);

    expect(topic.unsubscribe(a.id)).toBe(true);
    expect(file().subscriptions).toEqual([expect.objectContaining({ id: b.id })]);
    expect(topic.unsubscribe(a.id)).toBe(false);
    expect(topic.unsubscribe(b.id)).toBe(true);
    expect(file().subscriptions).toEqual([]);
    expect(makeTopic().list()).toEqual([]);
    expect(logLines).toEqual([]);
  });
});

describe('a broken config file', () => {
  it.each([
    ['not JSON', '{not json', /not valid JSON/],
    ['subscriptions not an array', '{"subscriptions": {}}', /must be an array/],
    ['an entry that is not an object', '{"subscriptions": [null]}', /subscriptions\[0\] must be an object/],
  ])('%s: starts with no subscribers and says why', (_name, content, message) => {
    writeFileSync(configPath, content);
    const topic = makeTopic();
    expect(topic.list()).toEqual([]);
    expect(logLines.join('\n')).toMatch(message);
  });
});

describe('webhooks through the API', () => {
  it('cannot remove a log subscriber declared in the config file', async () => {
    writeFileSync(configPath, JSON.stringify({ subscriptions: [{ id: 'audit-log', protocol: 'log' }] }));
    const topic = makeTopic();
    const webhooks = localWebhooks(topic);
    expect(await webhooks.list()).toEqual([]);
    expect(await webhooks.remove('audit-log')).toBe(false);
    expect(topic.list().map((s) => s.id)).toEqual(['audit-log']);
  });
});

describe('local webhooks never reach link-local or metadata addresses', () => {
  const refused = [
    'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
    'http://169.254.0.1:8080/hook',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://[fe80::1]/hook',
    'http://[::ffff:169.254.169.254]/latest/meta-data/',
    // IPv6 forms that embed an IPv4 address, which a translator or the stack may turn into it:
    // IPv4-compatible (::/96), NAT64 (64:ff9b::/96) and SIIT (::ffff:0:0/96).
    'http://[::169.254.169.254]/latest/meta-data/',
    'http://[64:ff9b::169.254.169.254]/latest/meta-data/',
    'http://[64:ff9b::a9fe:1]:8080/hook',
    'http://[::ffff:0:a9fe:a9fe]/latest/meta-data/',
    'http://[::ffff:0:169.254.0.1]/hook',
    // Spellings the URL parser turns into 169.254.169.254.
    'http://0xa9fea9fe/latest/meta-data/',
    'http://2852039166/latest/meta-data/',
    'http://metadata.test/latest/meta-data/',
    'http://rebound.test:8080/hook',
    'http://nat64.test/latest/meta-data/',
  ];
  const lookup = fakeLookup({
    'metadata.test': ['169.254.169.254'],
    // One good address and one bad: refused all the same.
    'rebound.test': ['127.0.0.1', 'fd00:ec2::254'],
    'nat64.test': ['64:ff9b::a9fe:a9fe'],
  });

  it.each(refused)('refuses to register %s', async (url) => {
    const topic = makeTopic({ lookup });
    await expect(localWebhooks(topic).add(url)).rejects.toThrow(ForbiddenEndpointError);
    await expect(localWebhooks(topic).add(url)).rejects.toThrow(FORBIDDEN_RULE);
    expect(topic.list()).toEqual([]);
  });

  it.each(refused)('refuses to deliver to %s from the config file, without retrying', async (endpoint) => {
    writeFileSync(configPath, JSON.stringify({ subscriptions: [{ id: 'bad', protocol: 'http', endpoint }] }));
    const topic = makeTopic({ lookup, maxAttempts: 3 });
    await topic.publishBatch([messages.syriaCreated as ChangeMessage]);
    await topic.idle();
    expect(topic.deliveries).toEqual([
      expect.objectContaining({ subscriptionId: 'bad', status: 'failed', attempts: 1 }),
    ]);
    expect(logLines.join('\n')).toContain(`webhook ${shownUrl(endpoint)} refused: ${FORBIDDEN_RULE}`);
  });

  it('checks the address the connection is made to, not only the answer a check got before', async () => {
    const receiver = await startReceiver();
    const port = new URL(receiver.url).port;
    // After `rebind`, the name answers a good address once (the check before connecting) and the
    // metadata address after that (the connection): DNS rebinding between check and use.
    let rebound = 0;
    let rebind = false;
    const lookup: Lookup = (host, options, callback) => {
      const bad = rebind && rebound++ > 0;
      fakeLookup({ 'flip.test': [bad ? '169.254.169.254' : '127.0.0.1'] })(host, options, callback);
    };
    const topic = makeTopic({ lookup });
    try {
      await localWebhooks(topic).add(`http://flip.test:${port}/hook`);
      await topic.publishBatch([messages.syriaCreated as ChangeMessage]);
      await topic.idle();
      expect(receiver.at('/hook')).toHaveLength(1);
      receiver.dropConnections();
      rebind = true;
      await topic.publishBatch([messages.russiaCreated as ChangeMessage]);
      await topic.idle();
      expect(rebound).toBeGreaterThan(1);
      expect(receiver.at('/hook')).toHaveLength(1);
      expect(topic.deliveries.map((d) => d.status)).toEqual(['delivered', 'failed']);
      expect(logLines.join('\n')).toContain('flip.test resolves to 169.254.169.254');
    } finally {
      await receiver.close();
    }
  });

  it('still delivers to loopback and private addresses, where local integrators listen', () => {
    for (const address of [
      '127.0.0.1',
      '::1',
      '10.0.0.1',
      '192.168.1.1',
      '172.16.0.1',
      'fd00::1',
      // Embedding other IPv4 addresses than link-local ones.
      '64:ff9b::a00:1',
      '::ffff:0:a00:1',
      '::a00:1',
    ]) {
      expect(isForbiddenAddress(address), address).toBe(false);
    }
  });
});

describe('local webhooks do not follow redirects', () => {
  it('counts a 3xx as a failed attempt and never requests where it points', async () => {
    const target = await startReceiver();
    let redirected = 0;
    const redirecting = createServer((req, res) => {
      redirected++;
      req.resume();
      res.writeHead(307, { location: `${target.url}/followed` }).end();
    });
    await new Promise<void>((r) => redirecting.listen(0, '127.0.0.1', () => r()));
    const { port } = redirecting.address() as AddressInfo;
    try {
      const topic = makeTopic({ maxAttempts: 2, baseDelayMs: 1 });
      topic.subscribe('http', `http://127.0.0.1:${port}/moved`);
      await topic.publishBatch([messages.syriaCreated as ChangeMessage]);
      await topic.idle();
      expect(redirected).toBe(2);
      expect(target.received).toEqual([]);
      expect(topic.deliveries).toEqual([expect.objectContaining({ status: 'failed', attempts: 2 })]);
    } finally {
      redirecting.closeAllConnections();
      await new Promise<void>((r) => redirecting.close(() => r()));
      await target.close();
    }
  });
});
