import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/publish-site.js';
import { makeEventStore } from '../../shared/adapters/event-store.js';
import { makeLastPublishStore } from '../../shared/adapters/last-publish.js';
import { makeLease } from '../../shared/adapters/lease.js';
import type { ObjectStore } from '../../shared/adapters/object-store.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

// Each publish run that does its work leaves its report in the table (`CONTROL#last-publish`),
// where `tidings status` reads it. Real table (dynalite); the bucket is a map.

let table: TestTable;
let failWrites = false;
const files = new Map<string, string>();
const objects: ObjectStore = {
  async putIfChanged(key, body) {
    if (failWrites) throw new Error('the bucket is unavailable');
    const text = typeof body === 'string' ? body : body.map((p) => String(p)).join('');
    const changed = files.get(key) !== text;
    files.set(key, text);
    return changed;
  },
  remove: async (key) => files.delete(key),
  get: async (key) => (files.has(key) ? Buffer.from(files.get(key) as string) : undefined),
};
const T0 = Date.UTC(2026, 11, 6, 4);
/** Each reading of the clock is 1.5 s after the one before. */
const clock = () => {
  let now = T0;
  return { now: () => (now += 1_500), sleep: async () => undefined };
};
const context = (awsRequestId: string) =>
  ({ awsRequestId, getRemainingTimeInMillis: () => 900_000 }) as unknown as Context;

let deps: () => Parameters<typeof makeHandler>[0];
let last: ReturnType<typeof makeLastPublishStore>;

beforeAll(async () => {
  table = await startTestTable();
  const store = makeEventStore(table.db, table.tableName);
  last = makeLastPublishStore(table.db, table.tableName);
  const lease = makeLease(table.db, table.tableName, 'publish');
  deps = () => ({
    store,
    objects,
    site: defaultSiteConfig('https://news.example.org'),
    lease,
    lastRun: last,
  });
});
afterAll(() => table.close());

describe('publish-site records its last run', () => {
  it('keeps the report of a full run, with when it ended and how long it took', async () => {
    expect(await last.readLastPublish()).toBeUndefined();
    const report = await makeHandler(deps(), clock())({ full: true }, context('run-1'));
    const recorded = await last.readLastPublish();
    expect(recorded).toMatchObject({ full: true, written: report.written, failed: 0, seconds: 3 });
    expect(recorded?.written).toBeGreaterThan(0);
    expect(Date.parse(recorded?.at ?? '')).toBeGreaterThan(T0);
  });

  it('keeps a failed run too (then fails the invocation), and an incremental run replaces it', async () => {
    const store = makeEventStore(table.db, table.tableName);
    await store.markDirty([{ kind: 'site', key: 'site' }], '2026-12-06T03:00:00.000Z');
    failWrites = true;
    await expect(makeHandler(deps(), clock())({}, context('run-2'))).rejects.toThrow(/rebuilds failed/);
    expect(await last.readLastPublish()).toMatchObject({ full: false, failed: 1 });
    failWrites = false;
    await makeHandler(deps(), clock())({}, context('run-3'));
    expect(await last.readLastPublish()).toMatchObject({ full: false, failed: 0, marksCleared: 1 });
  });

  it('is not overwritten by a run that found another under way', async () => {
    const before = await last.readLastPublish();
    const lease = makeLease(table.db, table.tableName, 'publish');
    expect(await lease.take('other', Date.now(), Date.now() + 60_000)).toBe(true);
    const outcome = await makeHandler(deps(), { now: () => Date.now(), sleep: async () => undefined })(
      {},
      context('run-4'),
    );
    expect(outcome.skipped).toBe(true);
    expect(await last.readLastPublish()).toEqual(before);
    await lease.release('other');
  });
});
