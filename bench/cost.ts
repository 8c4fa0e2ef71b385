/**
 * `npm run bench -- cost`: a cost model from measurements. It counts (it does not time, apart from
 * Lambda durations, see below) the AWS requests and capacity units of each unit of work by running
 * the real code locally: the local runtime's handlers over HTTP, on dynalite behind a counting
 * proxy (bench/counting-dynamo.ts), with counting wrappers on the topic, the mailer, the object
 * store and the digest queue. What has no local stand-in (alarms, dashboards, secrets, keys, log
 * retention, function memory) is read from the stack's template, synthesized in-process with
 * bundling skipped. The counts are multiplied by the dated us-east-1 prices of bench/prices.ts
 * (bench/cost-model.ts), printed per service for the fixed part and three scales, written to
 * bench/results/cost.json, and to docs/costs.md.
 *
 * Lambda GB-seconds come from durations measured here (each handler call, or the HTTP round trip
 * that runs it), scaled to each function's configured memory: this machine is not Lambda, and a
 * busy one runs slower, so they are an upper bound more than a measurement.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { makeHandler as makePublishHandler } from '../functions/publish-site.js';
import { loadConfig } from '../infra/config.js';
import { addTidings } from '../infra/tidings-stack.js';
import { LocalDigestQueue } from '../local/digest-queue.js';
import { startDynalite } from '../local/dynamodb.js';
import { lambdaContext } from '../local/lambda-context.js';
import { LOCAL_TABLE, type Runtime, startRuntime } from '../local/runtime.js';
import { makeFolderObjectStore } from '../local/site-folder.js';
import { makeDigestStore } from '../shared/adapters/digest-store.js';
import { createDocumentClient, createLowLevelClient } from '../shared/adapters/dynamodb.js';
import { makeEventStore } from '../shared/adapters/event-store.js';
import { makeLease } from '../shared/adapters/lease.js';
import type { Mailer } from '../shared/adapters/mailer.js';
import type { ObjectStore } from '../shared/adapters/object-store.js';
import { makeSubscriptionStore } from '../shared/adapters/subscription-store.js';
import { linkKeysOf, staticTokenSecret } from '../shared/adapters/token-secret.js';
import { defaultSiteConfig, feedPath } from '../shared/domain/site.js';
import { tagSlug } from '../shared/domain/slug.js';
import { subscriberIdOf } from '../shared/domain/tokens.js';
import { digestPartition, digestShardOf, subscriberKey, TABLE, TABLE_INDEXES } from '../shared/keys.js';
import { logger } from '../shared/logger.js';
import { METRIC } from '../shared/metrics.js';
import { digestComposer } from '../shared/services/digest-email.js';
import { type DigestDeps, handleDigestMessage, startDigestRun } from '../shared/services/digests.js';
import {
  ALERTS_PER_INSTANT_SUBSCRIBER_DAY,
  addUsage,
  type Bill,
  CONFIRMATIONS_PER_SUBSCRIBER_MONTH,
  DAYS_PER_MONTH,
  GB,
  monthlyUsage,
  priceUsage,
  SCALES,
  STORAGE_AFTER_DAYS,
  type StoragePerUnit,
  type UnitsOfWork,
  type Usage,
} from './cost-model.js';
import {
  API_ACCESS_LOG_BYTES,
  type Counters,
  diffCounters,
  emptyCounters,
  type Measured,
  PLATFORM_LOG_BYTES,
  type StackFacts,
  scaleMeasured,
  usageOf,
} from './cost-usage.js';
import {
  type AttributeMap,
  type DynamoCounts,
  diffDynamoCounts,
  sizes,
  startCountingDynamo,
} from './counting-dynamo.js';
import { PRICES, PRICES_DATE, type PriceKey } from './prices.js';
import { writeResult } from './results.js';

const ROOT = resolve(import.meta.dirname, '..');
const DOC = join(ROOT, 'docs', 'costs.md');

/** How many of each unit of work are measured (their counts are averaged). */
const EVENTS = 30;
const SIGNUPS = 20;
const SUBSCRIBERS = 1_000;
/** Instant subscribers and the burst of events that makes their alerts. */
const ALERT_SUBSCRIBERS = 100;
const ALERT_EVENTS = 10;
const EMPTY_PUBLISH_RUNS = 10;
const TAGS = ['Syria', 'Russia', 'Iran', 'Vladimir Putin', 'Elections', 'Energy', 'Trade', 'Climate'];

/** One feed poll, as the issue sizes it. */
const POLL_BYTES = 20 * 1024;
const PUBLISH_RUNS_PER_MONTH = (DAYS_PER_MONTH * 24 * 60) / 5;
/** Daily runs, and a weekly one every seven days. */
const DIGEST_RUNS_PER_MONTH = DAYS_PER_MONTH * (1 + 1 / 7);
/**
 * Estimates where nothing local stands in (each says so in docs/costs.md):
 * - what Lambda and the HTTP API log beside the functions (bench/cost-usage.ts);
 * - CloudFront's access log in CloudWatch Logs, one line of some 300 bytes per request;
 * - Lambda's SQS poller long-polls an idle queue with about five ReceiveMessage calls of 20 s at a
 *   time (AWS does not publish the figure): 3 a minute each, 648,000 a month per queue it reads;
 * - SNS (the change topic's AWS managed key) asks KMS for a data key at most every 5 minutes.
 */
const CDN_ACCESS_LOG_BYTES = 300;
const SQS_IDLE_RECEIVES_PER_MONTH = 5 * 3 * 60 * 24 * DAYS_PER_MONTH;
const KMS_DATA_KEYS_PER_MONTH = PUBLISH_RUNS_PER_MONTH;
/** DynamoDB's per-item storage overhead, table and index entries alike. */
const ITEM_OVERHEAD = 100;

interface Snapshot {
  counters: Counters;
  dynamo: DynamoCounts;
}

/** The few resource properties the model reads. */
interface CfnProperties {
  MemorySize?: number;
  Metrics?: { MetricStat?: unknown }[];
  BatchSize?: number;
  RetentionInDays?: number;
}

/** What the stack holds that costs by the month, read from its synthesized template. */
export const readTemplate = (): StackFacts => {
  const app = new App({
    context: { 'aws:cdk:bundling-stacks': [], fromAddress: 'news@example.org' },
    builtinCloudFormationValidation: false,
  });
  const { stack } = addTidings(app, 'Tidings', {
    config: loadConfig(app.node),
    env: { account: '123456789012', region: 'us-east-1' },
  });
  const resources = Object.entries(
    Template.fromStack(stack).toJSON().Resources as Record<
      string,
      { Type: string; Properties: CfnProperties }
    >,
  );
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const memoryMb: Record<string, number> = {};
  for (const [id, r] of ofType('AWS::Lambda::Function')) {
    // Logical ids end in the function's PascalCase name and CDK's 8-hex hash.
    const name = /([A-Z][A-Za-z]+)[0-9A-F]{8}$/.exec(id)?.[1];
    if (name)
      memoryMb[name.replace(/(?<!^)[A-Z]/g, (c) => `-${c}`).toLowerCase()] = r.Properties.MemorySize ?? 128;
  }
  const alarms = ofType('AWS::CloudWatch::Alarm');
  // A metric-math alarm is billed per metric it reads.
  const alarmMetrics = alarms.reduce(
    (sum, [, r]) =>
      sum + (r.Properties.Metrics ? r.Properties.Metrics.filter((m) => m.MetricStat).length : 1),
    0,
  );
  const esms = ofType('AWS::Lambda::EventSourceMapping');
  const sqsEsms = esms.filter(([id]) => /Sqs/.test(id));
  const digestEsm = sqsEsms.find(([id]) => /SendDigests/.test(id));
  return {
    memoryMb,
    alarms: alarms.length,
    alarmMetrics,
    dashboards: ofType('AWS::CloudWatch::Dashboard').length,
    secrets: ofType('AWS::SecretsManager::Secret').length,
    kmsKeys: ofType('AWS::KMS::Key').length,
    sqsPollers: sqsEsms.length,
    digestBatchSize: digestEsm?.[1].Properties.BatchSize ?? 10,
    logRetentionDays: ofType('AWS::Logs::LogGroup').map(([, r]) => r.Properties.RetentionInDays ?? 0),
    cloudfrontFunctions: ofType('AWS::CloudFront::Function').length,
    // Every business metric, one dimension set (the service) each, billed once emitted in a month.
    customMetrics: Object.keys(METRIC).length,
  };
};

/** `a − b·times` on priced usage, never below zero. */
const subtractUsage = (a: Usage, b: Usage, times = 1): Usage => {
  const out: Usage = {};
  for (const [key, q] of Object.entries(a) as [PriceKey, number][]) {
    out[key] = Math.max(0, q - (b[key] ?? 0) * times);
  }
  return out;
};

const countingObjects = (inner: ObjectStore, c: Counters): ObjectStore => ({
  ...(inner.writesInFlight === undefined ? {} : { writesInFlight: inner.writesInFlight }),
  // S3: a HEAD, then a PUT only when the bytes changed (shared/adapters/s3.ts).
  async putIfChanged(key, body, type) {
    c.s3Head++;
    const wrote = await inner.putIfChanged(key, body, type);
    if (wrote) c.s3Put++;
    return wrote;
  },
  async remove(key) {
    c.s3Head++;
    const removed = await inner.remove(key);
    if (removed) c.s3Delete++;
    return removed;
  },
  async get(key) {
    c.s3Get++;
    return inner.get(key);
  },
  ...(inner.borrow
    ? {
        borrow: async (key: string) => {
          c.s3Get++;
          return inner.borrow?.(key);
        },
      }
    : {}),
});

const manualClock = (start: number) => {
  let t = start;
  return {
    now: () => new Date(t).toISOString(),
    ms: () => t,
    advance(seconds: number) {
      t += seconds * 1000;
    },
  };
};

/** Bytes of everything under `dir`. */
const folderBytes = (dir: string): number => {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
  }
  return total;
};

interface Measurements {
  template: StackFacts;
  /**
   * Averages: per event (`event`, and `publishRun`, a run with one new event), per empty publish
   * run, per subscriber of a daily digest run (`digest`), per whole empty digest run, per sign-up.
   */
  units: Record<
    'event' | 'publishRun' | 'publishEmpty' | 'digest' | 'digestEmpty' | 'confirmation' | 'alert',
    Measured
  >;
  storage: StoragePerUnit;
  feedBytes: number;
  digestsSent: number;
  alertsSent: number;
}

const measure = async (): Promise<Measurements> => {
  const template = readTemplate();
  const dataDir = mkdtempSync(join(tmpdir(), 'tidings-bench-cost-'));
  const dynamo = await startDynalite();
  const proxy = await startCountingDynamo(dynamo.endpoint);
  const counters = emptyCounters();
  const snap = (): Snapshot => ({ counters: structuredClone(counters), dynamo: proxy.snapshot() });
  const since = (s: Snapshot): Measured => ({
    counters: diffCounters(counters, s.counters),
    dynamo: diffDynamoCounts(proxy.snapshot(), s.dynamo),
  });
  const invoked = (fn: string, ms: number, invocations = 1) => {
    const x = counters.lambda[fn] ?? { invocations: 0, ms: 0 };
    counters.lambda[fn] = x;
    x.invocations += invocations;
    // Lambda bills each invocation's duration rounded up to the millisecond.
    x.ms += Math.ceil(ms);
  };
  const timed = async <T>(fn: string, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      invoked(fn, performance.now() - start);
    }
  };

  // The functions' own log lines (Powertools, at the level the stack leaves them: INFO), counted
  // and kept off the terminal.
  logger.setLogLevel('INFO');
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    if (text.startsWith('{')) {
      counters.logBytes += Buffer.byteLength(text);
      return true;
    }
    return (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;

  const clock = manualClock(Date.now() - 6 * 60 * 60 * 1000);
  process.env.CONFIRMATIONS_PER_HOUR ??= '1000000';
  let runtime: Runtime | undefined;
  try {
    runtime = await startRuntime({
      dataDir,
      port: 0,
      loadSamples: false,
      publishIntervalMs: 0,
      // Alerts are handled when the model asks, so their work lands in their own unit.
      alertIntervalMs: 0,
      dynamodbEndpoint: proxy.endpoint,
      now: clock.now,
    });
    const rt = runtime;

    // SNS PublishBatch: a request per call, each 64 KB of payload billed as one.
    const publishBatch = rt.topic.publishBatch.bind(rt.topic);
    rt.topic.publishBatch = async (messages) => {
      const bytes = messages.reduce((sum, m) => sum + Buffer.byteLength(m.body), 0);
      counters.snsRequests += Math.max(1, Math.ceil(bytes / (64 * 1024)));
      return publishBatch(messages);
    };
    const lastMail = new Map<string, string>();
    const send = rt.mailer.send.bind(rt.mailer);
    (rt.mailer as Mailer).send = async (email) => {
      counters.emails++;
      counters.emailBytes += Buffer.byteLength(email.html) + Buffer.byteLength(email.text);
      lastMail.set(email.to, email.text);
      return send(email);
    };

    const db = createDocumentClient({ endpoint: proxy.endpoint });
    const objects = countingObjects(makeFolderObjectStore(rt.siteDir), counters);
    const publishHandler = makePublishHandler({
      store: makeEventStore(db, LOCAL_TABLE),
      objects,
      site: defaultSiteConfig(rt.url),
      lease: makeLease(db, LOCAL_TABLE, 'publish'),
    });
    const publishRun = () =>
      timed('publish-site', () =>
        publishHandler({}, { ...lambdaContext('publish-site'), getRemainingTimeInMillis: () => 900_000 }),
      );

    const api = async (fn: string, path: string, init: RequestInit & { auth?: boolean } = {}) => {
      counters.apiRequests++;
      if (init.auth) invoked('authorize-request', 0);
      const headers = new Headers(init.headers);
      if (init.auth) headers.set('authorization', `Bearer ${rt.apiKey}`);
      return timed(fn, async () => {
        const res = await fetch(`${rt.url}${path}`, { ...init, headers });
        return { status: res.status, text: await res.text() };
      });
    };
    const eventInput = (n: number, tags: string[]) => ({
      date: new Date(clock.ms()).toISOString().slice(0, 10),
      headline: `Cost model event ${n}: a minister announces a policy change after talks with regional leaders`,
      body: 'A paragraph of reporting about the event, long enough to be a realistic summary. '.repeat(6),
      topic: 'Politics and elections',
      tags,
      sources: [{ name: 'Wire', url: `https://news.example.org/story/${n}` }],
    });
    const tagsOf = (n: number) => [TAGS[n % TAGS.length], TAGS[(n * 3 + 1) % TAGS.length]] as string[];

    // Seeding (not counted): an archive to publish into, and the readers digests go to.
    const seed = Array.from({ length: 40 }, (_, n) => eventInput(1000 + n, tagsOf(n)));
    const seeded = await fetch(`${rt.url}/api/events/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rt.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: seed }),
    });
    if (seeded.status !== 200) throw new Error(`seeding answered ${seeded.status}: ${await seeded.text()}`);
    await rt.capture.idle();
    await publishHandler({ full: true }, lambdaContext('publish-site'));
    const keys = linkKeysOf(rt.tokenSecret);
    const cursor = clock.now();
    const subscribers = Array.from({ length: SUBSCRIBERS - SIGNUPS }, (_, n) => {
      const id = subscriberIdOf(keys, `seeded${n}@example.org`);
      return {
        ...subscriberKey(id),
        type: 'subscriber',
        id,
        email: `seeded${n}@example.org`,
        tags: tagsOf(n).map((name) => ({ slug: tagSlug(name), name })),
        cadence: 'daily',
        status: 'confirmed',
        createdAt: cursor,
        confirmedAt: cursor,
        cursor,
        tokenVersion: 0,
        [TABLE.digestIndex.partitionKey]: digestPartition('daily', digestShardOf(id)),
        [TABLE.digestIndex.sortKey]: id,
      };
    });
    for (let i = 0; i < subscribers.length; i += 25) {
      await db.send(
        new BatchWriteCommand({
          RequestItems: {
            [LOCAL_TABLE]: subscribers.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
          },
        }),
      );
    }
    clock.advance(60);

    // A confirmation: the sign-up (its email) and the link opened.
    let s = snap();
    for (let n = 0; n < SIGNUPS; n++) {
      const email = `reader${n}@example.org`;
      // Sign-up reads the token secret and the origin secret: once per container, counted per call.
      counters.secretCalls += 2;
      const signup = await api('create-subscription', '/api/subscriptions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, tags: tagsOf(n), cadence: 'daily' }),
      });
      if (signup.status !== 202) throw new Error(`sign-up answered ${signup.status}: ${signup.text}`);
      const link = /https?:\/\/[^\s<>"]+\/api\/subscriptions\/confirm\?token=[A-Za-z0-9_.-]+/.exec(
        lastMail.get(email) ?? '',
      )?.[0];
      if (!link) throw new Error(`no confirmation link mailed to ${email}`);
      counters.secretCalls += 1;
      const url = new URL(link);
      const confirmed = await api('confirm-subscription', `${url.pathname}${url.search}`, {
        method: 'POST',
        headers: { accept: 'application/json' },
      });
      if (confirmed.status !== 200)
        throw new Error(`confirmation answered ${confirmed.status}: ${confirmed.text}`);
      // The product's limits stand: one client address signs up at most 10 times an hour.
      clock.advance(400);
    }
    const confirmation = since(s);

    // Empty publish runs: the schedule's cost with nothing to do.
    s = snap();
    for (let n = 0; n < EMPTY_PUBLISH_RUNS; n++) await publishRun();
    const publishEmpty = since(s);

    // Events, one at a time as they arrive at low rates: posted, projected (one stream batch each),
    // then one publish run each.
    let eventTotal: Measured | undefined;
    let publishTotal: Measured | undefined;
    const add = (total: Measured | undefined, m: Measured): Measured => {
      if (!total) return m;
      const dynamo = total.dynamo;
      for (const [k, v] of Object.entries(m.dynamo.requests))
        dynamo.requests[k] = (dynamo.requests[k] ?? 0) + v;
      dynamo.readUnits += m.dynamo.readUnits;
      dynamo.tableWriteUnits += m.dynamo.tableWriteUnits;
      dynamo.indexWriteUnits += m.dynamo.indexWriteUnits;
      dynamo.conditionalFailures += m.dynamo.conditionalFailures;
      const c = total.counters;
      for (const [fn, x] of Object.entries(m.counters.lambda)) {
        const y = c.lambda[fn] ?? { invocations: 0, ms: 0 };
        c.lambda[fn] = y;
        y.invocations += x.invocations;
        y.ms += x.ms;
      }
      for (const key of Object.keys(c) as (keyof Counters)[]) {
        if (key !== 'lambda') (c[key] as number) += m.counters[key] as number;
      }
      return total;
    };
    for (let n = 0; n < EVENTS; n++) {
      clock.advance(60);
      s = snap();
      const posted = await api('post-event', '/api/events', {
        method: 'POST',
        auth: true,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(eventInput(n, tagsOf(n))),
      });
      if (posted.status !== 201) throw new Error(`post answered ${posted.status}: ${posted.text}`);
      await timed('process-changes', () => rt.capture.idle());
      eventTotal = add(eventTotal, since(s));
      s = snap();
      await publishRun();
      publishTotal = add(publishTotal, since(s));
    }

    // A daily digest to every subscriber, and an empty run (no weekly readers) for the schedule.
    clock.advance(10 * 60);
    const queue = new LocalDigestQueue();
    const digestDeps: DigestDeps = {
      store: makeDigestStore(db, LOCAL_TABLE, createLowLevelClient({ endpoint: proxy.endpoint })),
      queue: {
        async send(messages) {
          // SendMessageBatch, 10 a call.
          counters.sqsRequests += Math.ceil(messages.length / 10);
          return queue.send(messages);
        },
      },
      mailer: rt.mailer,
      compose: digestComposer({
        site: defaultSiteConfig(rt.url),
        from: 'Tidings <tidings@localhost>',
        tokenSecret: staticTokenSecret(rt.tokenSecret),
        now: clock.ms,
      }),
      schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
      sendRate: 0,
      now: clock.ms,
      tuning: { settleMs: 0 },
    };
    const digestRun = async (cadence: 'daily' | 'weekly') => {
      await timed('plan-digests', () => startDigestRun(digestDeps, cadence, { manual: true }));
      let messages = 0;
      let ms = 0;
      const report = await queue.drain(async (message) => {
        messages++;
        const start = performance.now();
        try {
          return await handleDigestMessage(digestDeps, message);
        } finally {
          ms += performance.now() - start;
        }
      });
      // Lambda reads the queue in batches: a receive and a delete per batch, an invocation per batch.
      const batches = Math.ceil(messages / template.digestBatchSize);
      invoked('send-digests', ms, batches);
      counters.sqsRequests += 2 * batches;
      counters.secretCalls += batches;
      return report;
    };
    s = snap();
    const daily = await digestRun('daily');
    const digestRunMeasured = since(s);
    s = snap();
    await digestRun('weekly');
    const digestEmpty = since(s);

    // Instant alerts: readers following the events' tags, a burst of events, the alerts it makes.
    // The events' posting and projection are the event unit's; the changes' queuing for followers
    // (each event's record, the followers' waiting sets), the looks and the sends are this one's.
    await rt.alerts();
    const subscriptionStore = makeSubscriptionStore(db, LOCAL_TABLE);
    for (let n = 0; n < ALERT_SUBSCRIBERS; n++) {
      const email = `instant${n}@example.org`;
      const at = clock.now();
      await subscriptionStore.createSubscriber({
        id: subscriberIdOf(keys, email),
        email,
        tags: tagsOf(n).map((name) => ({ slug: tagSlug(name), name })),
        topics: [],
        cadence: 'instant',
        status: 'confirmed',
        createdAt: at,
        confirmedAt: at,
        changedAt: at,
        tokenVersion: 0,
        revision: 1,
      });
    }
    const alertQueue = rt.alertQueue;
    let alertMessages = 0;
    const deliver = alertQueue.deliver.bind(alertQueue);
    alertQueue.deliver = (changes) => {
      // SNS's deliveries to SQS are free of SNS charges; each is a request to SQS.
      counters.sqsRequests += changes.length;
      alertMessages += changes.length;
      deliver(changes);
    };
    const schedule = alertQueue.schedule.bind(alertQueue);
    alertQueue.schedule = async (looks) => {
      counters.sqsRequests += Math.ceil(looks.length / 10);
      alertMessages += looks.length;
      return schedule(looks);
    };
    clock.advance(60);
    const alertBurst = Array.from({ length: ALERT_EVENTS }, (_, n) => eventInput(2000 + n, tagsOf(n)));
    const burst = await fetch(`${rt.url}/api/events/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rt.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: alertBurst }),
    });
    if (burst.status !== 200) throw new Error(`alert burst answered ${burst.status}: ${await burst.text()}`);
    await rt.capture.idle();
    s = snap();
    const alertStarted = performance.now();
    let alerted = await rt.alerts();
    clock.advance(30);
    const looked = await rt.alerts();
    alerted = { ...alerted, sent: alerted.sent + looked.sent };
    // The event source hands the worker up to 100 messages a batch: a receive and a delete each.
    const alertBatches = Math.ceil(alertMessages / 100);
    invoked('send-alerts', performance.now() - alertStarted, alertBatches);
    counters.sqsRequests += 2 * alertBatches;
    counters.secretCalls += alertBatches;
    const alertMeasured = since(s);
    if (alerted.sent === 0) throw new Error('the alert burst sent no alert');

    // A feed poll: what the site feed weighs as served.
    const feed = await fetch(`${rt.url}/${feedPath({ kind: 'site' }, 'rss')}`);
    const feedBytes = (await feed.arrayBuffer()).byteLength;

    // Storage: what the table holds per event and per subscriber, items and index entries.
    const scanner = createLowLevelClient({ endpoint: dynamo.endpoint });
    let eventBytes = 0;
    let subscriberBytes = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await scanner.send(
        new ScanCommand({ TableName: LOCAL_TABLE, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) {
        const pk = item.PK?.S ?? '';
        let bytes = sizes.itemSize(item as unknown as AttributeMap) + ITEM_OVERHEAD;
        for (const index of TABLE_INDEXES) {
          const entry = sizes.projectedSize(index, item as unknown as AttributeMap);
          if (entry !== undefined) bytes += entry + ITEM_OVERHEAD;
        }
        if (/^(EVENT#|TAG#|CHANGES#)/.test(pk)) eventBytes += bytes;
        else if (pk.startsWith('SUBSCRIBER#')) subscriberBytes += bytes;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    scanner.destroy();
    const events = seed.length + EVENTS;
    const storage: StoragePerUnit = {
      tableBytesPerEvent: eventBytes / events,
      tableBytesPerSubscriber: subscriberBytes / SUBSCRIBERS,
      siteBytesPerEvent: folderBytes(rt.siteDir) / events,
    };
    db.destroy();

    return {
      template,
      units: {
        event: scaleMeasured(eventTotal as Measured, EVENTS),
        publishRun: scaleMeasured(publishTotal as Measured, EVENTS),
        publishEmpty: scaleMeasured(publishEmpty, EMPTY_PUBLISH_RUNS),
        digest: scaleMeasured(digestRunMeasured, SUBSCRIBERS),
        alert: scaleMeasured(alertMeasured, alerted.sent),
        digestEmpty,
        confirmation: scaleMeasured(confirmation, SIGNUPS),
      },
      storage,
      feedBytes,
      digestsSent: daily.sent,
      alertsSent: alerted.sent,
    };
  } finally {
    process.stdout.write = write as typeof process.stdout.write;
    await runtime?.stop();
    await proxy.close();
    await dynamo.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
};

/** The targets of issue 18, judged on what is paid once the always-free allowances are taken off. */
export const TARGETS = { fixed: 5, a: 10 } as const;

export interface CostReport {
  pricesDate: string;
  template: StackFacts;
  /** Per unit of work, priced quantities. */
  units: UnitsOfWork;
  fixed: Usage;
  storage: StoragePerUnit;
  bills: { name: string; scale?: (typeof SCALES)[number]; bill: Bill }[];
  targets: { name: string; limit: number; value: number; met: boolean }[];
  /** The most alarm metrics the fixed part can hold and still meet its target. */
  alarmMetricsWithinTarget: number;
  /** What the fixed part and scale (a) cost (after the free allowances) with other numbers of alarm metrics. */
  alarmSensitivity: { alarmMetrics: number; fixed: number; a: number }[];
}

/** Prices what was measured: the fixed part, the units of work, and the three scales. */
export const buildReport = (m: Measurements): CostReport => {
  const t = m.template;
  const fixed: Usage = {
    alarmMetrics: t.alarmMetrics,
    dashboards: t.dashboards,
    // Custom metrics are billed by the hours they have data, and an idle stack writes none (no
    // zeros, nothing from a run with nothing to do): none in the fixed part, all of them at scale.
    customMetrics: 0,
    secrets: t.secrets,
    kmsKeys: t.kmsKeys,
    kmsRequests: KMS_DATA_KEYS_PER_MONTH,
    sqsRequests: t.sqsPollers * SQS_IDLE_RECEIVES_PER_MONTH,
  };
  addUsage(fixed, usageOf(m.units.publishEmpty, t), PUBLISH_RUNS_PER_MONTH);
  addUsage(fixed, usageOf(m.units.digestEmpty, t), DIGEST_RUNS_PER_MONTH);
  addUsage(fixed, { logsStorage: fixed.logsIngestion ?? 0 });
  const units: UnitsOfWork = {
    event: usageOf(m.units.event, t),
    publishPerEvent: subtractUsage(usageOf(m.units.publishRun, t), usageOf(m.units.publishEmpty, t)),
    digest: subtractUsage(usageOf(m.units.digest, t), usageOf(m.units.digestEmpty, t), 1 / SUBSCRIBERS),
    alert: usageOf(m.units.alert, t),
    confirmation: usageOf(m.units.confirmation, t),
    poll: {
      cloudfrontRequests: 1,
      cloudfrontTransfer: POLL_BYTES / GB,
      ...(t.cloudfrontFunctions > 0 ? { cloudfrontFunctions: 1 } : {}),
      logsIngestion: CDN_ACCESS_LOG_BYTES / GB,
    },
  };
  const fixedBill = priceUsage(fixed);
  const bills: CostReport['bills'] = [{ name: 'fixed', bill: fixedBill }];
  const busy: Usage = { ...fixed, customMetrics: t.customMetrics };
  for (const scale of SCALES) {
    bills.push({ name: scale.name, scale, bill: priceUsage(monthlyUsage(busy, units, m.storage, scale)) });
  }
  const after = (name: string) => bills.find((b) => b.name === name)?.bill.after ?? Number.NaN;
  const targets = Object.entries(TARGETS).map(([name, limit]) => ({
    name,
    limit,
    value: after(name),
    met: after(name) <= limit,
  }));
  const alarmLine = fixedBill.lines.find((l) => l.key === 'alarmMetrics');
  const rest = fixedBill.after - (alarmLine?.after ?? 0);
  const alarmMetricsWithinTarget =
    PRICES.alarmMetrics.free +
    Math.max(0, Math.floor((TARGETS.fixed - rest) / PRICES.alarmMetrics.usd + 1e-9));
  const alarmCost = (n: number) => Math.max(0, n - PRICES.alarmMetrics.free) * PRICES.alarmMetrics.usd;
  const now = alarmCost(t.alarmMetrics);
  const alarmSensitivity = [...new Set([t.alarmMetrics, 40, 30, 20, 10])]
    .sort((x, y) => y - x)
    .map((n) => ({
      alarmMetrics: n,
      fixed: after('fixed') - now + alarmCost(n),
      a: after('a') - now + alarmCost(n),
    }));
  return {
    pricesDate: PRICES_DATE,
    template: t,
    units,
    fixed,
    storage: m.storage,
    bills,
    targets,
    alarmMetricsWithinTarget,
    alarmSensitivity,
  };
};

const usd = (x: number) =>
  x >= 100 ? `$${x.toFixed(0)}` : x >= 0.01 || x === 0 ? `$${x.toFixed(2)}` : '<$0.01';
const qty = (x: number) =>
  x === 0 ? '0' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x >= 1 ? x.toFixed(2) : x.toPrecision(2);

const UNIT_NAMES: Record<keyof UnitsOfWork, string> = {
  event: 'an event ingested and projected',
  publishPerEvent: 'incremental publish, per event',
  digest: 'a daily digest, per subscriber',
  alert: 'an instant alert, with its share of the fan-out',
  confirmation: 'a sign-up and its confirmation',
  poll: 'a feed poll through CloudFront',
};

/** The report as Markdown: what the benchmark prints, and docs/costs.md. */
export const renderReport = (r: CostReport, m: Measurements): string => {
  const out: string[] = [];
  const scaleName = (b: CostReport['bills'][number]) =>
    b.scale
      ? `(${b.name}) ${b.scale.eventsPerDay.toLocaleString('en-US')} events/day, ${b.scale.subscribers.toLocaleString('en-US')} subscribers, ${b.scale.pollsPerDay.toLocaleString('en-US')} feed polls/day`
      : 'the fixed part (no traffic)';
  out.push('# Costs', '');
  out.push(
    `Monthly cost of a Tidings stack in us-east-1, from \`npm run bench -- cost\` (this page is its output),`,
    `at list prices looked up on **${r.pricesDate}** (bench/prices.ts, table below). Always-free`,
    'allowances are a line of their own; 12-month offers for new accounts are not counted.',
    '',
    'Run it again with `npm run bench -- cost` (well under two minutes; `-- cost --no-doc` leaves this page alone).',
    'It counts requests and capacity units, so a busy machine changes only the Lambda GB-seconds, which are',
    'measured durations.',
    '',
  );
  out.push('## Summary', '', '| | list price | always free | you pay |', '|---|---:|---:|---:|');
  for (const b of r.bills) {
    out.push(`| ${scaleName(b)} | ${usd(b.bill.before)} | −${usd(b.bill.free)} | **${usd(b.bill.after)}** |`);
  }
  out.push('', '| target | limit | you pay | |', '|---|---:|---:|---|');
  for (const t of r.targets) {
    out.push(
      `| ${t.name === 'fixed' ? 'fixed part' : `scale (${t.name})`} | ${usd(t.limit)} | ${usd(t.value)} | ${t.met ? 'met' : '**not met**'} |`,
    );
  }
  out.push(
    '',
    'Targets are judged on what you pay: list price less the always-free allowances (which do not expire).',
    '',
    `The template holds ${r.template.alarms} alarms (${r.template.alarmMetrics} alarm metrics at $${PRICES.alarmMetrics.usd.toFixed(2)}, ${PRICES.alarmMetrics.free} free),`,
    `${r.template.dashboards} dashboard(s), ${r.template.customMetrics} custom metrics, ${r.template.secrets} secrets and ${r.template.kmsKeys} KMS key(s).`,
    `Each alarm metric beyond the free ${PRICES.alarmMetrics.free} adds $${PRICES.alarmMetrics.usd.toFixed(2)} a month to every line; the fixed part meets`,
    `its target with at most ${r.alarmMetricsWithinTarget} alarm metrics, everything else as it is. Likewise each custom metric`,
    `beyond the free ${PRICES.customMetrics.free} adds $${PRICES.customMetrics.usd.toFixed(2)}, and each dashboard beyond ${PRICES.dashboards.free} $${PRICES.dashboards.usd.toFixed(2)}.`,
    '',
    '| alarm metrics | fixed part | scale (a) |',
    '|---:|---:|---:|',
    ...r.alarmSensitivity.map(
      (x) =>
        `| ${x.alarmMetrics}${x.alarmMetrics === r.template.alarmMetrics ? ' (today)' : ''} | ${usd(x.fixed)} | ${usd(x.a)} |`,
    ),
    '',
  );
  for (const b of r.bills) {
    out.push(`## ${scaleName(b)[0]?.toUpperCase()}${scaleName(b).slice(1)}`, '');
    out.push('| service | list price | you pay |', '|---|---:|---:|');
    for (const s of [...b.bill.services].sort((x, y) => y.before - x.before)) {
      out.push(`| ${s.service} | ${usd(s.before)} | ${usd(s.after)} |`);
    }
    out.push(`| **total** | **${usd(b.bill.before)}** | **${usd(b.bill.after)}** |`);
    out.push(`| always-free allowances | −${usd(b.bill.free)} | |`, '');
    out.push(
      '<details><summary>line by line</summary>',
      '',
      '| service | item | quantity | list price | you pay |',
      '|---|---|---:|---:|---:|',
    );
    for (const l of b.bill.lines) {
      out.push(
        `| ${l.service} | ${l.item} | ${qty(l.quantity)} ${l.unit} | ${usd(l.before)} | ${usd(l.after)} |`,
      );
    }
    out.push('', '</details>', '');
  }
  out.push('## Units of work (measured)', '');
  out.push(
    'Counted by running the real handlers locally (dynalite behind a counting proxy, the local runtime over',
    'HTTP, counting wrappers on the topic, mailer, object store and digest queue), averaged over',
    `${EVENTS} events posted one at a time (each projected in a stream batch of its own, then published),`,
    `${SIGNUPS} sign-ups, a daily digest run to ${SUBSCRIBERS.toLocaleString('en-US')} subscribers (${m.digestsSent} digests sent)`,
    `and a burst of ${ALERT_EVENTS} events to ${ALERT_SUBSCRIBERS} instant subscribers (${m.alertsSent} alerts sent).`,
    `At each scale a tenth of the subscribers (INSTANT_SHARE) take ${ALERTS_PER_INSTANT_SUBSCRIBER_DAY} alerts a day instead of a digest.`,
    '',
    '| unit of work | DynamoDB requests | RRU | WRU (table + index) | Lambda invocations | GB-s | other |',
    '|---|---|---:|---:|---:|---:|---|',
  );
  const measuredOf: Record<keyof UnitsOfWork, Measured | undefined> = {
    event: m.units.event,
    publishPerEvent: {
      counters: diffCounters(m.units.publishRun.counters, m.units.publishEmpty.counters),
      dynamo: diffDynamoCounts(m.units.publishRun.dynamo, m.units.publishEmpty.dynamo),
    },
    digest: m.units.digest,
    alert: m.units.alert,
    confirmation: m.units.confirmation,
    poll: undefined,
  };
  for (const key of Object.keys(UNIT_NAMES) as (keyof UnitsOfWork)[]) {
    const u = r.units[key];
    const mm = measuredOf[key];
    const requests = mm
      ? Object.entries(mm.dynamo.requests)
          .filter(([k]) => !['DescribeTable', 'CreateTable'].includes(k))
          .map(([k, v]) => `${k} ${qty(v)}`)
          .join(', ')
      : '';
    const wru = mm ? `${qty(mm.dynamo.tableWriteUnits)} + ${qty(mm.dynamo.indexWriteUnits)}` : '';
    const other = (
      [
        ['apiRequests', 'API requests'],
        ['snsPublishes', 'SNS publishes'],
        ['sesEmails', 'emails'],
        ['sqsRequests', 'SQS requests'],
        ['s3Put', 'S3 PUT'],
        ['s3Get', 'S3 GET/HEAD'],
        ['secretCalls', 'secret reads'],
        ['cloudfrontRequests', 'CloudFront requests'],
        ['cloudfrontTransfer', 'GB out'],
        ['cloudfrontFunctions', 'CloudFront Function runs'],
        ['logsIngestion', 'GB of logs'],
      ] as [PriceKey, string][]
    )
      .filter(([k]) => (u[k] ?? 0) > 0)
      .map(([k, name]) => `${name} ${qty(u[k] ?? 0)}`)
      .join(', ');
    out.push(
      `| ${UNIT_NAMES[key]} | ${requests} | ${qty(u.dynamoRead ?? 0)} | ${wru} | ${qty(u.lambdaRequests ?? 0)} | ${qty(u.lambdaArmGbSeconds ?? 0)} | ${other} |`,
    );
  }
  out.push(
    '',
    'Events are measured one per stream batch, as they arrive at low rates; at higher rates a batch of several',
    'shares its reads, marks and `PublishBatch` calls, so the event row is an upper bound there too.',
    `The publish row is a run with one new event; the model charges its difference from an empty run per event`,
    `(an empty run is in the fixed part, ${PUBLISH_RUNS_PER_MONTH.toLocaleString('en-US')} a month). At higher rates several events share`,
    'a run and its site pages, so the figure is an upper bound there. The digest row is a whole run divided by its',
    'subscribers, less an empty run (in the fixed part, daily and weekly).',
    '',
    `Storage (priced as it stands after ${STORAGE_AFTER_DAYS} days at the scale's rate): ${qty(m.storage.tableBytesPerEvent)} table bytes per event`,
    `(event item, tag entries, change log, index entries, 100 bytes of overhead each), ${qty(m.storage.tableBytesPerSubscriber)} per subscriber,`,
    `${qty(m.storage.siteBytesPerEvent)} site bytes per event (the whole site over the events it holds). The site feed measured ${qty(m.feedBytes)} bytes`,
    `uncompressed (CloudFront compresses it); a poll is priced at ${POLL_BYTES / 1024} KB as the issue sizes it.`,
    '',
  );
  out.push(
    '## Method and assumptions',
    '',
    "- **DynamoDB**: the proxy asks every request for its consumed capacity (dynalite computes the table's units",
    '  from item sizes as DynamoDB does); index writes are computed from the item before and after each write,',
    '  1 unit per KB of the projected entry, rounded up, per index holding it (twice when its index key moves). A write',
    '  refused by its condition counts 1 unit. On-demand prices; stream reads by Lambda are free.',
    '- **Lambda**: invocations counted per handler call (an SQS batch of the digest queue is one invocation);',
    "  GB-seconds from durations measured on this machine, scaled to each function's memory in the template.",
    '  API calls are timed over HTTP, so their duration includes the local server: an upper bound. The authorizer',
    '  is counted once per write request although API Gateway caches its answer 5 minutes.',
    `  Log lines: what the functions log (Powertools, INFO) plus ${PLATFORM_LOG_BYTES} bytes of platform records per invocation and`,
    `  ${API_ACCESS_LOG_BYTES} bytes of API access log per request (estimates); logs are kept ${[...new Set(r.template.logRetentionDays)].join('/')} days, so storage is about a month of ingestion.`,
    "- **SNS**: one request per `PublishBatch` call, more when its payload passes 64 KB. Deliveries to integrators' own",
    '  subscriptions are theirs to count (deliveries to SQS and Lambda are free, HTTPS $0.60 per million).',
    '- **SES**: one per email sent (confirmations, digests).',
    '- **S3**: what the publisher asks of the object store: a HEAD per object it may write, a PUT when the bytes changed,',
    "  a DELETE (free) for removed pages. CloudFront's origin fetches (feeds are cached 300 s) are not priced: at most one",
    '  per feed and edge cache every 5 minutes, under a cent a month each.',
    `- **SQS**: \`SendMessageBatch\` per 10 messages, a receive and a delete per batch of ${r.template.digestBatchSize}; while idle, Lambda's poller`,
    `  long-polls each queue it reads (estimate: ${SQS_IDLE_RECEIVES_PER_MONTH.toLocaleString('en-US')} receives a month per queue; ${r.template.sqsPollers} such queue(s)).`,
    '- **CloudWatch**: alarm metrics, dashboards from the synthesized template; custom metrics are the business metrics of',
    '  shared/metrics.ts (one dimension set each), billed by the hours they have data: an idle stack writes none (no zeros,',
    '  nothing from a run with nothing to do), so none in the fixed part, and all of them every month at each scale.',
    `- **CloudFront**: a request, ${POLL_BYTES / 1024} KB out, a CloudFront Function run (the default behaviour's viewer-request function) and`,
    `  an access-log line of some ${CDN_ACCESS_LOG_BYTES} bytes in CloudWatch Logs per poll; the first-10-TB price for all traffic.`,
    '- **Secrets Manager**: the secrets in the template; reads counted per invocation of a function that reads one',
    '  (they are read once per container: an upper bound).',
    `- **KMS**: the customer managed key(s) in the template; requests estimated at ${KMS_DATA_KEYS_PER_MONTH.toLocaleString('en-US')} a month (SNS asks for a data key at most every 5 minutes).`,
    `- **Sign-ups**: ${CONFIRMATIONS_PER_SUBSCRIBER_MONTH * 100}% of the subscribers a month (an assumption). Digests: every subscriber gets a daily digest.`,
    '- Not priced: EventBridge scheduled rules (no charge for scheduled events on the default bus, as far as we',
    "  could tell: unconfirmed), data transfer of API answers (small), the S3 access-log bucket's storage, SES feedback",
    '  notifications (one per bounce or complaint), CloudTrail, Route 53 and ACM (none in the stack), taxes.',
    "- CloudFront's access log lines are vended logs; in us-east-1 their first price tier is the same $0.50 per GB.",
    '  Whether they share the 5 GB free allowance was not confirmed; the model lets them.',
    '',
    `## Prices (us-east-1, looked up ${r.pricesDate})`,
    '',
    '| service | item | price | always free | checked | source |',
    '|---|---|---:|---|---|---|',
  );
  for (const p of Object.values(PRICES)) {
    const free =
      'free' in p ? `${p.free.toLocaleString('en-US')} ${p.unit}` : 'freeNote' in p ? p.freeNote : 'none';
    out.push(
      `| ${p.service} | ${p.item} | $${p.usd} per ${p.per.toLocaleString('en-US')} ${p.unit} | ${free} | ${p.checked} | ${p.source} |`,
    );
  }
  out.push(
    '',
    "`checked`: `aws` read on an aws.amazon.com page that day; `secondary` only on third-party pages quoting AWS's",
    'pricing page; `unconfirmed` neither: the last known price, to be checked before relying on it.',
    '',
  );
  return out.join('\n');
};

export const runCost = async (args: string[]) => {
  const started = performance.now();
  const measured = await measure();
  const report = buildReport(measured);
  const markdown = renderReport(report, measured);
  console.log(markdown);
  const path = writeResult('cost', { ...report, measured: measured.units });
  console.log(`cost: wrote ${path}`);
  if (!args.includes('--no-doc')) {
    writeFileSync(DOC, `${markdown}\n`);
    // The project's formatter lays out Markdown tables; the page is kept as it would leave them.
    execFileSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', DOC], {
      stdio: 'ignore',
    });
    console.log(`cost: wrote ${DOC}`);
  }
  console.log(`cost: took ${((performance.now() - started) / 1000).toFixed(1)} s`);
};
