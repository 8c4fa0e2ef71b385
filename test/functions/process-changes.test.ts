import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/process-changes.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { type EventStore, type ListingStore, makeEventStore } from '../../shared/adapters/event-store.js';
import {
  correctedEvent,
  createdEvent,
  type NewsEvent,
  parseEventDraft,
  tombstoneOf,
} from '../../shared/domain/event.js';
import { makeEventInput } from '../helpers/builders.js';
import { steppingClock } from '../helpers/clock.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { makeStreamRecord } from '../helpers/stream.js';

let table: TestTable;
let store: EventStore & ListingStore;
let handle: ReturnType<typeof makeHandler>;
const now = steppingClock();

const draft = (overrides: Record<string, unknown>) => {
  const parsed = parseEventDraft(makeEventInput(overrides));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.draft;
};

const run = (records: ReturnType<typeof makeStreamRecord>[]) =>
  handle({ Records: records }, lambdaContext('process-changes'));

const tagIds = async (slug: string) =>
  (await store.listTag(slug, { limit: 100 })).items.map((e) => `${e.id}@${e.revision}`);

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
  handle = makeHandler({ store, now });
});
afterAll(() => table.close());

describe('process-changes keeps tag listings and counts exact', () => {
  it('lists a new event under each tag and counts it', async () => {
    const e = createdEvent(draft({ headline: 'New and listed', tags: ['Alpha', 'Beta'] }), now());
    await store.putEvent(e, undefined);
    expect(await run([makeStreamRecord(e)])).toEqual({ batchItemFailures: [] });
    expect(await tagIds('alpha')).toEqual([`${e.id}@1`]);
    expect(await store.getTag('beta')).toEqual({ slug: 'beta', name: 'Beta', count: 1 });
  });

  it('moves an event between tags on a correction and drops it on deletion', async () => {
    const v1 = createdEvent(draft({ headline: 'Moving between tags', tags: ['Gamma', 'Delta'] }), now());
    await store.putEvent(v1, undefined);
    await run([makeStreamRecord(v1)]);
    const v2 = correctedEvent(
      v1,
      draft({ headline: 'Moving between tags', tags: ['Delta', 'Epsilon'] }),
      now(),
    );
    await store.putEvent(v2, v1);
    await run([makeStreamRecord(v2, v1)]);
    expect(await tagIds('gamma')).toEqual([]);
    expect(await store.getTag('gamma')).toBeUndefined();
    expect(await tagIds('delta')).toEqual([`${v1.id}@2`]);
    expect(await tagIds('epsilon')).toEqual([`${v1.id}@2`]);

    const gone = tombstoneOf(v2, now());
    await store.putEvent(gone, v2);
    await run([makeStreamRecord(gone, v2)]);
    expect(await tagIds('delta')).toEqual([]);
    expect(await tagIds('epsilon')).toEqual([]);
    expect(await store.getTag('epsilon')).toBeUndefined();
  });

  it('changes nothing more when a record is delivered twice', async () => {
    const e = createdEvent(draft({ headline: 'Delivered twice', tags: ['Zeta'] }), now());
    await store.putEvent(e, undefined);
    const record = makeStreamRecord(e);
    await run([record, record]);
    await run([record]);
    expect(await tagIds('zeta')).toEqual([`${e.id}@1`]);
    expect((await store.getTag('zeta'))?.count).toBe(1);
  });

  it('converges when records arrive out of order', async () => {
    const v1 = createdEvent(draft({ headline: 'Out of order', tags: ['Eta', 'Theta'] }), now());
    const v2 = correctedEvent(v1, draft({ headline: 'Out of order', tags: ['Theta'] }), now());
    await store.putEvent(v1, undefined);
    await store.putEvent(v2, v1);
    // The correction's record first, then the creation's (a retried older batch).
    await run([makeStreamRecord(v2, v1)]);
    await run([makeStreamRecord(v1)]);
    expect(await tagIds('eta')).toEqual([]);
    expect(await tagIds('theta')).toEqual([`${v1.id}@2`]);
    expect((await store.getTag('theta'))?.count).toBe(1);
  });

  it('reports an unreadable record alone and processes the rest', async () => {
    const good = createdEvent(draft({ headline: 'Next to a poison record', tags: ['Iota'] }), now());
    await store.putEvent(good, undefined);
    const poison = makeStreamRecord(good);
    poison.dynamodb = {
      ...poison.dynamodb,
      SequenceNumber: '000000000000000000007',
      NewImage: marshall({ PK: `EVENT#${good.id}`, SK: 'EVENT', id: 5 }) as never,
    };
    const result = await run([poison, makeStreamRecord(good)]);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '000000000000000000007' }] });
    expect(await tagIds('iota')).toEqual([`${good.id}@1`]);
  });

  it('ignores records of items that are not events', async () => {
    const record = makeStreamRecord(undefined as unknown as NewsEvent);
    record.dynamodb = {
      ...record.dynamodb,
      Keys: marshall({ PK: 'TAG#x', SK: 'EVENT#2016-01-01#x' }) as never,
    };
    expect(await run([record])).toEqual({ batchItemFailures: [] });
  });

  it('reports the failed sequence numbers when the store fails', async () => {
    const e = createdEvent(draft({ headline: 'Store fails', tags: ['Kappa'] }), now());
    const failing = makeHandler({
      store: { ...store, putTagEntry: async () => Promise.reject(new Error('throttled')) },
      now,
    });
    const record = makeStreamRecord(e, undefined, 424242);
    await store.putEvent(e, undefined);
    const result = await failing({ Records: [record] }, lambdaContext('process-changes'));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '000000000000000424242' }]);
    // Retried with a healthy store, it converges.
    await run([record]);
    expect(await tagIds('kappa')).toEqual([`${e.id}@1`]);
  });
});
