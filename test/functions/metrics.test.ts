import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeHandler as deleteEvent } from '../../functions/delete-event.js';
import { makeHandler as handleEmailFeedback } from '../../functions/handle-email-feedback.js';
import { makeHandler as postEvent } from '../../functions/post-event.js';
import { makeHandler as postEventsBatch } from '../../functions/post-events-batch.js';
import { makeHandler as processChanges } from '../../functions/process-changes.js';
import { makeHandler as publishSite } from '../../functions/publish-site.js';
import { makeHandler as putEvent } from '../../functions/put-event.js';
import { makeHandler as sendDigests } from '../../functions/send-digests.js';
import { LocalDigestQueue } from '../../local/digest-queue.js';
import { lambdaContext } from '../../local/lambda-context.js';
import type { DigestStore } from '../../shared/adapters/digest-store.js';
import { makeEventStore } from '../../shared/adapters/event-store.js';
import { makeLease } from '../../shared/adapters/lease.js';
import type { ObjectStore } from '../../shared/adapters/object-store.js';
import { newTokenSecret, staticTokenSecret } from '../../shared/adapters/token-secret.js';
import { createdEvent, parseEventDraft } from '../../shared/domain/event.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import type { ApiEvent, ApiResult } from '../../shared/http.js';
import {
  emfMetrics,
  METRIC,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  recordingMetrics,
} from '../../shared/metrics.js';
import { makeEventInput, makeNewsEvent } from '../helpers/builders.js';
import { steppingClock } from '../helpers/clock.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { recordingTopic } from '../helpers/fakes.js';
import { bounceEvent, complaintEvent, snsEventOf } from '../helpers/ses-feedback.js';
import { makeStreamRecord } from '../helpers/stream.js';
import { makeSubscriber } from '../helpers/subscribers.js';

// Each function counts what its invocation did through the metrics port its deps carry: a recorder
// here, CloudWatch's embedded metric format in AWS (the last test reads what it writes).

let table: TestTable;
let store: ReturnType<typeof makeEventStore>;
const now = steppingClock();

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
});
afterAll(() => table.close());

const KEY = { keyName: 'test', keyId: 'k-test' };

const apiEvent = (
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): ApiEvent => {
  const id = path.startsWith('/api/events/') ? decodeURIComponent(path.slice('/api/events/'.length)) : '';
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(id ? { pathParameters: { id } } : {}),
    requestContext: {
      http: { method, path, sourceIp: '192.0.2.1' },
      requestId: 'r-1',
      routeKey: `${method} ${path}`,
      authorizer: { lambda: KEY },
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as ApiEvent;
};

type Api = (event: ApiEvent, context: Context) => Promise<ApiResult>;
const call = (handler: Api, event: ApiEvent) => handler(event, lambdaContext('api'));

describe('the event routes count writes and rejections', () => {
  it('post-event: a new event is written, a repeat is neither, bad input is rejected', async () => {
    const metrics = recordingMetrics();
    const handler = postEvent({ store, now, metrics });
    const input = makeEventInput({ headline: 'Counted when written' });
    expect((await call(handler, apiEvent('POST', '/api/events', input))).statusCode).toBe(201);
    expect((await call(handler, apiEvent('POST', '/api/events', input))).statusCode).toBe(200);
    expect((await call(handler, apiEvent('POST', '/api/events', { headline: '' }))).statusCode).toBe(400);
    expect((await call(handler, apiEvent('POST', '/api/events', '{"broken'))).statusCode).toBe(400);
    expect(metrics.totals).toEqual({ [METRIC.eventsWritten]: 1, [METRIC.eventsRejected]: 2 });
  });

  it('post-events-batch: one count per written and per rejected item, one per batch refused whole', async () => {
    const metrics = recordingMetrics();
    const handler = postEventsBatch({ store, now, metrics });
    const events = [
      makeEventInput({ headline: 'Batch item one is new' }),
      makeEventInput({ headline: 'Batch item two is new' }),
      { headline: 'no date, no tags' },
    ];
    const answer = await call(handler, apiEvent('POST', '/api/events/batch', { events }));
    expect(JSON.parse(answer.body as string).summary).toEqual({ created: 2, unchanged: 0, rejected: 1 });
    expect((await call(handler, apiEvent('POST', '/api/events/batch', { events: [] }))).statusCode).toBe(400);
    expect(metrics.totals).toEqual({ [METRIC.eventsWritten]: 2, [METRIC.eventsRejected]: 2 });
  });

  it('put-event and delete-event: corrections and deletions are written, stale ones rejected', async () => {
    const metrics = recordingMetrics();
    const deps = { store, now, metrics };
    const input = makeEventInput({ headline: 'Corrected and then deleted' });
    const created = await call(postEvent(deps), apiEvent('POST', '/api/events', input));
    const { id } = JSON.parse(created.body as string) as { id: string };
    const path = `/api/events/${encodeURIComponent(id)}`;
    const put = putEvent(deps);
    const corrected = { ...input, headline: 'Corrected once, then deleted' };
    expect((await call(put, apiEvent('PUT', path, corrected, { 'if-match': '"1"' }))).statusCode).toBe(200);
    expect((await call(put, apiEvent('PUT', path, corrected, { 'if-match': '"1"' }))).statusCode).toBe(412);
    const del = deleteEvent(deps);
    expect((await call(del, apiEvent('DELETE', path))).statusCode).toBe(200);
    expect((await call(del, apiEvent('DELETE', path))).statusCode).toBe(200);
    // Created, corrected, deleted; the stale correction refused; deleting again changes nothing.
    expect(metrics.totals).toEqual({ [METRIC.eventsWritten]: 3, [METRIC.eventsRejected]: 1 });
  });
});

describe('process-changes counts what it projected and published', () => {
  it('counts projected changes and published messages, leaving out those that failed', async () => {
    const metrics = recordingMetrics();
    const refusedHeadline = 'Refused by the topic';
    const recorded = recordingTopic({ refuse: (m) => m.body.includes(refusedHeadline) });
    const handler = processChanges({
      store,
      now,
      topic: recorded.topic,
      siteUrl: 'https://news.example.org',
      fanout: { maxAttempts: 1, sleep: async () => undefined },
      metrics,
    });
    const draft = (headline: string) => {
      const parsed = parseEventDraft(makeEventInput({ headline }));
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      return createdEvent(parsed.draft, now());
    };
    const events = [draft('Projected and published'), draft(refusedHeadline)];
    for (const e of events) await store.putEvent(e, undefined);
    const out = await handler({ Records: events.map((e) => makeStreamRecord(e)) }, lambdaContext('pc'));
    expect(out.batchItemFailures).toHaveLength(1);
    expect(metrics.totals).toEqual({ [METRIC.changesProjected]: 2, [METRIC.messagesPublished]: 1 });
  });
});

describe('publish-site counts objects and its duration', () => {
  const files = new Map<string, string>();
  const objects: ObjectStore = {
    async putIfChanged(key, body) {
      const text = typeof body === 'string' ? body : body.map((p) => String(p)).join('');
      const changed = files.get(key) !== text;
      files.set(key, text);
      return changed;
    },
    remove: async (key) => files.delete(key),
    get: async (key) => (files.has(key) ? Buffer.from(files.get(key) as string) : undefined),
  };
  const context = { awsRequestId: 'run', getRemainingTimeInMillis: () => 900_000 } as unknown as Context;

  it('counts written and unchanged objects and the run’s milliseconds; an idle run records nothing', async () => {
    let clock = Date.UTC(2026, 10, 28, 12);
    const metrics = recordingMetrics();
    const handler = publishSite(
      {
        store,
        objects,
        site: defaultSiteConfig('https://news.example.org'),
        lease: makeLease(table.db, table.tableName, 'publish-metrics'),
        metrics,
      },
      {
        // Each reading of the clock is 250 ms after the last: at the start, taking the lease, the end.
        now: () => (clock += 250),
        sleep: async () => undefined,
      },
    );
    const first = await handler({ full: true }, context);
    expect(first.written).toBeGreaterThan(0);
    expect(metrics.totals).toEqual({
      [METRIC.objectsWritten]: first.written,
      [METRIC.publishDuration]: 500,
    });
    const second = await handler({ full: true }, context);
    expect(second.written).toBe(0);
    expect(metrics.totals[METRIC.objectsUnchanged]).toBe(second.unchanged);
    expect(metrics.totals[METRIC.publishDuration]).toBe(1000);

    const idle = recordingMetrics();
    const idleHandler = publishSite(
      {
        store,
        objects,
        site: defaultSiteConfig('https://news.example.org'),
        lease: makeLease(table.db, table.tableName, 'publish-metrics'),
        metrics: idle,
      },
      { now: () => Date.now(), sleep: async () => undefined },
    );
    const report = await idleHandler({}, context);
    expect(report.written + report.unchanged).toBe(0);
    expect(idle.totals).toEqual({});
  });
});

describe('send-digests counts digests sent, empty and failed', () => {
  it('counts each subscriber’s outcome', async () => {
    const sent = makeSubscriber(1, { cursor: '2026-11-27T07:00:00.000Z' });
    const empty = makeSubscriber(2, {
      cursor: '2026-11-27T07:00:00.000Z',
      tags: [{ slug: 'elsewhere', name: 'Elsewhere' }],
    });
    const failed = makeSubscriber(3, { cursor: '2026-11-27T07:00:00.000Z' });
    const subscribers = [sent, empty, failed];
    const digestStore: DigestStore = {
      listSubscriberIds: async () => ({ ids: [] }),
      getRecipients: async () =>
        new Map(subscribers.map((s) => [s.id, { subscriber: s, suppressed: false }])),
      windowChanges: async () => [
        { event: makeNewsEvent(1, ['Russia']), changedAt: '2026-11-27T10:00:00.000Z' },
      ],
      claimDigest: async () => ({ kind: 'claimed' }),
      releaseDigest: async () => {},
      markDigestSent: async () => true,
      recordCursors: async () => {},
    };
    const metrics = recordingMetrics();
    const handler = sendDigests({
      store: digestStore,
      queue: new LocalDigestQueue(),
      mailer: {
        send: async (email) => {
          if (email.to === failed.email) throw new Error('the mail service is down');
          return { messageId: 'm-1' };
        },
      },
      compose: async (digest) => ({
        to: digest.subscriber.email,
        from: 'news@example.org',
        subject: `${digest.total} new`,
        text: '',
        html: '',
      }),
      schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
      sendRate: 0,
      now: () => Date.parse('2026-11-28T09:00:00.000Z'),
      metrics,
    });
    const body = JSON.stringify({
      kind: 'send',
      cadence: 'daily',
      end: '2026-11-28T07:00:00.000Z',
      subscribers: subscribers.map((s) => s.id),
    });
    const out = await handler({ Records: [{ messageId: 'batch-1', body } as SQSRecord] }, {
      awsRequestId: 'r',
      getRemainingTimeInMillis: () => 60_000,
    } as unknown as Context);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'batch-1' }]);
    expect(metrics.totals).toEqual({
      [METRIC.digestsSent]: 1,
      [METRIC.digestsEmpty]: 1,
      [METRIC.digestsFailed]: 1,
    });
  });
});

describe('handle-email-feedback counts bounces and complaints', () => {
  it('counts each suppressed address by reason; transient bounces and noise count nothing', async () => {
    const metrics = recordingMetrics();
    const suppressed: string[] = [];
    const handler = handleEmailFeedback({
      store: { suppress: async (id) => void suppressed.push(id) },
      tokenSecret: staticTokenSecret(newTokenSecret()),
      now: () => '2026-03-01T10:00:00.000Z',
      metrics,
    });
    await handler(
      snsEventOf(
        bounceEvent('Permanent', ['a@example.org', 'b@example.org']),
        bounceEvent('Transient', ['c@example.org']),
        complaintEvent(['d@example.org']),
        'not json',
      ),
    );
    expect(suppressed).toHaveLength(3);
    expect(metrics.totals).toEqual({ [METRIC.bounces]: 2, [METRIC.complaints]: 1 });
  });
});

describe('in AWS: CloudWatch embedded metric format', () => {
  let written: string[];
  beforeAll(() => {
    written = [];
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** The EMF documents written to stdout while `fn` runs (Powertools writes them there). */
  const emfDuring = async (fn: () => Promise<unknown>): Promise<Record<string, unknown>[]> => {
    written = [];
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = String(chunk);
      if (text.includes('"_aws"')) {
        written.push(text);
        return true;
      }
      return write(chunk, ...rest);
    }) as typeof process.stdout.write);
    await fn();
    return written.flatMap((text) => text.trim().split('\n')).map((line) => JSON.parse(line));
  };

  it('writes one document per invocation, with every count of it, in the Tidings namespace by service only', async () => {
    const handler = postEventsBatch({ store, now, metrics: emfMetrics });
    const events = [
      makeEventInput({ headline: 'Embedded metric one' }),
      makeEventInput({ headline: 'Embedded metric two' }),
      { headline: 'rejected' },
    ];
    const docs = await emfDuring(() => call(handler, apiEvent('POST', '/api/events/batch', { events })));
    expect(docs).toHaveLength(1);
    const [doc] = docs as [Record<string, unknown> & { _aws: Record<string, unknown> }];
    expect(doc._aws).toEqual({
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          Dimensions: [['service']],
          Metrics: [
            { Name: METRIC.eventsWritten, Unit: 'Count' },
            { Name: METRIC.eventsRejected, Unit: 'Count' },
          ],
        },
      ],
    });
    expect(doc).toMatchObject({
      service: METRICS_SERVICE,
      [METRIC.eventsWritten]: [1, 1],
      [METRIC.eventsRejected]: 1,
    });
  });

  it('writes nothing for an invocation that counted nothing, and after a refusal still flushes', async () => {
    const handler = postEvent({ store, now, metrics: emfMetrics });
    const input = makeEventInput({ headline: 'Written once, then repeated' });
    await call(handler, apiEvent('POST', '/api/events', input));
    expect(await emfDuring(() => call(handler, apiEvent('POST', '/api/events', input)))).toEqual([]);
    const refused = await emfDuring(() => call(handler, apiEvent('POST', '/api/events', '{')));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ [METRIC.eventsRejected]: 1 });
  });
});
