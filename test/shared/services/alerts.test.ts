import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseAlertMessage } from '../../../functions/send-alerts.js';
import { LocalAlertQueue } from '../../../local/alert-queue.js';
import { type AlertStore, makeAlertStore, type StateWriter } from '../../../shared/adapters/alert-store.js';
import { toEventItem } from '../../../shared/adapters/event-store.js';
import { listFollowers } from '../../../shared/adapters/followers.js';
import { type Mailer, MailerThrottledError, type OutgoingEmail } from '../../../shared/adapters/mailer.js';
import { makeSubscriptionStore } from '../../../shared/adapters/subscription-store.js';
import { staticTokenSecret } from '../../../shared/adapters/token-secret.js';
import { type Alert, DEFAULT_ALERT_SETTINGS } from '../../../shared/domain/alerts.js';
import { buildChangeMessage, type ChangeType } from '../../../shared/domain/change-message.js';
import { type NewsEvent, type StoredEvent, tombstoneOf } from '../../../shared/domain/event.js';
import { defaultSiteConfig } from '../../../shared/domain/site.js';
import type { SubscriberRecord } from '../../../shared/domain/subscriber-changes.js';
import { recordingMetrics } from '../../../shared/metrics.js';
import { alertComposer } from '../../../shared/services/alert-email.js';
import {
  type AlertDeps,
  type ChangeNotice,
  DEFAULT_ALERT_TUNING,
  lookAtAlerts,
} from '../../../shared/services/alerts.js';
import { makeNewsEvent } from '../../helpers/builders.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';

const SITE = defaultSiteConfig('https://news.example.org');
const START = Date.parse('2026-03-10T12:00:00.000Z');
const MIN = 60_000;

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable();
});
afterAll(async () => {
  await table.close();
});

/** A subscriber written through the subscription store, as the API would (its follower items with it). */
const subscribe = async (n: number, over: Partial<SubscriberRecord> = {}): Promise<SubscriberRecord> => {
  const record: SubscriberRecord = {
    id: `sub-${n}-${Math.random().toString(36).slice(2, 8)}`,
    email: `reader${n}@example.org`,
    topics: [],
    tags: [
      { slug: 'syria', name: 'Syria' },
      { slug: 'iran', name: 'Iran' },
    ],
    cadence: 'instant',
    status: 'confirmed',
    createdAt: '2026-03-01T00:00:00.000Z',
    confirmedAt: '2026-03-01T00:00:00.000Z',
    changedAt: '2026-03-01T00:00:00.000Z',
    tokenVersion: 0,
    revision: 1,
    ...over,
  };
  await makeSubscriptionStore(table.db, table.tableName).createSubscriber(record);
  return record;
};

interface World {
  clock: { now: number };
  queue: LocalAlertQueue;
  deps: AlertDeps;
  sent: OutgoingEmail[];
  alerts: Alert[];
  /** Writes the event as stored and delivers its change message, as the topic would. */
  post(event: StoredEvent, changeType?: ChangeType): Promise<void>;
  /** Moves the clock and handles everything due. */
  at(ms: number): Promise<void>;
  /** Sends that fail, are throttled, or never answer (the worker dies with them); `during` runs inside each send. */
  mailer: { fail: number; throttle: number; hang: boolean; during?: () => void };
}

interface WorldOptions {
  /** The client the store's requests go through (to count them). */
  writes?: StateWriter;
  /** The store as the worker sees it (to make one of its writes fail). */
  store?: (store: AlertStore) => AlertStore;
}

const world = (settings: Partial<typeof DEFAULT_ALERT_SETTINGS> = {}, options: WorldOptions = {}): World => {
  const clock = { now: START };
  const now = () => clock.now;
  const queue = new LocalAlertQueue(now);
  const sent: OutgoingEmail[] = [];
  const alerts: Alert[] = [];
  const failing: World['mailer'] = { fail: 0, throttle: 0, hang: false };
  const mailer: Mailer = {
    async send(email) {
      failing.during?.();
      if (failing.hang) return new Promise<never>(() => {});
      if (failing.throttle > 0) {
        failing.throttle--;
        throw new MailerThrottledError();
      }
      if (failing.fail > 0) {
        failing.fail--;
        throw new Error('mail service down');
      }
      sent.push(email);
      return { messageId: `m-${sent.length}` };
    },
  };
  const compose = alertComposer({
    site: SITE,
    from: 'news@example.org',
    tokenSecret: staticTokenSecret('s'.repeat(32)),
    now,
  });
  const deps: AlertDeps = {
    store: (options.store ?? ((x) => x))(makeAlertStore(table.db, table.tableName, options.writes)),
    queue,
    mailer,
    compose: (alert) => {
      alerts.push(alert);
      return compose(alert);
    },
    settings: { ...DEFAULT_ALERT_SETTINGS, ...settings },
    sendRate: 0,
    now,
    tuning: { backoffMs: 1 },
    metrics: recordingMetrics(),
  };
  return {
    clock,
    queue,
    deps,
    sent,
    alerts,
    mailer: failing,
    async post(event, changeType = 'created') {
      await table.db.send(new PutCommand({ TableName: table.tableName, Item: toEventItem(event) }));
      const message = buildChangeMessage(changeType, event, SITE.siteUrl);
      queue.deliver([parseAlertMessage(message.body) as ChangeNotice]);
      await queue.drain(deps);
    },
    async at(ms) {
      clock.now = ms;
      await queue.drain(deps);
    },
  };
};

let n = 0;
const event = (tags: string[], over: Partial<NewsEvent> = {}): NewsEvent =>
  makeNewsEvent(++n, tags, {
    id: `2026/03/10/alert-${n}-${Math.random().toString(36).slice(2, 8)}`,
    date: '2026-03-10',
    publishedAt: '2026-03-10T12:00:00.000Z',
    updatedAt: '2026-03-10T12:00:00.000Z',
    ...over,
  });
/** The event ids of the `i`-th alert composed for this subscriber. */
const listed = (w: World, subscriber: SubscriberRecord, i: number) =>
  w.alerts.filter((a) => a.subscriber.id === subscriber.id)[i]?.items.map((item) => item.event.id);
const to = (w: World, email: string) => w.sent.filter((m) => m.to === email);

describe('instant alerts, on dynalite', () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  it('sends a lone event to its followers within a minute, with the RFC 8058 headers', async () => {
    const reader = await subscribe(1);
    const daily = await subscribe(2, { cadence: 'daily' });
    const other = await subscribe(3, { tags: [{ slug: 'brazil', name: 'Brazil' }] });
    const e = event(['Syria']);
    await w.post(e);
    expect(to(w, reader.email)).toHaveLength(0);
    await w.at(START + 20_000);
    expect(to(w, reader.email)).toHaveLength(1);
    expect(to(w, daily.email)).toHaveLength(0);
    expect(to(w, other.email)).toHaveLength(0);
    const [email] = to(w, reader.email);
    expect(email?.subject).toBe(e.headline);
    expect(email?.headers?.['List-Unsubscribe']).toMatch(/^<https:\/\/news\.example\.org\/.+>$/);
    expect(email?.headers?.['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(email?.text).toContain('UTC');
    // The topic delivers at least once: the same change again, after its alert, sends nothing.
    w.clock.now = START + 15 * MIN;
    await w.post(e);
    await w.at(START + 40 * MIN);
    expect(to(w, reader.email)).toHaveLength(1);
  });

  it('alerts a follower of a topic label about an event carrying it, whatever its tags', async () => {
    const label = { slug: 'armed-conflicts-and-attacks', name: 'Armed conflicts and attacks' };
    const reader = await subscribe(30, { tags: [], topics: [label] });
    const both = await subscribe(31, { tags: [{ slug: 'syria', name: 'Syria' }], topics: [label] });
    const e = event(['Atlantis'], { topic: 'Armed conflicts and attacks' });
    const other = event(['Atlantis'], { topic: 'Disasters and accidents' });
    await w.post(e);
    await w.post(other);
    await w.at(START + 20_000);
    expect(to(w, reader.email).map((m) => m.subject)).toEqual([e.headline]);
    expect(listed(w, reader, 0)).toEqual([e.id]);
    const [email] = to(w, reader.email);
    // Listed under the label, with a way to leave that label alone.
    expect(email?.text).toContain('== Armed conflicts and attacks ==');
    expect(email?.text).toMatch(/Unsubscribe from Armed conflicts and attacks: https:\/\//);
    // Following both the event's tag and its label: one alert, the event once.
    const tagged = event(['Syria'], { topic: 'Armed conflicts and attacks' });
    w.clock.now = START + 15 * MIN;
    await w.post(tagged);
    await w.at(START + 30 * MIN);
    expect(listed(w, both, 1)).toEqual([tagged.id]);
    expect(to(w, both.email)).toHaveLength(2);
  });

  it('coalesces: events in the window after an alert go together at its end, each once', async () => {
    const reader = await subscribe(4);
    const first = event(['Syria']);
    await w.post(first);
    await w.at(START + 20_000);
    const a = event(['Syria']);
    const b = event(['Iran', 'Syria']);
    w.clock.now = START + 2 * MIN;
    await w.post(a);
    w.clock.now = START + 5 * MIN;
    await w.post(b);
    // A redelivered change is the same event: it is listed once.
    await w.post(a);
    await w.at(START + 9 * MIN);
    expect(to(w, reader.email)).toHaveLength(1);
    await w.at(START + 20_000 + 10 * MIN);
    expect(to(w, reader.email)).toHaveLength(2);
    expect(listed(w, reader, 1)?.sort()).toEqual([a.id, b.id].sort());
    // Both under Syria, the first of the reader's tags that each carries.
    expect(to(w, reader.email)[1]?.subject).toBe('2 new events: Syria');
    // Nothing else waits.
    await w.at(START + 60 * MIN);
    expect(to(w, reader.email)).toHaveLength(2);
  });

  it('sends a correction only when its headline changed, and never a deleted event', async () => {
    const reader = await subscribe(5);
    const e = event(['Syria'], { headline: 'Talks open' });
    await w.post(e);
    await w.at(START + 20_000);
    expect(to(w, reader.email)).toHaveLength(1);
    // The body corrected: no news.
    await w.post(
      { ...e, body: 'Corrected body.', revision: 2, updatedAt: '2026-03-10T12:30:00.000Z' },
      'updated',
    );
    await w.at(START + 30 * MIN);
    expect(to(w, reader.email)).toHaveLength(1);
    // The headline corrected: an alert saying so.
    const renamed = { ...e, headline: 'Talks collapse', revision: 3, updatedAt: '2026-03-10T12:40:00.000Z' };
    w.clock.now = START + 40 * MIN;
    await w.post(renamed, 'updated');
    await w.at(START + 41 * MIN);
    expect(to(w, reader.email)).toHaveLength(2);
    expect(to(w, reader.email)[1]?.subject).toBe('Updated: Talks collapse');
    // Deleted after it was alerted: nothing follows (the topic's deletions do not even reach the queue).
    await w.post(tombstoneOf(renamed, '2026-03-10T12:50:00.000Z'), 'deleted');
    // Posted and deleted before its alert went: never alerted.
    const brief = event(['Syria']);
    w.clock.now = START + 90 * MIN;
    await w.post(brief);
    await table.db.send(
      new PutCommand({
        TableName: table.tableName,
        Item: toEventItem(tombstoneOf(brief, '2026-03-10T13:30:05.000Z')),
      }),
    );
    await w.at(START + 2 * 60 * MIN);
    expect(to(w, reader.email)).toHaveLength(2);
  });

  it('holds alerts past the daily cap until the next local day, then sends them in one', async () => {
    w = world({ dailyCap: 2 });
    const reader = await subscribe(6, { timeZone: 'Asia/Tokyo' });
    // 20:00 in Tokyo.
    const base = Date.parse('2026-03-10T11:00:00.000Z');
    const events = [event(['Syria']), event(['Syria']), event(['Syria']), event(['Iran'])];
    for (const [i, e] of events.entries()) {
      w.clock.now = base + i * 11 * MIN;
      await w.post(e);
      await w.at(base + i * 11 * MIN + 20_000);
    }
    expect(to(w, reader.email)).toHaveLength(2);
    // Tokyo's midnight is 15:00 UTC.
    await w.at(Date.parse('2026-03-10T14:59:00.000Z'));
    expect(to(w, reader.email)).toHaveLength(2);
    await w.at(Date.parse('2026-03-10T15:00:00.000Z'));
    expect(to(w, reader.email)).toHaveLength(3);
    expect(listed(w, reader, 2)?.sort()).toEqual([events[2]?.id, events[3]?.id].sort());
  });

  it('keeps quiet hours in the subscriber zone', async () => {
    const reader = await subscribe(7, { timeZone: 'Europe/Berlin', quietHours: { from: 22, to: 7 } });
    // 23:00 in Berlin.
    w.clock.now = Date.parse('2026-01-15T22:00:00.000Z');
    await w.post(event(['Iran']));
    await w.at(Date.parse('2026-01-16T05:59:00.000Z'));
    expect(to(w, reader.email)).toHaveLength(0);
    await w.at(Date.parse('2026-01-16T06:00:00.000Z'));
    expect(to(w, reader.email)).toHaveLength(1);
  });

  it('stops at once for a suppressed or unsubscribed address, and drops what waited', async () => {
    const subscriptions = makeSubscriptionStore(table.db, table.tableName);
    const bounced = await subscribe(8, { tags: [{ slug: 'chile', name: 'Chile' }] });
    const leaving = await subscribe(9, { tags: [{ slug: 'chile', name: 'Chile' }] });
    expect((await listFollowers(table.db, table.tableName, { kind: 'tag', slug: 'chile' })).sort()).toEqual(
      [bounced.id, leaving.id].sort(),
    );
    await w.post(event(['Chile']));
    await subscriptions.suppress(bounced.id, { reason: 'bounce', at: '2026-03-10T12:00:05.000Z' });
    await subscriptions.updateSubscriber({ ...leaving, status: 'unsubscribed' }, leaving);
    expect(await listFollowers(table.db, table.tableName, { kind: 'tag', slug: 'chile' })).toEqual([]);
    await w.at(START + 20_000);
    expect(w.sent).toHaveLength(0);
    // Nothing left waiting for them.
    const recipients = await w.deps.store.getRecipients([bounced.id, leaving.id]);
    expect([...recipients.values()].map((r) => r.state.pending)).toEqual([[], []]);
  });

  it('sends once when two workers look at the same subscriber at once', async () => {
    const reader = await subscribe(10, { tags: [{ slug: 'peru', name: 'Peru' }] });
    await w.post(event(['Peru']));
    w.clock.now = START + 20_000;
    const look = { subscriber: reader.id, at: new Date(START + 20_000).toISOString() };
    const results = await Promise.all([lookAtAlerts(w.deps, [look]), lookAtAlerts(w.deps, [look])]);
    await w.at(START + 20_000);
    expect(to(w, reader.email)).toHaveLength(1);
    expect(results.map((r) => r.report.sent).sort()).toEqual([0, 1]);
  });

  it('retries a failed send and a throttled one, and still sends once', async () => {
    const reader = await subscribe(11, { tags: [{ slug: 'cuba', name: 'Cuba' }] });
    await w.post(event(['Cuba']));
    w.mailer.throttle = 2;
    w.mailer.fail = 1;
    await w.at(START + 20_000);
    expect(to(w, reader.email)).toHaveLength(0);
    // The failed send undone at once: its event waits again, no window opened, nothing counted.
    const { state } = (await w.deps.store.getRecipients([reader.id])).get(reader.id) ?? {};
    expect(state).toMatchObject({ pending: [w.alerts[0]?.items[0]?.event.id], sentToday: 0 });
    expect(state?.claimId).toBeUndefined();
    expect(state?.lastSentAt).toBeUndefined();
    // SQS gives the look back after its visibility timeout.
    await w.at(START + 60_000);
    expect(to(w, reader.email)).toHaveLength(1);
    await w.at(START + 30 * MIN);
    expect(to(w, reader.email)).toHaveLength(1);
  });
});

/** Counts the requests the store sends, by command. */
const counting = () => {
  const counts: Record<string, number> = {};
  const writes: StateWriter = {
    send: ((command: { constructor: { name: string } }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      counts[name] = (counts[name] ?? 0) + 1;
      return table.db.send(command as never);
    }) as StateWriter['send'],
  };
  return {
    writes,
    counts,
    reset: () => {
      for (const k of Object.keys(counts)) delete counts[k];
    },
  };
};

const stateOf = async (w: World, id: string) => (await w.deps.store.getRecipients([id])).get(id)?.state;
const LEASE = DEFAULT_ALERT_TUNING.leaseMs;

describe('the send: one conditional write before it, a receipt after', () => {
  it('claims and records each alert in one write; receipts share batch writes; a redelivered look sends nothing', async () => {
    const requests = counting();
    const w = world({}, { writes: requests.writes });
    const readers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => subscribe(100 + i, { tags: [{ slug: 'nepal', name: 'Nepal' }] })),
    );
    const e = event(['Nepal']);
    await w.post(e);
    requests.reset();
    await w.at(START + 20_000);
    expect(w.sent).toHaveLength(30);
    // One conditional UpdateItem per alert (the claim with its record); the 30 receipts in a few
    // batch writes; per batch of 10 looks, one read of subscribers, states and receipts, one of events.
    expect(requests.counts.UpdateItem).toBe(30);
    expect(requests.counts.BatchWriteItem).toBeGreaterThanOrEqual(3);
    expect(requests.counts.BatchWriteItem).toBeLessThanOrEqual(6);
    expect(requests.counts.BatchGetItem).toBe(6);
    expect(Object.keys(requests.counts).sort()).toEqual(['BatchGetItem', 'BatchWriteItem', 'UpdateItem']);
    for (const r of readers) {
      const state = await stateOf(w, r.id);
      expect(state).toMatchObject({
        pending: [],
        lastSentAt: new Date(START + 20_000).toISOString(),
        sentToday: 1,
      });
      expect(state?.claimId).toBeUndefined();
    }
    // SQS delivers at least once: the same looks again find the send finished, and write nothing.
    requests.reset();
    const again = await lookAtAlerts(
      w.deps,
      readers.map((r) => ({ subscriber: r.id, at: new Date(START + 20_000).toISOString() })),
    );
    expect(again.report.sent).toBe(0);
    expect(requests.counts.UpdateItem).toBeUndefined();
    // The window the recorded send opened holds the next event until it ends.
    const next = event(['Nepal']);
    w.clock.now = START + 2 * MIN;
    await w.post(next);
    await w.at(START + 20_000 + 10 * MIN - 1);
    expect(w.sent).toHaveLength(30);
    await w.at(START + 20_000 + 10 * MIN);
    expect(w.sent).toHaveLength(60);
    expect(listed(w, readers[0] as SubscriberRecord, 1)).toEqual([next.id]);
  });

  it('takes a claim once per state read, whether the state held no claim, a finished one or a finish on the state', async () => {
    const w = world();
    const reader = await subscribe(170, { tags: [{ slug: 'oman', name: 'Oman' }] });
    const store = w.deps.store;
    const claimOf = (state: NonNullable<Awaited<ReturnType<typeof stateOf>>>, claimId: string) => ({
      claimId,
      claimedAt: new Date(START).toISOString(),
      handled: state.pending,
      record: {
        lastSentAt: new Date(START).toISOString(),
        day: '2026-03-10',
        sentToday: state.sentToday + 1,
      },
      before: { sentToday: state.sentToday },
      read: state.read ?? {},
    });
    const twice = async (first: string, second: string) => {
      await store.addPending(reader.id, [`e-${first}`]);
      const state = (await stateOf(w, reader.id)) as NonNullable<Awaited<ReturnType<typeof stateOf>>>;
      expect(await store.claim(reader.id, claimOf(state, first))).toEqual({ pending: [] });
      // Another worker that read the same state: the claim has moved on.
      expect(await store.claim(reader.id, claimOf(state, second))).toBeUndefined();
    };
    await twice('a', 'a2');
    await store.recordSent([{ subscriberId: reader.id, claimId: 'a', messageId: 'm-a', sentAt: '' }]);
    await twice('b', 'b2');
    expect(await store.finishClaim(reader.id, 'b', 'm-b')).toBe(true);
    await twice('c', 'c2');
  });

  it('a worker that dies between its claim and its send: after the lease its alert goes once, counted once', async () => {
    const dying = world();
    const reader = await subscribe(140, { tags: [{ slug: 'laos', name: 'Laos' }] });
    const e = event(['Laos']);
    await dying.post(e);
    dying.mailer.hang = true;
    // The worker claims, then never answers again.
    void dying.at(START + 20_000);
    await vi.waitFor(async () => expect((await stateOf(dying, reader.id))?.claimId).toBeDefined());
    expect(await stateOf(dying, reader.id)).toMatchObject({ pending: [e.id], sentToday: 0 });
    // Its look comes back (SQS) to another worker: the claim is held, so it waits out the lease.
    const other = world();
    const look = { subscriber: reader.id, at: new Date(START + 20_000).toISOString() };
    other.clock.now = START + 20_000 + MIN;
    const busy = await lookAtAlerts(other.deps, [look]);
    expect(busy.report).toMatchObject({ sent: 0, busy: 1 });
    await other.queue.schedule([look]);
    await other.at(START + 20_000 + LEASE - 1);
    expect(other.sent).toHaveLength(0);
    await other.at(START + 20_000 + LEASE);
    expect(to(other, reader.email)).toHaveLength(1);
    expect(listed(other, reader, 0)).toEqual([e.id]);
    const state = await stateOf(other, reader.id);
    expect(state).toMatchObject({
      pending: [],
      sentToday: 1,
      lastSentAt: new Date(START + 20_000 + LEASE).toISOString(),
    });
    expect(state?.claimId).toBeUndefined();
    await other.at(START + 60 * MIN);
    expect(to(other, reader.email)).toHaveLength(1);
    expect(dying.sent).toHaveLength(0);
  });

  it('a send whose receipt could not be written is finished on the state instead, and goes once', async () => {
    const w = world(
      {},
      {
        store: (store) => ({
          ...store,
          recordSent: async () => {
            throw new Error('throttled');
          },
        }),
      },
    );
    const reader = await subscribe(150, { tags: [{ slug: 'fiji', name: 'Fiji' }] });
    await w.post(event(['Fiji']));
    await w.at(START + 20_000);
    expect(to(w, reader.email)).toHaveLength(1);
    expect((await stateOf(w, reader.id))?.claimId).toBeUndefined();
    // Finished, not held for the lease: the next event goes at the window's end, the first not again.
    w.clock.now = START + 2 * MIN;
    const next = event(['Fiji']);
    await w.post(next);
    await w.at(START + 20_000 + 10 * MIN);
    expect(to(w, reader.email)).toHaveLength(2);
    expect(listed(w, reader, 1)).toEqual([next.id]);
    await w.at(START + 60 * MIN);
    expect(to(w, reader.email)).toHaveLength(2);
  });

  it('a send slower than half the lease is finished on the state, so no worker takes its claim over', async () => {
    const w = world();
    const reader = await subscribe(160, { tags: [{ slug: 'mali', name: 'Mali' }] });
    await w.post(event(['Mali']));
    w.clock.now = START + 20_000;
    w.mailer.during = () => {
      w.clock.now += LEASE / 2;
    };
    const requests = counting();
    const { report } = await lookAtAlerts(
      { ...w.deps, store: makeAlertStore(table.db, table.tableName, requests.writes) },
      [{ subscriber: reader.id, at: new Date(START + 20_000).toISOString() }],
    );
    w.mailer.during = undefined;
    expect(report).toMatchObject({ sent: 1, unrecorded: 0 });
    expect(requests.counts.BatchWriteItem).toBeUndefined();
    expect((await stateOf(w, reader.id))?.claimId).toBeUndefined();
    await w.at(START + 20_000 + 2 * LEASE);
    expect(to(w, reader.email)).toHaveLength(1);
  });
});
