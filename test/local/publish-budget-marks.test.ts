import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MarkRecord, makeEventStore, markBatchOf } from '../../shared/adapters/event-store.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

// Walking a backlog of marks (`walkMarks`), against a real table (dynalite): oldest first across the
// mark shards, a page at a time, each stored mark's keys with its stamp, cleared as any marks are.

let table: TestTable;
let store: ReturnType<typeof makeEventStore>;

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
});
afterAll(() => table.close());

const at = (second: number) => new Date(Date.UTC(2026, 11, 6, 9, 0, second)).toISOString();

describe('walking the marks of a kind', () => {
  it('yields every stored mark oldest first, across shards and pages, and clears what it yielded', async () => {
    // 260 batches of changes (more than a page of 100 per shard), written out of order, each
    // marking two events; and one batch of 250 keys (two stored marks, 200 and 50).
    const order = Array.from({ length: 260 }, (_, i) => (i * 97) % 260);
    for (const i of order)
      await store.markDirty(
        [
          { kind: 'event', key: `2016/11/16/e-${i}` },
          { kind: 'event', key: `2016/11/16/f-${i}` },
          { kind: 'day', key: '2016-11-16' },
        ],
        at(i),
      );
    await store.markDirty(
      Array.from({ length: 250 }, (_, i) => ({ kind: 'event' as const, key: `2016/11/17/g-${i}` })),
      at(300),
    );

    const walked: MarkRecord[][] = [];
    for await (const stored of store.walkMarks('event')) walked.push(stored);
    expect(walked).toHaveLength(260 + 2);
    const times = walked.map((stored) => stored[0]?.markedAt as string);
    expect(times).toEqual([...times].sort());
    expect(walked[0]?.map((m) => m.key).sort()).toEqual(['2016/11/16/e-0', '2016/11/16/f-0']);
    expect(walked.slice(-2).map((stored) => stored.length)).toEqual(expect.arrayContaining([200, 50]));
    // One stamp per stored mark, shared by its keys; one batch of changes marked its day too.
    for (const stored of walked) expect(new Set(stored.map((m) => m.stamps.join())).size).toBe(1);
    const [day] = await store.listMarks('day');
    const firstBatch = markBatchOf(walked[0]?.[0]?.stamps[0] as string);
    expect(day?.stamps.map(markBatchOf)).toContain(firstBatch);

    // Cleared in two parts, the second cutting a stored mark of 200 keys: nothing is left.
    const all = walked.flat();
    await store.clearMarks(all.slice(0, 400));
    await store.clearMarks(all.slice(400));
    expect(await store.listMarks('event')).toEqual([]);
    const left: MarkRecord[][] = [];
    for await (const stored of store.walkMarks('event')) left.push(stored);
    expect(left).toEqual([]);
  });
});
