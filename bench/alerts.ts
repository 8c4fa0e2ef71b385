/**
 * `npm run bench -- alerts [SUBSCRIBERS]`: instant alerts for 10,000 subscribers (instant cadence,
 * 5 tags each out of 2,000 by Zipf popularity) while 1,000 events are posted in 10 bursts spaced by
 * the coalescing window, against dynalite, on a simulated clock: the gather and the windows pass at
 * once, everything else (the table, rendering, MIME) takes the time it takes.
 *
 * Each burst's events are written to the table as the API would store them, and their change
 * messages (as the topic delivers them, raw) reach the alert queue as one batch, as the event
 * source's batching window gathers them; the stream's projection has a benchmark of its own. The
 * worker then queues each change for its followers and, when the clock reaches the looks, sends
 * what is due through the same service the deployed function runs (batches of 100 looks, two at
 * once, as the event source's default concurrency), composing each MIME message (which a
 * discarding mailer then drops).
 *
 * Prints emails sent, events per email, post-to-outbox latency outside the coalescing wait (real
 * time from a burst's first write to each of its emails; the simulated wait adds nothing) and alerts
 * composed per second (alerts sent over the real time of the looks that sent them); checks that every
 * subscriber whose tags a burst touched got exactly one email for it listing each of those events
 * once; writes bench/results/alerts.json.
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { LocalAlertQueue } from '../local/alert-queue.js';
import { ensureTable, startDynalite } from '../local/dynamodb.js';
import { makeAlertStore, type StateWriter } from '../shared/adapters/alert-store.js';
import { createDocumentClient, createLowLevelClient } from '../shared/adapters/dynamodb.js';
import { toEventItem } from '../shared/adapters/event-store.js';
import type { Mailer } from '../shared/adapters/mailer.js';
import { composeMessage } from '../shared/adapters/mime.js';
import { toSubscriberItem } from '../shared/adapters/subscription-store.js';
import { staticTokenSecret } from '../shared/adapters/token-secret.js';
import { type Alert, DEFAULT_ALERT_SETTINGS, followsOf } from '../shared/domain/alerts.js';
import type { NewsEvent } from '../shared/domain/event.js';
import { defaultSiteConfig } from '../shared/domain/site.js';
import { tagSlug } from '../shared/domain/slug.js';
import type { SubscriberRecord } from '../shared/domain/subscriber-changes.js';
import { followKey } from '../shared/keys.js';
import { alertComposer } from '../shared/services/alert-email.js';
import {
  type AlertDeps,
  addAlertReports,
  type ChangeNotice,
  emptyAlertReport,
} from '../shared/services/alerts.js';
import { procStat } from './proc.js';
import { distinct, rng, zipf } from './random.js';
import { writeResult } from './results.js';

const TAGS = 2_000;
const TAGS_PER_SUBSCRIBER = 5;
const EVENTS = 1_000;
const BURSTS = 10;
const WINDOW_MS = DEFAULT_ALERT_SETTINGS.coalesceMs;
/** A Monday morning in UTC: ten windows later it is still the same day, so the daily cap (12) never holds. */
const START = Date.parse('2026-11-23T08:00:00.000Z');
const SITE = defaultSiteConfig('https://news.example.org');
const TABLE_NAME = 'bench-alerts';

const tagName = (k: number) => `Topic ${k + 1}`;

const buildSubscribers = (count: number): SubscriberRecord[] => {
  const random = rng(0xa1e27 ^ count);
  const drawTag = zipf(TAGS, random);
  return Array.from({ length: count }, (_, n) => ({
    id: `bench${String(n).padStart(8, '0')}`,
    email: `reader${n}@example.org`,
    topics: [],
    tags: distinct(TAGS_PER_SUBSCRIBER, drawTag).map((k) => ({
      slug: tagSlug(tagName(k)),
      name: tagName(k),
    })),
    cadence: 'instant',
    status: 'confirmed',
    createdAt: '2026-01-01T00:00:00.000Z',
    confirmedAt: '2026-01-01T00:00:00.000Z',
    changedAt: '2026-01-01T00:00:00.000Z',
    tokenVersion: 0,
    revision: 1,
  }));
};

const buildBursts = (): NewsEvent[][] => {
  const random = rng(0xb0257);
  const drawTag = zipf(TAGS, random);
  const perBurst = EVENTS / BURSTS;
  return Array.from({ length: BURSTS }, (_, b) =>
    Array.from({ length: perBurst }, (_, i) => {
      const n = b * perBurst + i;
      const at = new Date(START + b * WINDOW_MS + i * 50).toISOString();
      return {
        id: `2026/11/23/bench-alert-${n}`,
        date: '2026-11-23',
        headline: `Bench event ${n}: talks continue in the capital`,
        body: 'The first paragraph of a bench event, about as long as a real one.\n\nAnd a second.',
        tags: distinct(3 + Math.floor(random() * 3), drawTag).map((k) => ({
          name: tagName(k),
          slug: tagSlug(tagName(k)),
        })),
        sources: [{ name: 'Wire', url: `https://wire.example.org/${n}` }],
        publishedAt: at,
        updatedAt: at,
        revision: 1,
      };
    }),
  );
};

const load = async (db: ReturnType<typeof createDocumentClient>, items: Record<string, unknown>[]) => {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const start = next;
      next += 25;
      if (start >= items.length) return;
      let pending = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
      while (pending.length > 0) {
        const out = await db.send(new BatchWriteCommand({ RequestItems: { [TABLE_NAME]: pending } }));
        pending = (out.UnprocessedItems?.[TABLE_NAME] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
};

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number);

export const runAlerts = async (args: string[]): Promise<void> => {
  const subscriberCount = Number(args[0] ?? 10_000);
  if (!Number.isInteger(subscriberCount) || subscriberCount < 1)
    throw new Error('SUBSCRIBERS must be a whole number');
  const dynamo = await startDynalite();
  const db = createDocumentClient({ endpoint: dynamo.endpoint });
  const writes = createLowLevelClient({ endpoint: dynamo.endpoint });
  try {
    await ensureTable(db, TABLE_NAME);
    const subscribers = buildSubscribers(subscriberCount);
    const bursts = buildBursts();
    console.log(`alerts: loading ${subscriberCount} subscribers and their follower items…`);
    await load(db, [
      ...subscribers.map(toSubscriberItem),
      ...subscribers.flatMap((s) =>
        followsOf(s).map((f) => ({
          ...followKey(f.kind, f.slug, s.id),
          type: 'follow',
          kind: f.kind,
          slug: f.slug,
        })),
      ),
    ]);

    const clock = { now: START };
    const queue = new LocalAlertQueue(() => clock.now);
    const compose = alertComposer({
      site: SITE,
      from: 'news@example.org',
      tokenSecret: staticTokenSecret('bench-secret-0123456789abcdef0123456789abcdef'),
      now: () => clock.now,
    });
    let burst = 0;
    let burstStarted = 0;
    const latencies: number[] = [];
    /** Per burst, per subscriber: the event ids of each alert composed. */
    const received: Map<string, string[][]>[] = bursts.map(() => new Map());
    const timing = { renderMs: 0, mimeMs: 0 };
    const mailer: Mailer = {
      async send(email) {
        const mimeStarted = performance.now();
        await composeMessage(email);
        timing.mimeMs += performance.now() - mimeStarted;
        latencies.push(performance.now() - burstStarted);
        return { messageId: `bench-${latencies.length}` };
      },
    };
    // The store's requests by operation, to print what the looks that sent cost in requests.
    const requests = new Map<string, number>();
    const counted: StateWriter = {
      send: ((command: { constructor: { name: string } }) => {
        const name = command.constructor.name.replace(/Command$/, '');
        requests.set(name, (requests.get(name) ?? 0) + 1);
        return writes.send(command as never);
      }) as StateWriter['send'],
    };
    const lookRequests = new Map<string, number>();
    const deps: AlertDeps = {
      store: makeAlertStore(db, TABLE_NAME, counted),
      queue,
      mailer,
      compose: (alert: Alert) => {
        const mine = received[burst] as Map<string, string[][]>;
        const list = mine.get(alert.subscriber.id) ?? [];
        list.push(alert.items.map((i) => i.event.id));
        mine.set(alert.subscriber.id, list);
        const renderStarted = performance.now();
        return compose(alert).finally(() => {
          timing.renderMs += performance.now() - renderStarted;
        });
      },
      settings: DEFAULT_ALERT_SETTINGS,
      sendRate: 0,
      now: () => clock.now,
    };

    let report = emptyAlertReport();
    let lookMs = 0;
    // CPU of this process and of the store's, while looks send: unlike wall time, not inflated by other load.
    let lookCpuMs = 0;
    let storeCpuMs = 0;
    const ownCpu = () => (process.cpuUsage().user + process.cpuUsage().system) / 1000;
    const storeCpu = () => (dynamo.pid === undefined ? 0 : (procStat(dynamo.pid)?.cpuSeconds ?? 0) * 1000);
    for (burst = 0; burst < BURSTS; burst++) {
      const events = bursts[burst] as NewsEvent[];
      clock.now = START + burst * WINDOW_MS;
      burstStarted = performance.now();
      await load(
        db,
        events.map((e) => toEventItem(e)),
      );
      queue.deliver(
        events.map(
          (e): ChangeNotice => ({
            changeType: 'created',
            id: e.id,
            revision: e.revision,
            headline: e.headline,
            tags: e.tags,
          }),
        ),
      );
      report = addAlertReports(report, await queue.drain(deps, { lookBatch: 100, concurrency: 2 }));
      // The simulated clock moves from look to look within the window; the waits cost nothing.
      const windowEnd = START + (burst + 1) * WINDOW_MS;
      for (let due = queue.nextDue(); due !== undefined && due < windowEnd; due = queue.nextDue()) {
        clock.now = Math.max(clock.now, due);
        const started = performance.now();
        const ownStarted = ownCpu();
        const storeStarted = storeCpu();
        const requestsBefore = new Map(requests);
        const part = await queue.drain(deps, { lookBatch: 100, concurrency: 2 });
        if (part.sent > 0) {
          for (const [name, n] of requests)
            lookRequests.set(name, (lookRequests.get(name) ?? 0) + n - (requestsBefore.get(name) ?? 0));
          lookMs += performance.now() - started;
          lookCpuMs += ownCpu() - ownStarted;
          storeCpuMs += storeCpu() - storeStarted;
        }
        report = addAlertReports(report, part);
      }
      console.log(
        `  burst ${burst + 1}: ${(received[burst] as Map<string, string[][]>).size} emails, ` +
          `${Math.round(performance.now() - burstStarted)} ms`,
      );
    }

    // Every subscriber whose tags a burst touched: one email for it, each of its events once.
    let wrong = 0;
    const followers = new Map<string, SubscriberRecord[]>();
    for (const s of subscribers) {
      for (const t of s.tags) followers.set(t.slug, [...(followers.get(t.slug) ?? []), s]);
    }
    bursts.forEach((events, b) => {
      const expected = new Map<string, Set<string>>();
      for (const e of events) {
        for (const t of e.tags) {
          for (const s of followers.get(t.slug) ?? [])
            expected.set(s.id, (expected.get(s.id) ?? new Set()).add(e.id));
        }
      }
      const got = received[b] as Map<string, string[][]>;
      for (const [id, ids] of expected) {
        const emails = got.get(id) ?? [];
        const listedIds = emails[0] ?? [];
        if (emails.length !== 1 || listedIds.length !== ids.size || !listedIds.every((e) => ids.has(e)))
          wrong++;
      }
      for (const id of got.keys()) if (!expected.has(id)) wrong++;
    });

    const emails = latencies.length;
    const sorted = [...latencies].sort((a, b) => a - b);
    const result = {
      subscribers: subscriberCount,
      events: EVENTS,
      emails,
      p50Ms: Math.round(percentile(sorted, 50)),
      p99Ms: Math.round(percentile(sorted, 99)),
      alertsPerSec: Math.round(report.sent / (lookMs / 1000)),
    };
    console.log(`alerts: ${subscriberCount} instant subscribers, ${EVENTS} events in ${BURSTS} bursts`);
    console.log(
      `  emails sent             ${emails} (${(report.events / Math.max(1, emails)).toFixed(1)} events per email)`,
    );
    console.log(
      `  post-to-outbox latency  p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (outside the coalescing wait)`,
    );
    console.log(`  alerts composed         ${result.alertsPerSec} per second (target ≥ 500)`);
    console.log(
      `  per CPU second          ${Math.round(report.sent / ((lookCpuMs + storeCpuMs) / 1000))} alerts (this process ${Math.round(lookCpuMs)} ms, the store ${Math.round(storeCpuMs)} ms of CPU)`,
    );
    console.log(
      `  of the looks' ${Math.round(lookMs)} ms: rendering ${Math.round(timing.renderMs)} ms, MIME ${Math.round(timing.mimeMs)} ms (summed over concurrent work)`,
    );
    console.log(
      `  store requests per alert ${[...lookRequests]
        .filter(([, n]) => n > 0)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, n]) => `${name} ${(n / Math.max(1, report.sent)).toFixed(3)}`)
        .join(', ')} (in the looks that sent)`,
    );
    console.log(
      `  one email per burst per touched subscriber, each event once: ${wrong === 0 ? 'yes' : `NO (${wrong} wrong)`}`,
    );
    console.log(`  wrote ${writeResult('alerts', result)}`);
    if (wrong > 0 || report.failed > 0) process.exitCode = 1;
  } finally {
    db.destroy();
    writes.destroy();
    await dynamo.close();
  }
};
