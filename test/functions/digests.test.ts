import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { makeHandler as planDigests } from '../../functions/plan-digests.js';
import { parseDigestMessage, makeHandler as sendDigests } from '../../functions/send-digests.js';
import { LocalDigestQueue } from '../../local/digest-queue.js';
import type { DigestStore } from '../../shared/adapters/digest-store.js';
import type { Mailer } from '../../shared/adapters/mailer.js';
import { DIGEST_SHARDS } from '../../shared/keys.js';
import { type DigestDeps, type DigestMessage, emptyDigestReport } from '../../shared/services/digests.js';
import { makeNewsEvent } from '../helpers/builders.js';
import { makeSubscriber } from '../helpers/subscribers.js';

const context = (remainingMs = 60_000) =>
  ({ getRemainingTimeInMillis: () => remainingMs, awsRequestId: 'req-1' }) as unknown as Context;

const record = (messageId: string, body: unknown): SQSRecord =>
  ({ messageId, body: typeof body === 'string' ? body : JSON.stringify(body) }) as SQSRecord;

const NOW = Date.parse('2026-11-28T09:00:00.000Z');

describe('plan-digests', () => {
  it('starts a run of a whole cadence by hand: one plan message per shard, each window ending at its own delivery time', async () => {
    const queue = new LocalDigestQueue();
    const handler = planDigests({
      queue,
      schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
      now: () => NOW,
    });
    const out = await handler({ cadence: 'weekly' }, context());
    // 2026-11-28 is a Saturday; the last Monday 07:00 is the 23rd.
    expect(out).toEqual({ cadence: 'weekly', end: '2026-11-23T07:00:00.000Z' });
    const planned: DigestMessage[] = [];
    await queue.drain(async (m) => {
      planned.push(m);
      return emptyDigestReport();
    });
    expect(planned).toEqual(
      Array.from({ length: DIGEST_SHARDS }, (_, shard) => ({
        kind: 'plan',
        cadence: 'weekly',
        // Each subscriber's window ends at their latest delivery time at or before `at`, not after `end`.
        end: '2026-11-28T08:59:00.000Z',
        at: '2026-11-28T09:00:00.000Z',
        shard,
      })),
    );
  });

  it('plans the quarter hour of the schedule time: only the delivery buckets due then', async () => {
    const queue = new LocalDigestQueue();
    const handler = planDigests({
      queue,
      schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
      now: () => Date.parse('2026-11-30T06:00:30.000Z'),
      zones: () => ['Europe/Berlin', 'Asia/Kolkata', 'America/New_York'],
    });
    // A Monday, 06:00 UTC (the schedule fired a little late): 07:00 in Berlin, 11:30 in Kolkata, 01:00 in New York.
    const out = await handler({ at: '2026-11-30T06:00:00Z' }, context());
    expect(out).toEqual({ at: '2026-11-30T06:00:00.000Z', buckets: { daily: 3, weekly: 3 } });
    const planned: DigestMessage[] = [];
    await queue.drain(async (m) => {
      planned.push(m);
      return emptyDigestReport();
    });
    expect(planned).toHaveLength(2 * DIGEST_SHARDS);
    const daily = planned.find((m) => m.kind === 'plan' && m.cadence === 'daily');
    expect(daily).toMatchObject({
      end: '2026-11-30T05:59:30.000Z',
      at: '2026-11-30T06:00:00.000Z',
      buckets: ['!Europe/Berlin#07#', '!America/New_York#01#', '!UTC#06#'],
    });
    const weekly = planned.find((m) => m.kind === 'plan' && m.cadence === 'weekly');
    // Weekly buckets carry the local weekday (Monday, 1, in all three).
    expect(weekly).toMatchObject({
      buckets: ['!Europe/Berlin#07#1#', '!America/New_York#01#1#', '!UTC#06#1#'],
    });
  });

  it('refuses a schedule time that is not an ISO timestamp, naming the field', async () => {
    const handler = planDigests({
      queue: new LocalDigestQueue(),
      schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
      now: () => NOW,
    });
    await expect(handler({ at: 'yesterday' }, context())).rejects.toMatchObject({
      statusCode: 400,
      message: expect.stringContaining('at'),
    });
  });

  it('ends the window now (less the settle time) when run by hand with now: true', async () => {
    const handler = planDigests({
      queue: new LocalDigestQueue(),
      schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
      now: () => NOW,
    });
    expect(await handler({ cadence: 'daily', now: true }, context())).toEqual({
      cadence: 'daily',
      end: '2026-11-28T08:59:00.000Z',
    });
  });

  it('refuses an input without a known cadence, naming the field and the rule', async () => {
    const queue = new LocalDigestQueue();
    const handler = planDigests({
      queue,
      schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
      now: () => NOW,
    });
    await expect(handler({ cadence: 'monthly' }, context())).rejects.toThrow(
      'cadence: must be one of daily, weekly (got "monthly")',
    );
    expect(queue.size).toBe(0);
  });
});

describe('send-digests', () => {
  const failingStore = {
    getRecipients: async () => {
      throw new Error('store unavailable');
    },
    listSubscriberIds: async () => ({ ids: [] }),
  } as unknown as DigestStore;
  const deps = (store: DigestStore): Omit<DigestDeps, 'remainingMs'> => ({
    store,
    queue: new LocalDigestQueue(),
    mailer: { send: async () => ({ messageId: 'x' }) } as Mailer,
    compose: async () => {
      throw new Error('not reached');
    },
    schedule: { hour: 7, weekday: 1, timeZone: 'UTC' },
    sendRate: 0,
    now: () => NOW,
  });

  it('reports exactly the records that failed or could not be read, for redelivery', async () => {
    const handler = sendDigests(deps(failingStore));
    const event: SQSEvent = {
      Records: [
        record('plan-ok', { kind: 'plan', cadence: 'daily', end: '2026-11-28T07:00:00.000Z', shard: 0 }),
        record('send-fails', {
          kind: 'send',
          cadence: 'daily',
          end: '2026-11-28T07:00:00.000Z',
          subscribers: ['a'],
        }),
        record('not-json', '{"kind":'),
        record('unknown-kind', { kind: 'mail', cadence: 'daily', end: '2026-11-28T07:00:00.000Z' }),
      ],
    };
    const out = await handler(event, context());
    expect(out.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      'send-fails',
      'not-json',
      'unknown-kind',
    ]);
  });

  it('reports a batch whose digest went out but whose cursor write failed, so the redelivery records it', async () => {
    const subscriber = makeSubscriber(1, { cursor: '2026-11-27T07:00:00.000Z' });
    const store: DigestStore = {
      listSubscriberIds: async () => ({ ids: [] }),
      getRecipients: async () => new Map([[subscriber.id, { subscriber, suppressed: false }]]),
      windowChanges: async () => [
        { event: makeNewsEvent(1, ['Russia']), changedAt: '2026-11-27T10:00:00.000Z' },
      ],
      claimDigest: async () => ({ kind: 'claimed' }),
      releaseDigest: async () => {},
      markDigestSent: async () => true,
      recordCursors: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    };
    const sent: string[] = [];
    const handler = sendDigests({
      ...deps(store),
      mailer: {
        send: async (email) => {
          sent.push(email.to);
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
    });
    const message = {
      kind: 'send',
      cadence: 'daily',
      end: '2026-11-28T07:00:00.000Z',
      subscribers: [subscriber.id],
    };
    const out = await handler({ Records: [record('sent-unrecorded', message)] }, context());
    expect(sent).toEqual([subscriber.email]);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: 'sent-unrecorded' }]);
  });
});

describe('parseDigestMessage', () => {
  const end = '2026-11-28T07:00:00.000Z';

  it('accepts the two message kinds', () => {
    expect(
      parseDigestMessage(JSON.stringify({ kind: 'plan', cadence: 'daily', end, shard: 2, startKey: 'k' })),
    ).toEqual({ kind: 'plan', cadence: 'daily', end, shard: 2, startKey: 'k' });
    expect(
      parseDigestMessage(JSON.stringify({ kind: 'send', cadence: 'weekly', end, subscribers: ['a', 'b'] })),
    ).toEqual({ kind: 'send', cadence: 'weekly', end, subscribers: ['a', 'b'] });
  });

  it('keeps the run time and due buckets of a quarter-hour run, the default bucket ("") included', () => {
    const at = '2026-11-28T07:00:00.000Z';
    const plan = { kind: 'plan', cadence: 'daily', end, shard: 1, at, buckets: ['!Europe/Berlin#08#', ''] };
    expect(parseDigestMessage(JSON.stringify(plan))).toEqual(plan);
    const send = { kind: 'send', cadence: 'daily', end, at, subscribers: ['a'] };
    expect(parseDigestMessage(JSON.stringify(send))).toEqual(send);
  });

  it.each([
    [{ kind: 'plan', cadence: 'hourly', end, shard: 0 }, 'cadence must be one of daily, weekly'],
    [{ kind: 'plan', cadence: 'daily', end: 'yesterday', shard: 0 }, 'end must be an ISO timestamp'],
    [{ kind: 'plan', cadence: 'daily', end, shard: -1 }, 'shard must be a whole number'],
    [{ kind: 'plan', cadence: 'daily', end, shard: 0, at: 'soon' }, 'at must be an ISO timestamp'],
    [
      { kind: 'plan', cadence: 'daily', end, shard: 0, buckets: ['DIGEST#x'] },
      'buckets must be a list of digest buckets',
    ],
    [{ kind: 'plan', cadence: 'instant', end, shard: 0 }, 'cadence must be one of daily, weekly'],
    [{ kind: 'send', cadence: 'daily', end, subscribers: [] }, 'subscribers must be 1 to 1000 ids'],
    [{ kind: 'send', cadence: 'daily', end, subscribers: [7] }, 'subscribers must be 1 to 1000 ids'],
    [{ kind: 'other', cadence: 'daily', end }, 'kind must be plan or send'],
  ])('refuses %j: %s', (message, rule) => {
    expect(() => parseDigestMessage(JSON.stringify(message))).toThrow(rule);
  });
});
