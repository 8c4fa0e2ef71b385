import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler, type PublishOutcome, runDeadline } from '../../functions/publish-site.js';
import { makeEventStore } from '../../shared/adapters/event-store.js';
import { type Lease, makeLease } from '../../shared/adapters/lease.js';
import type { ObjectStore } from '../../shared/adapters/object-store.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import { DEFAULT_RUN_BUDGET_MS } from '../../shared/services/publish.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

// The publish function's time budget: an incremental run stops taking new work before the
// invocation's time runs out. The handler's clock is injected and moves at every object the run
// removes, so how far a run gets depends on the deadline the handler gave it.

let table: TestTable;
let store: ReturnType<typeof makeEventStore>;
let lease: Lease;

const T0 = Date.UTC(2026, 11, 6, 9);

/** A clock that moves `step` ms at each object removed (the marked tags have no events: removed). */
const tickingRun = (step = 1_000) => {
  let now = T0;
  const objects: ObjectStore = {
    putIfChanged: async () => true,
    remove: async () => {
      now += step;
      return true;
    },
    get: async () => undefined,
  };
  const clock = {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
  return { objects, clock, elapsed: () => now - T0 };
};

const contextWith = (remaining: unknown): Context =>
  ({
    awsRequestId: 'run-budget',
    ...(remaining === undefined ? {} : { getRemainingTimeInMillis: () => remaining }),
  }) as unknown as Context;

/** Forty marked tags (more than a run takes at once) and the site. */
const markForty = () =>
  store.markDirty(
    [
      ...Array.from({ length: 40 }, (_, i) => ({ kind: 'tag' as const, key: `gone-${i}` })),
      { kind: 'site' as const, key: 'site' },
    ],
    '2026-12-06T08:59:00.000Z',
  );

const run = async (
  remaining: unknown,
  step: number,
): Promise<{ outcome: PublishOutcome; elapsed: number }> => {
  const { objects, clock, elapsed } = tickingRun(step);
  const handler = makeHandler(
    { store, objects, site: defaultSiteConfig('https://news.example.org'), lease },
    clock,
  );
  const outcome = await handler({}, contextWith(remaining));
  return { outcome, elapsed: elapsed() };
};

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
  lease = makeLease(table.db, table.tableName, 'publish');
});
afterAll(() => table.close());
beforeEach(async () => {
  await lease.release('run-budget');
  for (const kind of ['tag', 'site'] as const) await store.clearMarks(await store.listMarks(kind));
  await markForty();
});

describe('the deadline of an incremental run', () => {
  it('is the time the invocation has left less a margin for finishing what it took', () => {
    // 15 minutes: two are kept.
    expect(runDeadline(T0, 900_000)).toBe(T0 + 780_000);
    // A short timeout keeps a quarter.
    expect(runDeadline(T0, 200_000)).toBe(T0 + 150_000);
    // Nothing usable: the publisher's default.
    for (const bad of [undefined, Number.NaN, Number.POSITIVE_INFINITY, 0, -5, '900000'])
      expect(runDeadline(T0, bad)).toBeUndefined();
  });

  it("comes from the Lambda context: a run stops taking work before the invocation's time is up", async () => {
    // 130 s left: the run takes new work for 97.5 s of it. Each tag takes 500 s (its page and feeds
    // removed); the first 32 are taken at once, and the rest (and the site, which links to them)
    // would start after the deadline.
    const { outcome, elapsed } = await run(130_000, 100_000);
    expect(outcome).toMatchObject({ failed: 0, marksDeferred: 8 + 1, marksCleared: 32 });
    expect(outcome.skipped).toBeUndefined();
    expect(elapsed).toBe(32 * 5 * 100_000);
    // Left marked for the next run, which has the time to finish them.
    expect((await store.listMarks('tag')).length).toBe(8);
    expect((await store.listMarks('site')).length).toBe(1);
    const next = await run(900_000, 1);
    expect(next.outcome).toMatchObject({ failed: 0, marksDeferred: 0, marksCleared: 9 });
    expect(await store.listMarks('tag')).toEqual([]);
  });

  it('with time enough, takes everything', async () => {
    // 15 minutes left, a tag takes 5 ms.
    const { outcome, elapsed } = await run(900_000, 1);
    expect(outcome).toMatchObject({ failed: 0, marksDeferred: 0, marksCleared: 41 });
    expect(elapsed).toBe(40 * 5);
  });

  it("is the publisher's default when the context does not say", async () => {
    // No getRemainingTimeInMillis (an answer that is not a time is the unit test's above): a minute
    // from the start.
    expect(DEFAULT_RUN_BUDGET_MS).toBe(60_000);
    const { outcome } = await run(undefined, 100_000);
    // 32 taken at once; by the time the next could start, 500 s have passed.
    expect(outcome).toMatchObject({ failed: 0, marksDeferred: 9, marksCleared: 32 });
  });
});
