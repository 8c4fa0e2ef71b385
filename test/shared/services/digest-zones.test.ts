import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as planDigests } from '../../../functions/plan-digests.js';
import { LocalDigestQueue } from '../../../local/digest-queue.js';
import { makeDigestStore } from '../../../shared/adapters/digest-store.js';
import { makeEventStore } from '../../../shared/adapters/event-store.js';
import type { Mailer, OutgoingEmail } from '../../../shared/adapters/mailer.js';
import { toSubscriberItem } from '../../../shared/adapters/subscription-store.js';
import type { Digest } from '../../../shared/domain/digest.js';
import type { NewsEvent } from '../../../shared/domain/event.js';
import type { SubscriberRecord } from '../../../shared/domain/subscriber-changes.js';
import type { Cadence, DeliveryPreferences } from '../../../shared/domain/subscription.js';
import { localTimeAt } from '../../../shared/domain/zones.js';
import {
  type DigestDeps,
  type DigestMessage,
  handleDigestMessage,
} from '../../../shared/services/digests.js';
import { projectChanges } from '../../../shared/services/listings.js';
import { makeNewsEvent } from '../../helpers/builders.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';
import { makeSubscriber, putSubscriber } from '../../helpers/subscribers.js';

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable();
});
afterAll(async () => table.close());

let tableName: string;
let counter = 0;
beforeEach(async () => {
  const { ensureTable } = await import('../../../local/dynamodb.js');
  tableName = `${table.tableName}-zones-${++counter}`;
  await ensureTable(table.db, tableName);
});

const HOUR_MS = 3_600_000;
const QUARTER_MS = 15 * 60_000;
const context = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'req-1' } as unknown as Context;

let sequence = 0;
/** Stores an event and projects its change at `changedAt`, as the stream handler does. */
const project = async (e: NewsEvent, changedAt: string) => {
  const store = makeEventStore(table.db, tableName);
  await store.putEvent(e, undefined);
  const failed = await projectChanges({ store, now: () => changedAt }, [
    { sequenceNumber: `${++sequence}`, id: e.id, oldImage: undefined, newImage: e },
  ]);
  expect(failed.size).toBe(0);
};

/** A confirmed subscriber written by the subscription store's own mapping (index keys included). */
const putChosen = async (n: number, cadence: Cadence, preferences: DeliveryPreferences, since: string) => {
  const record: SubscriberRecord = {
    ...makeSubscriber(n, { cadence, confirmedAt: since, cursor: since }),
    id: `${String(n).padStart(32, '0')}`,
    ...preferences,
    changedAt: since,
    revision: 1,
  };
  await table.db.send(new PutCommand({ TableName: tableName, Item: toSubscriberItem(record) }));
  return record.id;
};

interface Sent {
  subscriber: string;
  end: string;
  ids: string[];
}

/**
 * Runs the planner every quarter hour from `from` to `to` (as the schedule does, a few seconds
 * late), draining the digest queue after each run; returns every email sent.
 */
const runQuarterHours = async (from: string, to: string, zones: string[]) => {
  const sent: Sent[] = [];
  const mailer: Mailer = {
    async send() {
      return { messageId: `m-${sent.length}` };
    },
  };
  let now = Date.parse(from);
  const queue = new LocalDigestQueue();
  const deps: DigestDeps = {
    store: makeDigestStore(table.db, tableName),
    queue,
    mailer,
    compose: async (digest: Digest): Promise<OutgoingEmail> => {
      sent.push({
        subscriber: digest.subscriber.id,
        end: digest.window.end,
        ids: digest.sections.flatMap((s) => s.items.map((i) => i.event.id)),
      });
      return { to: digest.subscriber.email, from: 'news@example.org', subject: 's', text: 't', html: '' };
    },
    schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
    sendRate: 0,
    now: () => now,
    tuning: { settleMs: 0 },
  };
  const handler = planDigests({ ...deps, zones: () => zones });
  for (let at = Date.parse(from); at < Date.parse(to); at += QUARTER_MS) {
    now = at + 5_000;
    await handler({ at: new Date(at).toISOString() }, context);
    const report = await queue.drain((message) => handleDigestMessage(deps, message));
    expect(report.failed).toBe(0);
  }
  return sent;
};

/** One event an hour on the followed topic, so every window has something in it. */
const hourlyEvents = async (from: string, to: string) => {
  let n = 0;
  for (let t = Date.parse(from) + HOUR_MS / 2; t < Date.parse(to); t += HOUR_MS) {
    await project(makeNewsEvent(++n, ['Russia']), new Date(t).toISOString());
  }
  return n;
};

const localDay = (zone: string, iso: string) => {
  const l = localTimeAt(zone, Date.parse(iso));
  return `${l.year}-${l.month}-${l.day}`;
};

describe('the quarter-hour planner on the days clocks move', () => {
  it('sends each subscriber one digest a local day at their hour, none skipped or doubled, every event once', async () => {
    // Around the European spring change (29 March 2026); Sydney and Kolkata keep their offsets then.
    const from = '2026-03-28T00:00:00.000Z';
    const to = '2026-03-30T06:00:00.000Z';
    const cases = [
      { zone: 'Europe/Berlin', hour: 2 }, // jumped over on the 29th: sent at 03:00 CEST
      { zone: 'Europe/Berlin', hour: 7 },
      { zone: 'Australia/Sydney', hour: 7 },
      { zone: 'Asia/Kolkata', hour: 7 }, // 01:30 UTC
    ];
    const ids = await Promise.all(
      cases.map((c, i) =>
        putChosen(i + 1, 'daily', { timeZone: c.zone, deliveryHour: c.hour, deliveryWeekday: 1 }, from),
      ),
    );
    const events = await hourlyEvents(from, to);
    const sent = await runQuarterHours(from, to, [
      'Europe/Berlin',
      'Australia/Sydney',
      'Asia/Kolkata',
      'UTC',
    ]);

    cases.forEach((c, i) => {
      const mine = sent.filter((s) => s.subscriber === ids[i]);
      const days = mine.map((s) => localDay(c.zone, s.end));
      // One a local day: no day twice.
      expect(new Set(days).size).toBe(days.length);
      // Each at the chosen local hour (the jumped-over 02:00 arrives as 03:00).
      for (const s of mine) {
        const hour = localTimeAt(c.zone, Date.parse(s.end)).hour;
        expect(hour === c.hour || (c.hour === 2 && hour === 3 && s.end.startsWith('2026-03-29'))).toBe(true);
      }
      expect(mine.length).toBeGreaterThanOrEqual(2);
      // Every event up to the last digest, each once.
      const got = mine.flatMap((s) => s.ids);
      expect(new Set(got).size).toBe(got.length);
      const last = mine.at(-1)?.end as string;
      const due = Math.floor((Date.parse(last) - Date.parse(from) - HOUR_MS / 2) / HOUR_MS) + 1;
      expect(got.length).toBe(Math.min(due, events));
    });
    // The Berlin 02:00 subscriber on the day of the change: sent when the clocks landed.
    expect(sent.filter((s) => s.subscriber === ids[0]).map((s) => s.end)).toContain(
      '2026-03-29T01:00:00.000Z',
    );
  });

  it('sends an hour that happens twice (New York, 1 November, 01:00) once, and weekly digests on the local weekday', async () => {
    const from = '2026-10-31T00:00:00.000Z';
    const to = '2026-11-03T00:00:00.000Z';
    const daily = await putChosen(
      1,
      'daily',
      { timeZone: 'America/New_York', deliveryHour: 1, deliveryWeekday: 0 },
      from,
    );
    const weekly = await putChosen(
      2,
      'weekly',
      { timeZone: 'America/New_York', deliveryHour: 1, deliveryWeekday: 0 },
      from,
    );
    await hourlyEvents(from, to);
    const sent = await runQuarterHours(from, to, ['America/New_York']);
    expect(sent.filter((s) => s.subscriber === daily).map((s) => s.end)).toEqual([
      '2026-10-31T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T05:00:00.000Z', // 01:00 EDT, the first of the two
      '2026-11-02T06:00:00.000Z', // 01:00 EST
    ]);
    expect(sent.filter((s) => s.subscriber === weekly).map((s) => s.end)).toEqual([
      '2026-11-01T05:00:00.000Z',
    ]);
  });

  it('keeps planning subscribers who never chose, at the default hour in the default zone', async () => {
    const from = '2026-11-29T00:00:00.000Z';
    const to = '2026-12-01T00:00:00.000Z';
    // Written as before zones: the bare id on the digest index, no zone on the record.
    const legacy = makeSubscriber(1, { confirmedAt: from, cursor: from });
    await putSubscriber(table.db, tableName, legacy);
    const weeklyLegacy = makeSubscriber(2, { cadence: 'weekly', confirmedAt: from, cursor: from });
    await putSubscriber(table.db, tableName, weeklyLegacy);
    await hourlyEvents(from, to);
    const sent = await runQuarterHours(from, to, ['Europe/Berlin']);
    expect(sent.filter((s) => s.subscriber === legacy.id).map((s) => s.end)).toEqual([
      '2026-11-29T07:00:00.000Z',
      '2026-11-30T07:00:00.000Z',
    ]);
    // 30 November 2026 is a Monday, the default weekday.
    expect(sent.filter((s) => s.subscriber === weeklyLegacy.id).map((s) => s.end)).toEqual([
      '2026-11-30T07:00:00.000Z',
    ]);
  });
});

describe('planning due buckets', () => {
  it('hands part-read and untouched buckets on when the invocation runs short, and every subscriber gets one digest', async () => {
    const since = '2026-12-06T00:00:00.000Z';
    const zones = ['Europe/Berlin', 'Europe/Paris', 'Europe/Rome'];
    const ids: string[] = [];
    for (let i = 0; i < 9; i++) {
      const timeZone = zones[i % 3] as string;
      ids.push(await putChosen(i + 1, 'daily', { timeZone, deliveryHour: 7, deliveryWeekday: 1 }, since));
    }
    await project(makeNewsEvent(1, ['Russia']), '2026-12-06T12:00:00.000Z');
    const sent: string[] = [];
    const queue = new LocalDigestQueue();
    let calls = 0;
    const deps: DigestDeps = {
      store: makeDigestStore(table.db, tableName),
      queue,
      mailer: { send: async () => ({ messageId: `m-${sent.length}` }) },
      compose: async (digest) => {
        sent.push(digest.subscriber.id);
        return { to: digest.subscriber.email, from: 'news@example.org', subject: 's', text: 't', html: '' };
      },
      schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
      sendRate: 0,
      now: () => Date.parse('2026-12-07T06:00:05.000Z'),
      // Every third look at the clock finds the invocation nearly over.
      remainingMs: () => (calls++ % 3 === 2 ? 0 : 60_000),
      tuning: { settleMs: 0, planPageSize: 1, batchSize: 2, concurrency: 2, reserveMs: 10 },
    };
    const handler = planDigests({ ...deps, zones: () => zones });
    await handler({ at: '2026-12-07T06:00:00Z' }, context);
    const plans: DigestMessage[] = [];
    const report = await queue.drain((message) => {
      if (message.kind === 'plan') plans.push(message);
      return handleDigestMessage(deps, message);
    });
    expect(report.failed).toBe(0);
    // Handed on: a bucket part-read (with where to resume) and buckets not yet read.
    expect(plans.some((m) => m.kind === 'plan' && m.startKey !== undefined && m.buckets?.length === 1)).toBe(
      true,
    );
    expect(
      plans.some((m) => m.kind === 'plan' && m.startKey === undefined && (m.buckets?.length ?? 0) < 4),
    ).toBe(true);
    expect(sent.sort()).toEqual(ids.sort());
  });
});
