import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalDigestQueue } from '../../../local/digest-queue.js';
import { type DigestStore, makeDigestStore } from '../../../shared/adapters/digest-store.js';
import { createLowLevelClient } from '../../../shared/adapters/dynamodb.js';
import { makeEventStore } from '../../../shared/adapters/event-store.js';
import { type Mailer, MailerThrottledError, type OutgoingEmail } from '../../../shared/adapters/mailer.js';
import type { Digest } from '../../../shared/domain/digest.js';
import { type NewsEvent, tombstoneOf } from '../../../shared/domain/event.js';
import type { Subscriber } from '../../../shared/domain/subscription.js';
import { digestCursorKey, ledgerKey } from '../../../shared/keys.js';
import {
  type DigestDeps,
  type DigestTuning,
  handleDigestMessage,
  startDigestRun,
  windowReadsOf,
} from '../../../shared/services/digests.js';
import { projectChanges } from '../../../shared/services/listings.js';
import { makeNewsEvent } from '../../helpers/builders.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';
import { seededRandom } from '../../helpers/fakes.js';
import { makeSubscriber, putSubscriber, putSuppression } from '../../helpers/subscribers.js';

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable();
});
afterAll(async () => table.close());

/** Each test works in a table of its own; tables are cheap in dynalite. */
let tableName: string;
let counter = 0;
beforeEach(async () => {
  const { ensureTable } = await import('../../../local/dynamodb.js');
  tableName = `${table.tableName}-digests-${++counter}`;
  await ensureTable(table.db, tableName);
});

const event = makeNewsEvent;

/** Stores an event and projects the change as the stream handler does, at `changedAt`. */
const project = async (e: NewsEvent, changedAt: string) => {
  const store = makeEventStore(table.db, tableName);
  const previous = await store.getEvent(e.id);
  await store.putEvent(e, previous);
  const failed = await projectChanges({ store, now: () => changedAt }, [
    { sequenceNumber: `${++sequence}`, id: e.id, oldImage: previous, newImage: e },
  ]);
  expect(failed.size).toBe(0);
};
let sequence = 0;

/** Deletes an event and projects the deletion. */
const remove = async (e: NewsEvent, at: string) => {
  const store = makeEventStore(table.db, tableName);
  const tombstone = tombstoneOf(e, at);
  await store.putEvent(tombstone, e);
  await projectChanges({ store, now: () => at }, [
    { sequenceNumber: `${++sequence}`, id: e.id, oldImage: e, newImage: tombstone },
  ]);
};

interface Sent {
  to: string;
  subject: string;
  ids: string[];
}

const recordingMailer = (options: { throttleRate?: number; seed?: number } = {}) => {
  const sent: Sent[] = [];
  const random = seededRandom(options.seed ?? 7);
  let throttled = 0;
  const mailer: Mailer = {
    async send(email) {
      if (options.throttleRate && random() < options.throttleRate) {
        throttled++;
        throw new MailerThrottledError();
      }
      sent.push({ to: email.to, subject: email.subject, ids: JSON.parse(email.text) as string[] });
      return { messageId: `m-${sent.length}` };
    },
  };
  return { mailer, sent, throttled: () => throttled };
};

const compose = async (digest: Digest): Promise<OutgoingEmail> => ({
  to: digest.subscriber.email,
  from: 'news@example.org',
  subject: `${digest.total} new`,
  text: JSON.stringify(digest.sections.flatMap((s) => s.items.map((i) => i.event.id))),
  html: '',
});

const NOW = Date.parse('2026-11-28T09:00:00.000Z'); // after the daily 07:00 boundary
const END = '2026-11-28T07:00:00.000Z';

const depsFor = (mailer: Mailer, queue = new LocalDigestQueue(), tuning: Partial<DigestTuning> = {}) => {
  const store: DigestStore = makeDigestStore(table.db, tableName);
  const deps: DigestDeps = {
    store,
    queue,
    mailer,
    compose,
    schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
    sendRate: 0,
    now: () => NOW,
    tuning: { backoffMs: 1, ...tuning },
  };
  return { deps, queue, store };
};

const run = async (deps: DigestDeps, queue: LocalDigestQueue, cadence: 'daily' | 'weekly' = 'daily') => {
  await startDigestRun(deps, cadence);
  return queue.drain((message) => handleDigestMessage(deps, message));
};

const cursorOf = async (id: string) => {
  const recipients = await makeDigestStore(table.db, tableName).getRecipients([id]);
  return recipients.get(id)?.subscriber.cursor;
};

describe('a daily digest run', () => {
  it('sends each due subscriber one email covering all their tags, each event once', async () => {
    await project(event(1, ['Russia', 'Syria']), '2026-11-27T10:00:00.000Z');
    await project(event(2, ['Syria']), '2026-11-27T11:00:00.000Z');
    await project(event(3, ['Weather']), '2026-11-27T12:00:00.000Z');
    await project(event(4, ['Russia']), '2026-11-26T12:00:00.000Z'); // before the window
    await project(event(5, ['Russia']), '2026-11-28T07:30:00.000Z'); // after its end
    const cursor = '2026-11-27T07:00:00.000Z';
    const both = makeSubscriber(1, {
      tags: [
        { slug: 'russia', name: 'Russia' },
        { slug: 'syria', name: 'Syria' },
      ],
      cursor,
    });
    const weather = makeSubscriber(2, { tags: [{ slug: 'weather', name: 'Weather' }], cursor });
    for (const s of [both, weather]) await putSubscriber(table.db, tableName, s);

    const { mailer, sent } = recordingMailer();
    const { deps, queue } = depsFor(mailer);
    const report = await run(deps, queue);

    expect(report).toMatchObject({ sent: 2, empty: 0, failed: 0, duplicates: 0 });
    const byTo = Object.fromEntries(sent.map((s) => [s.to, s.ids.sort()]));
    expect(byTo).toEqual({
      [both.email]: ['2026/11/27/event-1', '2026/11/27/event-2'],
      [weather.email]: ['2026/11/27/event-3'],
    });
    expect(await cursorOf(both.id)).toBe(END);
  });

  it('takes followed tags and topic labels together: an event matched by both goes out once', async () => {
    const label = 'Armed conflicts and attacks';
    await project(event(1, ['Syria'], { topic: label }), '2026-11-27T10:00:00.000Z');
    await project(event(2, ['Weather'], { topic: label }), '2026-11-27T11:00:00.000Z');
    await project(event(3, ['Weather'], { topic: 'Sports' }), '2026-11-27T12:00:00.000Z');
    await project(event(4, ['Syria']), '2026-11-27T13:00:00.000Z');
    const cursor = '2026-11-27T07:00:00.000Z';
    const topic = { slug: 'armed-conflicts-and-attacks', name: label };
    const both = makeSubscriber(1, { tags: [{ slug: 'syria', name: 'Syria' }], topics: [topic], cursor });
    const labelOnly = makeSubscriber(2, { tags: [], topics: [topic], cursor });
    for (const s of [both, labelOnly]) await putSubscriber(table.db, tableName, s);

    const { mailer, sent } = recordingMailer();
    const { deps, queue } = depsFor(mailer);
    expect(await run(deps, queue)).toMatchObject({ sent: 2, failed: 0 });
    const byTo = Object.fromEntries(sent.map((s) => [s.to, s.ids.sort()]));
    expect(byTo).toEqual({
      [both.email]: ['2026/11/27/event-1', '2026/11/27/event-2', '2026/11/27/event-4'],
      [labelOnly.email]: ['2026/11/27/event-1', '2026/11/27/event-2'],
    });
  });

  it('sends nothing to the unsubscribed, the suppressed, the pending or the other cadence', async () => {
    await project(event(1, ['Russia']), '2026-11-27T10:00:00.000Z');
    const cursor = '2026-11-27T07:00:00.000Z';
    const subscribers: Subscriber[] = [
      makeSubscriber(1, { cursor }),
      makeSubscriber(2, { cursor, status: 'unsubscribed' }),
      makeSubscriber(3, { cursor }),
      makeSubscriber(4, { cursor, status: 'pending' }),
      makeSubscriber(5, { cursor, cadence: 'weekly' }),
    ];
    for (const s of subscribers) await putSubscriber(table.db, tableName, s);
    await putSuppression(table.db, tableName, subscribers[2]?.id as string);

    const { mailer, sent } = recordingMailer();
    const { deps, queue } = depsFor(mailer);
    const report = await run(deps, queue);
    expect(sent.map((s) => s.to)).toEqual([subscribers[0]?.email]);
    expect(report.sent).toBe(1);
  });

  it('sends nothing when nothing is new, and moves the cursor on', async () => {
    await project(event(1, ['Syria']), '2026-11-27T10:00:00.000Z');
    const s = makeSubscriber(1, { cursor: '2026-11-27T07:00:00.000Z' });
    await putSubscriber(table.db, tableName, s);
    const { mailer, sent } = recordingMailer();
    const { deps, queue } = depsFor(mailer);
    const report = await run(deps, queue);
    expect(sent).toEqual([]);
    expect(report).toMatchObject({ sent: 0, empty: 1 });
    expect(await cursorOf(s.id)).toBe(END);
  });

  it('leaves deleted events out and marks corrections', async () => {
    const original = event(1, ['Russia'], {
      publishedAt: '2026-11-20T10:00:00.000Z',
      updatedAt: '2026-11-20T10:00:00.000Z',
    });
    await project(original, '2026-11-20T10:00:00.000Z');
    const corrected = { ...original, body: 'Corrected.', updatedAt: '2026-11-27T09:00:00.000Z', revision: 2 };
    await project(corrected, '2026-11-27T09:00:00.000Z');
    const deleted = event(2, ['Russia']);
    await project(deleted, '2026-11-27T10:00:00.000Z');
    await remove(deleted, '2026-11-27T11:00:00.000Z');
    const s = makeSubscriber(1, { cursor: '2026-11-27T07:00:00.000Z' });
    await putSubscriber(table.db, tableName, s);

    const digests: Digest[] = [];
    const { mailer, sent } = recordingMailer();
    const { deps, queue } = depsFor(mailer);
    deps.compose = async (digest) => {
      digests.push(digest);
      return compose(digest);
    };
    await run(deps, queue);
    expect(sent[0]?.ids).toEqual([corrected.id]);
    expect(digests[0]?.sections[0]?.items[0]?.updated).toBe(true);
    expect(digests[0]?.sections[0]?.items[0]?.event.body).toBe('Corrected.');
  });

  it('gives a newly confirmed subscriber one window, not the backlog', async () => {
    await project(event(1, ['Russia']), '2026-11-20T10:00:00.000Z');
    await project(event(2, ['Russia']), '2026-11-27T10:00:00.000Z');
    const confirmedAt = '2026-11-01T00:00:00.000Z';
    const s = makeSubscriber(1, { confirmedAt, cursor: confirmedAt });
    await putSubscriber(table.db, tableName, s);
    const { mailer, sent } = recordingMailer();
    const { deps, queue } = depsFor(mailer);
    await run(deps, queue);
    expect(sent[0]?.ids).toEqual(['2026/11/27/event-2']);
  });
});

describe('never twice, nothing lost', () => {
  const seedSubscribers = async (n: number) => {
    for (let i = 0; i < 6; i++) {
      await project(event(i, i % 2 ? ['Russia'] : ['Syria', 'Russia']), `2026-11-27T1${i}:00:00.000Z`);
    }
    const subscribers = Array.from({ length: n }, (_, i) =>
      makeSubscriber(i, {
        cursor: '2026-11-27T07:00:00.000Z',
        tags: i % 3 === 0 ? [{ slug: 'syria', name: 'Syria' }] : [{ slug: 'russia', name: 'Russia' }],
      }),
    );
    await Promise.all(subscribers.map((s) => putSubscriber(table.db, tableName, s)));
    return subscribers;
  };

  it('a second run of the same window (a redelivery, a double-fired schedule) sends nothing', async () => {
    const subscribers = await seedSubscribers(12);
    const { mailer, sent } = recordingMailer();
    const first = depsFor(mailer);
    await run(first.deps, first.queue);
    expect(sent).toHaveLength(subscribers.length);
    const second = depsFor(mailer);
    const report = await run(second.deps, second.queue);
    expect(sent).toHaveLength(subscribers.length);
    expect(report.sent).toBe(0);
  });

  it('two concurrent runs send each subscriber exactly one email', async () => {
    const subscribers = await seedSubscribers(60);
    const { mailer, sent } = recordingMailer();
    // Two workers, each with its own queue and store client, as two Lambda containers would be;
    // one claims through a low-level client of its own, as deployed.
    const claims = createLowLevelClient({ endpoint: table.dynamo.endpoint });
    const a = depsFor(mailer, new LocalDigestQueue(), { batchSize: 7, concurrency: 3 });
    const b = depsFor(mailer, new LocalDigestQueue(), { batchSize: 5, concurrency: 4 });
    b.deps.store = makeDigestStore(table.db, tableName, claims);
    const [ra, rb] = await Promise.all([run(a.deps, a.queue), run(b.deps, b.queue)]);
    const perAddress = new Map<string, number>();
    for (const s of sent) perAddress.set(s.to, (perAddress.get(s.to) ?? 0) + 1);
    expect(perAddress.size).toBe(subscribers.length);
    expect([...perAddress.values()].every((n) => n === 1)).toBe(true);
    expect(ra.sent + rb.sent).toBe(subscribers.length);
    // Each run saw every subscriber: one sent, the other found it sent (ledger) or no longer due (cursor).
    const seen = (r: typeof ra) => r.sent + r.duplicates + r.skipped;
    expect(seen(ra) + seen(rb)).toBe(2 * subscribers.length);
    claims.destroy();
  });

  it('throttling on 30% of sends is retried: no duplicates, nothing lost', async () => {
    const subscribers = await seedSubscribers(80);
    const { mailer, sent, throttled } = recordingMailer({ throttleRate: 0.3, seed: 42 });
    const { deps, queue } = depsFor(mailer, new LocalDigestQueue(), { batchSize: 16 });
    const report = await run(deps, queue);
    expect(throttled()).toBeGreaterThan(10);
    expect(report.throttled).toBe(throttled());
    expect(sent.map((s) => s.to).sort()).toEqual(subscribers.map((s) => s.email).sort());
    expect(queue.dead).toEqual([]);
  });

  it('a send that keeps failing releases its claim, is redelivered and sent once it succeeds', async () => {
    const subscribers = await seedSubscribers(4);
    let failures = 3;
    const { mailer, sent } = recordingMailer();
    const flaky: Mailer = {
      async send(email) {
        if (failures-- > 0) throw new Error('connection reset');
        return mailer.send(email);
      },
    };
    const { deps, queue } = depsFor(flaky);
    const report = await run(deps, queue);
    expect(report.failed).toBeGreaterThan(0);
    expect(sent.map((s) => s.to).sort()).toEqual(subscribers.map((s) => s.email).sort());
  });

  it('a run that crashed between claim and send is recovered by a later run, once its lease ran out', async () => {
    const [s] = await seedSubscribers(1);
    const subscriber = s as Subscriber;
    const store = makeDigestStore(table.db, tableName);
    const claim = {
      subscriberId: subscriber.id,
      cadence: 'daily' as const,
      windowStart: subscriber.cursor as string,
      windowEnd: END,
      claimId: 'crashed-run',
      claimedAt: new Date(NOW - 60_000).toISOString(),
      staleBefore: new Date(NOW - 15 * 60_000).toISOString(),
    };
    expect(await store.claimDigest(claim)).toEqual({ kind: 'claimed' });
    // The ledger item as written: claimed by that run, expiring 180 days after the claim.
    const ledger = await table.db.send(
      new GetCommand({ TableName: tableName, Key: ledgerKey(subscriber.id, 'daily', claim.windowStart) }),
    );
    expect(ledger.Item).toMatchObject({
      type: 'digest',
      status: 'claimed',
      claimId: 'crashed-run',
      claimedAt: claim.claimedAt,
      windowEnd: END,
      expiresAt: Math.floor((NOW - 60_000) / 1000) + 180 * 24 * 60 * 60,
    });
    // A second claim of the same window fails while the first one's lease runs.
    expect(await store.claimDigest({ ...claim, claimId: 'another-run' })).toEqual({ kind: 'held' });

    const { mailer, sent } = recordingMailer();
    const within = depsFor(mailer);
    const early = await run(within.deps, within.queue);
    expect(sent).toEqual([]);
    expect(early.duplicates).toBe(1);

    const later = depsFor(mailer, new LocalDigestQueue(), { leaseMs: 30_000 });
    const recovered = await run(later.deps, later.queue);
    expect(recovered.sent).toBe(1);
    expect(sent.map((x) => x.to)).toEqual([subscriber.email]);
    expect(await cursorOf(subscriber.id)).toBe(END);
    const item = await table.db.send(
      new GetCommand({ TableName: tableName, Key: digestCursorKey(subscriber.id) }),
    );
    expect(item.Item?.lastDigest).toMatchObject({ windowEnd: END, messageId: 'm-1', events: 3 });
  });
});

describe('the change log', () => {
  it('keeps a replayed stream record at its first time: a redelivery never reaches a second digest', async () => {
    const e = event(1, ['Russia', 'Syria']);
    await project(e, '2026-11-27T10:00:00.000Z');
    const s = makeSubscriber(1, { cursor: '2026-11-27T07:00:00.000Z' });
    await putSubscriber(table.db, tableName, s);
    const { mailer, sent } = recordingMailer();
    const first = depsFor(mailer);
    await run(first.deps, first.queue);
    expect(sent.map((m) => m.ids)).toEqual([[e.id]]);

    // The same record again, a day later (a retried batch): its entries are current.
    const store = makeEventStore(table.db, tableName);
    await projectChanges({ store, now: () => '2026-11-28T10:00:00.000Z' }, [
      { sequenceNumber: `${++sequence}`, id: e.id, oldImage: undefined, newImage: e },
    ]);
    const next = depsFor(mailer);
    next.deps.now = () => Date.parse('2026-11-29T09:00:00.000Z');
    const report = await run(next.deps, next.queue);
    expect(report).toMatchObject({ sent: 0, empty: 1 });
    expect(sent).toHaveLength(1);
    const changes = await makeDigestStore(table.db, tableName).windowChanges(
      '2026-11-01T00:00:00.000Z',
      '2026-11-30T00:00:00.000Z',
    );
    expect(changes.map((c) => c.changedAt)).toEqual(['2026-11-27T10:00:00.000Z']);
  });

  it('finds a change whatever day partition and shard it fell in, across a window of days', async () => {
    const days = ['2026-11-21', '2026-11-23', '2026-11-25', '2026-11-27'];
    for (const [i, day] of days.entries()) await project(event(i, ['Russia']), `${day}T23:59:59.999Z`);
    const changes = await makeDigestStore(table.db, tableName).windowChanges(
      '2026-11-21T23:59:59.999Z',
      '2026-11-27T23:59:59.999Z',
    );
    expect(changes.map((c) => c.event.id)).toEqual([
      '2026/11/27/event-1',
      '2026/11/27/event-2',
      '2026/11/27/event-3',
    ]);
  });
});

describe('reads and splitting', () => {
  it('reads the window once per run, however many subscribers and tags', async () => {
    const topics = ['Alpha', 'Beta', 'Gamma', 'Delta', 'Epsilon', 'Zeta'];
    for (let i = 0; i < 12; i++) {
      await project(
        event(i, [topics[i % 6] as string, topics[(i + 1) % 6] as string]),
        '2026-11-27T10:00:00.000Z',
      );
    }
    const subscribers = Array.from({ length: 90 }, (_, i) =>
      makeSubscriber(i, {
        cursor: '2026-11-27T07:00:00.000Z',
        tags: [0, 1, 2].map((k) => {
          const name = topics[(i + k) % 6] as string;
          return { slug: name.toLowerCase(), name };
        }),
      }),
    );
    await Promise.all(subscribers.map((s) => putSubscriber(table.db, tableName, s)));
    const { mailer, sent } = recordingMailer();
    const { deps, queue, store } = depsFor(mailer, new LocalDigestQueue(), { batchSize: 10 });
    await run(deps, queue);
    expect(sent).toHaveLength(90);
    expect(windowReadsOf(store)).toBe(1);
  });

  it('hands planning and sending on through the queue when an invocation runs short', async () => {
    await project(event(1, ['Russia']), '2026-11-27T10:00:00.000Z');
    const subscribers = Array.from({ length: 30 }, (_, i) =>
      makeSubscriber(i, { cursor: '2026-11-27T07:00:00.000Z' }),
    );
    await Promise.all(subscribers.map((s) => putSubscriber(table.db, tableName, s)));
    const { mailer, sent } = recordingMailer();
    const queue = new LocalDigestQueue();
    // Every invocation has time for two steps: a page of planning or two subscribers.
    const { deps } = depsFor(mailer, queue, { planPageSize: 3, batchSize: 5, concurrency: 1, reserveMs: 10 });
    let steps = 0;
    deps.remainingMs = () => (steps++ % 3 === 2 ? 0 : 1000);
    await startDigestRun(deps, 'daily');
    let handled = 0;
    await queue.drain(async (message) => {
      handled++;
      return handleDigestMessage(deps, message);
    });
    expect(sent.map((s) => s.to).sort()).toEqual(subscribers.map((s) => s.email).sort());
    expect(handled).toBeGreaterThan(4 + 30 / 5);
  });
});
