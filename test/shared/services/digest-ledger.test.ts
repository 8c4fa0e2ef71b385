import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalDigestQueue } from '../../../local/digest-queue.js';
import { makeDigestStore } from '../../../shared/adapters/digest-store.js';
import { createDocumentClient } from '../../../shared/adapters/dynamodb.js';
import { makeEventStore } from '../../../shared/adapters/event-store.js';
import type { Mailer, OutgoingEmail } from '../../../shared/adapters/mailer.js';
import type { Digest } from '../../../shared/domain/digest.js';
import type { NewsEvent } from '../../../shared/domain/event.js';
import type { Subscriber } from '../../../shared/domain/subscription.js';
import { digestCursorKey, ledgerKey } from '../../../shared/keys.js';
import {
  type DigestDeps,
  type DigestReport,
  handleDigestMessage,
  startDigestRun,
} from '../../../shared/services/digests.js';
import { projectChanges } from '../../../shared/services/listings.js';
import { makeNewsEvent } from '../../helpers/builders.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';
import { makeSubscriber, putSubscriber } from '../../helpers/subscribers.js';

/**
 * The digest ledger under faults: sends that outlive their records, workers that die, runs that
 * overlap. Every email any run sends is counted by (address, event): none may be counted twice.
 */

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable();
});
afterAll(async () => table.close());

let tableName: string;
let counter = 0;
beforeEach(async () => {
  const { ensureTable } = await import('../../../local/dynamodb.js');
  tableName = `${table.tableName}-ledger-${++counter}`;
  await ensureTable(table.db, tableName);
});

/** Clients made by a test, destroyed after it. */
const clients: DynamoDBDocumentClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

const NOW = Date.parse('2026-11-28T09:00:00.000Z'); // after the daily 07:00 boundary
const END = '2026-11-28T07:00:00.000Z';
/** A manual run at NOW ends its windows a minute (the settle time) before. */
const MANUAL_END = '2026-11-28T08:59:00.000Z';
const CURSOR = '2026-11-27T07:00:00.000Z';
const AFTER_LEASE = NOW + 16 * 60_000;

let sequence = 0;
const project = async (e: NewsEvent, changedAt: string) => {
  const store = makeEventStore(table.db, tableName);
  await store.putEvent(e, undefined);
  const failed = await projectChanges({ store, now: () => changedAt }, [
    { sequenceNumber: `${++sequence}`, id: e.id, oldImage: undefined, newImage: e },
  ]);
  expect(failed.size).toBe(0);
};

interface Sent {
  to: string;
  ids: string[];
}

/** A mail service that records what it accepted: one entry per email, with the events it carried. */
const recordingMailer = () => {
  const sent: Sent[] = [];
  const mailer: Mailer = {
    async send(email) {
      sent.push({ to: email.to, ids: JSON.parse(email.text) as string[] });
      return { messageId: `m-${sent.length}` };
    },
  };
  /** How often each address got each event, over every email sent. */
  const deliveries = () => {
    const counts = new Map<string, number>();
    for (const { to, ids } of sent)
      for (const id of ids) counts.set(`${to} ${id}`, (counts.get(`${to} ${id}`) ?? 0) + 1);
    return counts;
  };
  return { mailer, sent, deliveries };
};

const compose = async (digest: Digest): Promise<OutgoingEmail> => ({
  to: digest.subscriber.email,
  from: 'news@example.org',
  subject: `${digest.total} new`,
  text: JSON.stringify(digest.sections.flatMap((s) => s.items.map((i) => i.event.id))),
  html: '',
});

/**
 * A client of the test table whose writes to digest cursors, however the store sends them (one
 * by one or batched), fail, or wait until `until` settles: a worker that dies or stalls between
 * its sends and its cursor writes.
 */
const cursorFaultyClient = (fault: { fail: true } | { until: Promise<void> }): DynamoDBDocumentClient => {
  const db = createDocumentClient({ endpoint: table.dynamo.endpoint });
  clients.push(db);
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const write = /Put|Update|BatchWrite/.test(String(context.commandName));
      if (write && JSON.stringify(args.input).includes(digestCursorKey('').SK)) {
        if ('fail' in fault) throw new Error('injected: the cursor write is lost');
        await fault.until;
      }
      return next(args);
    },
    { step: 'initialize', name: 'cursorFault' },
  );
  return db;
};

const depsFor = (mailer: Mailer, options: { db?: DynamoDBDocumentClient; now?: number } = {}) => {
  const queue = new LocalDigestQueue();
  const deps: DigestDeps = {
    store: makeDigestStore(options.db ?? table.db, tableName),
    queue,
    mailer,
    compose,
    schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
    sendRate: 0,
    now: () => options.now ?? NOW,
    tuning: { backoffMs: 1 },
  };
  return { deps, queue };
};

const run = async (
  { deps, queue }: { deps: DigestDeps; queue: LocalDigestQueue },
  options: { manual?: boolean; concurrency?: number } = {},
): Promise<DigestReport> => {
  await startDigestRun(deps, 'daily', options);
  return queue.drain((message) => handleDigestMessage(deps, message), options.concurrency);
};

const cursorOf = async (id: string) => {
  const recipients = await makeDigestStore(table.db, tableName).getRecipients([id]);
  return recipients.get(id)?.subscriber.cursor;
};

const ledgerItem = async (subscriberId: string, windowStart: string) =>
  (
    await table.db.send(
      new GetCommand({ TableName: tableName, Key: ledgerKey(subscriberId, 'daily', windowStart) }),
    )
  ).Item;

/** Waits for `check` to hold, failing the test with `what` if it does not within two seconds. */
const eventually = async (what: string, check: () => Promise<boolean>) => {
  for (let waited = 0; !(await check()); waited += 20) {
    if (waited > 2_000) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** Two events on Russia in the scheduled window; subscribers of Russia, due since CURSOR. */
const seed = async (n: number): Promise<Subscriber[]> => {
  await project(makeNewsEvent(1, ['Russia']), '2026-11-27T10:00:00.000Z');
  await project(makeNewsEvent(2, ['Russia']), '2026-11-27T11:00:00.000Z');
  const subscribers = Array.from({ length: n }, (_, i) => makeSubscriber(i, { cursor: CURSOR }));
  for (const s of subscribers) await putSubscriber(table.db, tableName, s);
  return subscribers;
};

const addresses = (subscribers: Subscriber[]) => subscribers.map((s) => s.email).sort();

describe('the digest ledger never sends twice', () => {
  it('a cursor write that fails after the send: the next run sends nothing and moves the cursor', async () => {
    const subscribers = await seed(3);
    const { mailer, sent, deliveries } = recordingMailer();

    const failing = await run(depsFor(mailer, { db: cursorFaultyClient({ fail: true }) }));
    expect(sent.map((s) => s.to).sort()).toEqual(addresses(subscribers));
    // The sends were recorded on their claims even though no cursor moved.
    for (const s of subscribers) {
      expect(await cursorOf(s.id)).toBe(CURSOR);
      expect(await ledgerItem(s.id, CURSOR)).toMatchObject({ status: 'sent', windowEnd: END });
    }
    // The message was retried for the cursors' sake; no retry sent anything.
    expect(failing.unrecorded).toBeGreaterThan(0);
    expect(failing.sent).toBe(3);

    // The next run, long after any lease: the claims are sent, so it moves the cursors instead.
    const next = await run(depsFor(mailer, { now: AFTER_LEASE }));
    expect(next).toMatchObject({ sent: 0, duplicates: 3, failed: 0, unrecorded: 0 });
    expect(sent).toHaveLength(3);
    expect([...deliveries().values()].every((n) => n === 1)).toBe(true);
    for (const s of subscribers) expect(await cursorOf(s.id)).toBe(END);
  });

  it('a later run that finds a window sent but its cursor unmoved sends only what came after it', async () => {
    const [subscriber] = await seed(1);
    const s = subscriber as Subscriber;
    await project(makeNewsEvent(3, ['Russia']), '2026-11-28T08:00:00.000Z'); // after END
    const { mailer, sent } = recordingMailer();
    await run(depsFor(mailer, { db: cursorFaultyClient({ fail: true }) }));
    expect(sent.map((m) => m.ids.sort())).toEqual([['2026/11/27/event-1', '2026/11/27/event-2']]);

    // A manual run right after (within the first claim's lease), its window ending later.
    const manual = await run(depsFor(mailer), { manual: true });
    expect(manual.sent).toBe(1);
    expect(sent.map((m) => m.ids.sort())).toEqual([
      ['2026/11/27/event-1', '2026/11/27/event-2'],
      ['2026/11/27/event-3'],
    ]);
    expect(await cursorOf(s.id)).toBe(MANUAL_END);
  });

  it('a worker that dies after sending, its cursor moves unwritten, leaves its claims sent: a rerun sends nothing', async () => {
    const subscribers = await seed(4);
    const { mailer, sent, deliveries } = recordingMailer();
    let die: (reason: Error) => void = () => {};
    const death = new Promise<void>((_, reject) => {
      die = reject;
    });
    death.catch(() => undefined);
    // The workers send, then stall before any cursor write lands; they are never heard of again.
    // (One queue worker per shard, so that every shard's batch gets as far as that.)
    const dying = run(depsFor(mailer, { db: cursorFaultyClient({ until: death }) }), { concurrency: 4 });
    dying.catch(() => undefined);
    await eventually('every digest sent', async () => sent.length === subscribers.length);
    await eventually('every claim marked sent', async () => {
      const items = await Promise.all(subscribers.map((s) => ledgerItem(s.id, CURSOR)));
      return items.every((item) => item?.status === 'sent');
    });
    for (const s of subscribers) {
      expect(await ledgerItem(s.id, CURSOR)).toMatchObject({
        status: 'sent',
        windowEnd: END,
        messageId: expect.stringMatching(/^m-\d$/),
        sentAt: new Date(NOW).toISOString(),
      });
      expect(await cursorOf(s.id)).toBe(CURSOR);
    }

    // SQS delivers the batch again once its visibility timeout has run out, after the lease.
    const rerun = await run(depsFor(mailer, { now: AFTER_LEASE }));
    expect(rerun).toMatchObject({ sent: 0, duplicates: subscribers.length });
    expect(sent).toHaveLength(subscribers.length);
    expect([...deliveries().values()].every((n) => n === 1)).toBe(true);
    for (const s of subscribers) expect(await cursorOf(s.id)).toBe(END);
    // Let the abandoned run wind down before its client goes.
    die(new Error('the worker is gone'));
    await dying;
    expect(sent).toHaveLength(subscribers.length);
  });

  it('two overlapping runs, a scheduled one and a manual one with a later end: each window at most once', async () => {
    // Russia in both runs' windows, Syria only in the manual run's (after the scheduled END).
    await project(makeNewsEvent(1, ['Russia']), '2026-11-27T10:00:00.000Z');
    await project(makeNewsEvent(2, ['Syria']), '2026-11-28T08:00:00.000Z');
    await project(makeNewsEvent(3, ['Russia']), '2026-11-28T08:30:00.000Z');
    const syria = { slug: 'syria', name: 'Syria' };
    const subscribers = Array.from({ length: 12 }, (_, i) =>
      makeSubscriber(i, { cursor: CURSOR, ...(i % 2 ? { tags: [syria] } : {}) }),
    );
    for (const s of subscribers) await putSubscriber(table.db, tableName, s);
    const { mailer, deliveries } = recordingMailer();

    // Both start on the same windows at once. The scheduled run's cursor writes are slow: they
    // land only after the manual run is done (a worker paused by throttling, a slow network).
    let manualDone: () => void = () => {};
    const afterManual = new Promise<void>((resolve) => {
      manualDone = resolve;
    });
    const scheduled = run(depsFor(mailer, { db: cursorFaultyClient({ until: afterManual }) }));
    const manual = run(depsFor(mailer), { manual: true }).finally(manualDone);
    await Promise.all([scheduled, manual]);
    // And a third run over the same span, as an operator retrying by hand would.
    await run(depsFor(mailer), { manual: true });

    expect([...deliveries()].filter(([, n]) => n > 1)).toEqual([]);
    // Nothing lost either: every subscriber got every event of their topic.
    const expected = subscribers.flatMap((s, i) =>
      (i % 2 ? [2] : [1, 3]).map((n) => `${s.email} 2026/11/27/event-${n}`),
    );
    expect([...deliveries().keys()].sort()).toEqual(expected.sort());
    for (const s of subscribers) expect(await cursorOf(s.id)).toBe(MANUAL_END);
  });

  it('a stale claim that was never sent is taken over and sent once, even if that send loses its cursor write', async () => {
    const [subscriber] = await seed(1);
    const s = subscriber as Subscriber;
    // A run that claimed the window sixteen minutes ago and died before sending.
    await makeDigestStore(table.db, tableName).claimDigest({
      subscriberId: s.id,
      cadence: 'daily',
      windowStart: CURSOR,
      windowEnd: END,
      claimId: 'dead-run',
      claimedAt: new Date(NOW - 16 * 60_000).toISOString(),
      staleBefore: new Date(NOW - 31 * 60_000).toISOString(),
    });
    const { mailer, sent } = recordingMailer();

    const takeover = await run(depsFor(mailer, { db: cursorFaultyClient({ fail: true }) }));
    expect(takeover.sent).toBe(1);
    expect(sent.map((m) => m.to)).toEqual([s.email]);
    expect(await ledgerItem(s.id, CURSOR)).toMatchObject({ status: 'sent', messageId: 'm-1' });

    const later = await run(depsFor(mailer, { now: AFTER_LEASE }));
    expect(later.sent).toBe(0);
    expect(sent).toHaveLength(1);
    expect(await cursorOf(s.id)).toBe(END);
  });
});

describe('cursors only move forward', () => {
  const last = (messageId: string, windowEnd: string) => ({
    windowStart: CURSOR,
    windowEnd,
    messageId,
    events: 2,
    sentAt: windowEnd,
  });

  it('a cursor write with an older value does not move it back, nor replace the last digest', async () => {
    const store = makeDigestStore(table.db, tableName);
    const id = 'subscriber000001';
    await store.recordCursors([{ subscriberId: id, cursor: MANUAL_END, sent: last('newer', MANUAL_END) }]);
    await store.recordCursors([
      { subscriberId: id, cursor: END, sent: last('older', END) },
      { subscriberId: 'subscriber000002', cursor: END },
    ]);
    await store.recordCursors([{ subscriberId: id, cursor: MANUAL_END, sent: last('same', MANUAL_END) }]);
    const item = await table.db.send(new GetCommand({ TableName: tableName, Key: digestCursorKey(id) }));
    expect(item.Item).toMatchObject({ cursor: MANUAL_END, lastDigest: { messageId: 'newer' } });
    // A subscriber without a cursor item gets one.
    const other = await table.db.send(
      new GetCommand({ TableName: tableName, Key: digestCursorKey('subscriber000002') }),
    );
    expect(other.Item).toMatchObject({ type: 'digestCursor', cursor: END });
    // And a later value moves it on.
    await store.recordCursors([{ subscriberId: id, cursor: '2026-11-29T07:00:00.000Z' }]);
    const moved = await table.db.send(new GetCommand({ TableName: tableName, Key: digestCursorKey(id) }));
    expect(moved.Item?.cursor).toBe('2026-11-29T07:00:00.000Z');
  });
});

describe('the ledger adapter', () => {
  const claim = {
    subscriberId: 'subscriber000001',
    cadence: 'daily' as const,
    windowStart: CURSOR,
    windowEnd: END,
    claimId: 'first',
    claimedAt: new Date(NOW - 20 * 60_000).toISOString(),
    staleBefore: new Date(NOW - 35 * 60_000).toISOString(),
  };
  const later = {
    ...claim,
    claimId: 'second',
    claimedAt: new Date(NOW).toISOString(),
    staleBefore: new Date(NOW - 15 * 60_000).toISOString(),
  };

  it('marks a claim sent only while it is the same claim; a sent claim is never taken or given up', async () => {
    const store = makeDigestStore(table.db, tableName);
    expect(await store.claimDigest(claim)).toEqual({ kind: 'claimed' });
    // Within its lease the claim is held.
    expect(await store.claimDigest({ ...claim, claimId: 'early' })).toEqual({ kind: 'held' });
    // Stale and unsent: of two later runs at once, one takes it over; the first run can no longer
    // mark it sent.
    const rivals = await Promise.all([
      store.claimDigest(later),
      store.claimDigest({ ...later, claimId: 'rival' }),
    ]);
    expect(rivals.map((r) => r.kind).sort()).toEqual(['claimed', 'held']);
    const winner = rivals[0]?.kind === 'claimed' ? later : { ...later, claimId: 'rival' };
    expect(await store.markDigestSent(claim, { messageId: 'm-first', sentAt: later.claimedAt })).toBe(false);
    expect(await store.markDigestSent(winner, { messageId: 'm-second', sentAt: later.claimedAt })).toBe(true);
    expect(await ledgerItem(claim.subscriberId, CURSOR)).toMatchObject({
      claimId: winner.claimId,
      status: 'sent',
      messageId: 'm-second',
      sentAt: later.claimedAt,
    });
    // Sent: however stale, it is found sent, with where its window ended, and stays.
    const muchLater = {
      ...claim,
      claimId: 'third',
      claimedAt: new Date(NOW + 60 * 60_000).toISOString(),
      staleBefore: new Date(NOW + 45 * 60_000).toISOString(),
    };
    expect(await store.claimDigest(muchLater)).toEqual({ kind: 'sent', windowEnd: END });
    await store.releaseDigest(winner);
    expect(await ledgerItem(claim.subscriberId, CURSOR)).toMatchObject({
      claimId: winner.claimId,
      status: 'sent',
    });
  });

  it('gives an unsent claim up, so that it can be claimed again at once', async () => {
    const store = makeDigestStore(table.db, tableName);
    expect(await store.claimDigest(later)).toEqual({ kind: 'claimed' });
    await store.releaseDigest({ ...later, claimId: 'someone-else' });
    expect(await ledgerItem(later.subscriberId, CURSOR)).toMatchObject({ claimId: 'second' });
    await store.releaseDigest(later);
    expect(await ledgerItem(later.subscriberId, CURSOR)).toBeUndefined();
    expect(await store.claimDigest({ ...later, claimId: 'retry' })).toEqual({ kind: 'claimed' });
  });
});
