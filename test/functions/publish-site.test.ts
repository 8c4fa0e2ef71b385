import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler, type PublishOutcome } from '../../functions/publish-site.js';
import { LocalHubQueue } from '../../local/websub-queue.js';
import { makeEventStore } from '../../shared/adapters/event-store.js';
import { type Lease, makeLease } from '../../shared/adapters/lease.js';
import type { ObjectStore } from '../../shared/adapters/object-store.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import type { HubMessage } from '../../shared/domain/websub.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

// The publish function against a real table (dynalite): runs take the lease in it, so they never
// overlap; the site bucket is a map.

let table: TestTable;
let store: ReturnType<typeof makeEventStore>;
let lease: Lease;
let files: Map<string, string>;
let failWrites: boolean;

const objects: ObjectStore = {
  async putIfChanged(key, body) {
    if (failWrites) throw new Error('the bucket is unavailable');
    const text =
      typeof body === 'string'
        ? body
        : body.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString())).join('');
    const changed = files.get(key) !== text;
    files.set(key, text);
    return changed;
  },
  remove: async (key) => files.delete(key),
  get: async (key) => (files.has(key) ? Buffer.from(files.get(key) as string) : undefined),
};

/** When the handler's clock starts. */
const T0 = Date.UTC(2026, 10, 28, 12);

/** A clock that moves only when the handler sleeps; `onSleep` runs at each sleep. */
const fakeClock = (onSleep: (slept: number) => Promise<void> = async () => undefined) => {
  let now = T0;
  let slept = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
      slept += ms;
      await onSleep(slept);
    },
    get slept() {
      return slept;
    },
  };
};

const contextFor = (awsRequestId: string): Context =>
  ({ awsRequestId, getRemainingTimeInMillis: () => 900_000 }) as unknown as Context;

const invoke = (
  handler: ReturnType<typeof makeHandler>,
  event: { full?: boolean },
  id = 'run-1',
): Promise<PublishOutcome> => handler(event, contextFor(id));

const deps = () => ({ store, objects, site: defaultSiteConfig('https://news.example.org'), lease });

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
  lease = makeLease(table.db, table.tableName, 'publish');
});
afterAll(() => table.close());
beforeEach(async () => {
  files = new Map();
  failWrites = false;
  // Whoever holds the lease from the test before gives it back.
  for (const holder of ['run-1', 'other']) await lease.release(holder);
  await store.markDirty([{ kind: 'site', key: 'site' }], '2026-11-28T11:00:00.000Z');
});

describe('the lease', () => {
  it('has one holder at a time, until it is given back or runs out', async () => {
    const now = T0;
    expect(await lease.take('a', now, now + 1_000)).toBe(true);
    expect(await lease.take('b', now + 999, now + 5_000)).toBe(false);
    // The holder may take it again (a retried request), extending it.
    expect(await lease.take('a', now + 500, now + 2_000)).toBe(true);
    expect(await lease.take('b', now + 1_500, now + 5_000)).toBe(false);
    // Run out: anyone may take it.
    expect(await lease.take('b', now + 2_000, now + 5_000)).toBe(true);
    // Only its holder gives it back.
    await lease.release('a');
    expect(await lease.take('c', now + 3_000, now + 6_000)).toBe(false);
    await lease.release('b');
    expect(await lease.take('c', now + 3_000, now + 6_000)).toBe(true);
    await lease.release('c');
  });
});

describe('publish-site', () => {
  it('publishes what is marked, holding the lease meanwhile, and gives it back', async () => {
    let heldDuring: boolean | undefined;
    const watching: ObjectStore = {
      ...objects,
      async putIfChanged(key, body, type) {
        heldDuring ??= !(await lease.take('other', T0 + 1_000, T0 + 2_000));
        return objects.putIfChanged(key, body, type);
      },
    };
    const handler = makeHandler({ ...deps(), objects: watching }, fakeClock());
    const outcome = await invoke(handler, {});
    expect(outcome.skipped).toBeUndefined();
    expect(outcome.marksCleared).toBe(1);
    expect(files.has('index.html')).toBe(true);
    expect(heldDuring).toBe(true);
    expect(await lease.take('other', T0 + 1_000, T0 + 2_000)).toBe(true);
  });

  it('leaves the marks to the next run when another run holds the lease', async () => {
    const now = T0;
    expect(await lease.take('other', now, now + 60_000)).toBe(true);
    const clock = fakeClock();
    const outcome = await invoke(makeHandler(deps(), clock), {});
    expect(outcome).toMatchObject({ skipped: true, written: 0, marksCleared: 0 });
    expect(clock.slept).toBe(0);
    expect(files.size).toBe(0);
    expect((await store.listMarks('site')).map((m) => m.key)).toEqual(['site']);
    // Still the other run's.
    expect(await lease.take('run-2', now + 1_000, now + 2_000)).toBe(false);
  });

  it('goes ahead once a lease left by a run that died runs out', async () => {
    const now = T0;
    expect(await lease.take('other', now - 120_000, now - 1)).toBe(true);
    const outcome = await invoke(makeHandler(deps(), fakeClock()), {});
    expect(outcome.skipped).toBeUndefined();
    expect(outcome.marksCleared).toBe(1);
  });

  it('runs a full publish once the run under way gives the lease back', async () => {
    const now = T0;
    expect(await lease.take('other', now, now + 900_000)).toBe(true);
    const clock = fakeClock(async (slept) => {
      if (slept === 6_000) await lease.release('other');
    });
    const outcome = await invoke(makeHandler(deps(), clock), { full: true });
    expect(clock.slept).toBe(6_000);
    expect(outcome.skipped).toBeUndefined();
    expect(files.has('index.html')).toBe(true);
  });

  it('fails a full publish after a minute when the run under way does not end', async () => {
    const now = T0;
    expect(await lease.take('other', now, now + 900_000)).toBe(true);
    const clock = fakeClock();
    await expect(invoke(makeHandler(deps(), clock), { full: true })).rejects.toThrow(
      'another publish run is under way; ask for the full publish again once it ends',
    );
    expect(clock.slept).toBe(60_000);
    expect(files.size).toBe(0);
  });

  it('gives the lease back when the run fails, and keeps its marks', async () => {
    failWrites = true;
    await expect(invoke(makeHandler(deps(), fakeClock()), {})).rejects.toThrow(
      '1 rebuilds failed; their marks stay for the next run',
    );
    expect((await store.listMarks('site')).map((m) => m.key)).toEqual(['site']);
    expect(await lease.take('other', T0 + 1_000, T0 + 2_000)).toBe(true);
  });
});

describe('publish-site and the WebSub hub', () => {
  it("hands the feeds whose bytes changed to the hub's queue, and nothing when none changed", async () => {
    const queue = new LocalHubQueue();
    const handler = makeHandler({ ...deps(), hubQueue: queue }, fakeClock());
    await invoke(handler, {});
    const sent: HubMessage[] = [];
    await queue.drain(async (message) => {
      sent.push(message);
    });
    expect(sent).toEqual([
      { kind: 'distribute', topics: ['feeds/all.atom', 'feeds/all.json', 'feeds/all.rss'] },
    ]);
    // Marked again, rebuilt to the same bytes: nothing to push.
    await store.markDirty([{ kind: 'site', key: 'site' }], '2026-11-28T11:00:01.000Z');
    await invoke(handler, {});
    expect(queue.size).toBe(0);
  });
});
