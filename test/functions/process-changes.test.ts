import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/process-changes.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { type EventStore, type ListingStore, makeEventStore } from '../../shared/adapters/event-store.js';
import {
  correctedEvent,
  createdEvent,
  isTombstone,
  type NewsEvent,
  parseEventDraft,
  type StoredEvent,
  tombstoneOf,
} from '../../shared/domain/event.js';
import type { ChangeDeps } from '../../shared/services/changes.js';
import { makeEventInput } from '../helpers/builders.js';
import { steppingClock } from '../helpers/clock.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { recordingTopic, seededRandom } from '../helpers/fakes.js';
import { makeStreamRecord } from '../helpers/stream.js';

const SITE = 'https://news.example.org';
let table: TestTable;
let store: EventStore & ListingStore;
const now = steppingClock();

const draft = (overrides: Record<string, unknown>) => {
  const parsed = parseEventDraft(makeEventInput(overrides));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.draft;
};

const noDelay = { maxAttempts: 4, sleep: async () => undefined };

const handlerWith = (deps: Partial<ChangeDeps> = {}) => {
  const recorded = recordingTopic();
  const handle = makeHandler({ store, now, topic: recorded.topic, siteUrl: SITE, fanout: noDelay, ...deps });
  return {
    ...recorded,
    run: (records: DynamoDBRecord[]) => handle({ Records: records }, lambdaContext('process-changes')),
  };
};

const tagIds = async (slug: string) =>
  (await store.listTag(slug, { limit: 100 })).items.map((e) => `${e.id}@${e.revision}`);

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
});
afterAll(() => table.close());

describe('process-changes keeps tag listings and counts exact', () => {
  it('lists a new event under each tag and counts it', async () => {
    const { run } = handlerWith();
    const e = createdEvent(draft({ headline: 'New and listed', tags: ['Alpha', 'Beta'] }), now());
    await store.putEvent(e, undefined);
    expect(await run([makeStreamRecord(e)])).toEqual({ batchItemFailures: [] });
    expect(await tagIds('alpha')).toEqual([`${e.id}@1`]);
    expect(await store.getTag('beta')).toEqual({ slug: 'beta', name: 'Beta', count: 1 });
  });

  it('moves an event between tags on a correction and drops it on deletion', async () => {
    const { run } = handlerWith();
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
    expect((await store.getTag('delta'))?.count).toBe(1);
    expect(await tagIds('epsilon')).toEqual([`${v1.id}@2`]);

    const gone = tombstoneOf(v2, now());
    await store.putEvent(gone, v2);
    await run([makeStreamRecord(gone, v2)]);
    expect(await tagIds('delta')).toEqual([]);
    expect(await tagIds('epsilon')).toEqual([]);
    expect(await store.getTag('epsilon')).toBeUndefined();
  });

  it('drops a topic and an image from the listing when a correction drops them', async () => {
    const { run } = handlerWith();
    const v1 = createdEvent(draft({ headline: 'Loses its image', tags: ['Takedown'] }), now());
    await store.putEvent(v1, undefined);
    await run([makeStreamRecord(v1)]);
    const {
      topic: _topic,
      image: _image,
      ...bare
    } = makeEventInput({ headline: 'Loses its image', tags: ['Takedown'] });
    const parsed = parseEventDraft(bare);
    if (!parsed.ok) throw new Error('invalid');
    const v2 = correctedEvent(v1, parsed.draft, now());
    await store.putEvent(v2, v1);
    await run([makeStreamRecord(v2, v1)]);
    const [listed] = (await store.listTag('takedown', { limit: 5 })).items;
    expect(listed).toEqual(v2);
    expect(listed).not.toHaveProperty('image');
    expect(listed).not.toHaveProperty('topic');
  });

  it("keeps the day's listing: an entry per live event, gone on deletion, one at the new time when created again", async () => {
    const { run } = handlerWith();
    const day = async (date: string) =>
      (await store.listDay(date, { limit: 100 })).items.map((e) => `${e.id}@${e.revision}`);
    const entriesOf = async (id: string) => {
      const { Items = [] } = await table.db.send(
        new ScanCommand({
          TableName: table.tableName,
          FilterExpression: '#t = :day AND id = :id',
          ExpressionAttributeNames: { '#t': 'type' },
          ExpressionAttributeValues: { ':day': 'day', ':id': id },
        }),
      );
      return Items.map((i) => i.publishedAt);
    };
    const v1 = createdEvent(
      draft({ date: '2011-01-11', headline: 'Day listed', tags: ['Daylisted'] }),
      now(),
    );
    await store.putEvent(v1, undefined);
    expect(await day('2011-01-11')).toEqual([]);
    await run([makeStreamRecord(v1)]);
    expect(await day('2011-01-11')).toEqual([`${v1.id}@1`]);
    const v2 = correctedEvent(v1, draft({ date: '2011-01-11', headline: 'Day listed', tags: [] }), now());
    await store.putEvent(v2, v1);
    await run([makeStreamRecord(v2, v1)]);
    expect(await day('2011-01-11')).toEqual([`${v1.id}@2`]);
    const gone = tombstoneOf(v2, now());
    await store.putEvent(gone, v2);
    await run([makeStreamRecord(gone, v2)]);
    expect(await day('2011-01-11')).toEqual([]);
    expect(await entriesOf(v1.id)).toEqual([]);
    const again = createdEvent(
      draft({ date: '2011-01-11', headline: 'Day listed', tags: ['Daylisted'] }),
      now(),
      gone,
    );
    await store.putEvent(again, gone);
    // The whole history replayed in one batch converges on the entry of the live state only.
    await run([
      makeStreamRecord(v1),
      makeStreamRecord(v2, v1),
      makeStreamRecord(gone, v2),
      makeStreamRecord(again, gone),
    ]);
    expect(await day('2011-01-11')).toEqual([`${v1.id}@${again.revision}`]);
    expect(await entriesOf(v1.id)).toEqual([again.publishedAt]);
  });

  it('changes nothing more when a record is delivered twice', async () => {
    const { run } = handlerWith();
    const e = createdEvent(draft({ headline: 'Delivered twice', tags: ['Zeta'] }), now());
    await store.putEvent(e, undefined);
    const record = makeStreamRecord(e);
    await run([record, record]);
    await run([record]);
    expect(await tagIds('zeta')).toEqual([`${e.id}@1`]);
    expect((await store.getTag('zeta'))?.count).toBe(1);
  });

  it('converges when records arrive out of order', async () => {
    const { run } = handlerWith();
    const v1 = createdEvent(draft({ headline: 'Out of order', tags: ['Eta', 'Theta'] }), now());
    const v2 = correctedEvent(v1, draft({ headline: 'Out of order', tags: ['Theta'] }), now());
    await store.putEvent(v1, undefined);
    await store.putEvent(v2, v1);
    await run([makeStreamRecord(v2, v1)]);
    await run([makeStreamRecord(v1)]);
    expect(await tagIds('eta')).toEqual([]);
    expect(await tagIds('theta')).toEqual([`${v1.id}@2`]);
    expect((await store.getTag('theta'))?.count).toBe(1);
  });

  it('reports an unreadable record alone and processes the rest', async () => {
    const { run } = handlerWith();
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
    const { run, calls } = handlerWith();
    const record = makeStreamRecord(undefined as unknown as NewsEvent);
    record.dynamodb = {
      ...record.dynamodb,
      Keys: marshall({ PK: 'TAG#x', SK: 'EVENT#2016-01-01#x' }) as never,
    };
    expect(await run([record])).toEqual({ batchItemFailures: [] });
    expect(calls).toEqual([]);
  });
});

describe('process-changes fans every change out', () => {
  it('publishes one versioned message per change with filterable attributes', async () => {
    const { run, published } = handlerWith();
    const v1 = createdEvent(
      draft({ headline: 'Fanned out', topic: 'Politics & elections', tags: ['Russia', 'Syria'] }),
      now(),
    );
    const v2 = correctedEvent(
      v1,
      draft({ headline: 'Fanned out', topic: 'Politics & elections', tags: ['Russia'], body: 'v2' }),
      now(),
    );
    const gone = tombstoneOf(v2, now());
    await store.putEvent(v1, undefined);
    await store.putEvent(v2, v1);
    await store.putEvent(gone, v2);
    await run([makeStreamRecord(v1), makeStreamRecord(v2, v1), makeStreamRecord(gone, v2)]);

    expect(published.map((m) => JSON.parse(m.body).changeType)).toEqual(['created', 'updated', 'deleted']);
    const [created, updated, deleted] = published.map((m) => ({
      body: JSON.parse(m.body),
      attributes: m.attributes,
    }));
    expect(created?.body).toEqual({
      schemaVersion: '1.0',
      changeType: 'created',
      id: v1.id,
      revision: 1,
      permalink: `${SITE}/news/${v1.id}.html`,
      changedAt: v1.updatedAt,
      event: v1,
    });
    expect(created?.attributes).toEqual({
      changeType: { DataType: 'String', StringValue: 'created' },
      tags: { DataType: 'String.Array', StringValue: '["russia","syria"]' },
      topic: { DataType: 'String', StringValue: 'Politics & elections' },
    });
    expect(updated?.body).toMatchObject({ revision: 2, previousRevision: 1, event: { body: 'v2' } });
    expect(deleted?.body).toMatchObject({ revision: 3, event: { deleted: true, deletedAt: gone.deletedAt } });
  });

  it('sends at most 10 messages per PublishBatch call', async () => {
    const { run, calls, published } = handlerWith();
    const events = Array.from({ length: 23 }, (_, i) =>
      createdEvent(draft({ headline: `Batched fan-out ${i}` }), now()),
    );
    for (const e of events) await store.putEvent(e, undefined);
    await run(events.map((e) => makeStreamRecord(e)));
    expect(calls.map((c) => c.length)).toEqual([10, 10, 3]);
    expect(published).toHaveLength(23);
  });

  it('retries refused entries and reports the change when SNS keeps refusing', async () => {
    const stubborn = createdEvent(draft({ headline: 'SNS keeps refusing this one' }), now());
    const fine = createdEvent(draft({ headline: 'SNS accepts this one' }), now());
    await store.putEvent(stubborn, undefined);
    await store.putEvent(fine, undefined);
    const recorded = recordingTopic({ refuse: (m) => m.key.startsWith(stubborn.id) });
    const handle = makeHandler({ store, now, topic: recorded.topic, siteUrl: SITE, fanout: noDelay });
    const a = makeStreamRecord(stubborn, undefined, 5001);
    const b = makeStreamRecord(fine, undefined, 5002);
    const result = await handle({ Records: [a, b] }, lambdaContext('process-changes'));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: a.dynamodb?.SequenceNumber }]);
    expect(recorded.calls).toHaveLength(4);
    expect(recorded.published.map((m) => m.key)).toEqual([`${fine.id}@1`]);
  });
});

describe('under injected faults', () => {
  it('publishes every change at least once and leaves every derived item exact', async () => {
    const random = seededRandom(42);
    const local = await startTestTable();
    const base = makeEventStore(local.db, local.tableName);
    // 5% of derived-item writes fail (half of them after the write landed: an answer lost, as when
    // the function dies between two writes); 30% of SNS calls are throttled.
    const flaky =
      <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        const roll = random();
        if (roll < 0.025) throw new Error('ProvisionedThroughputExceededException');
        const result = await fn(...args);
        if (roll < 0.05) throw new Error('the function stopped after this write');
        return result;
      };
    const faulty: EventStore & ListingStore = {
      ...base,
      applyCountOps: flaky(base.applyCountOps),
      putTagEntry: flaky(base.putTagEntry),
      deleteTagEntry: flaky(base.deleteTagEntry),
      refreshTagSummary: flaky(base.refreshTagSummary),
      logChanges: flaky(base.logChanges),
      markDirty: flaky(base.markDirty),
      writeDayEntries: flaky(base.writeDayEntries),
    };
    const recorded = recordingTopic({ throttle: () => random() < 0.3 });
    const handle = makeHandler({
      store: faulty,
      now,
      topic: recorded.topic,
      siteUrl: SITE,
      fanout: { maxAttempts: 3, sleep: async () => undefined },
    });

    // 60 events over 8 tags, then corrections that move tags and some deletions.
    const tagPool = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];
    const records: DynamoDBRecord[] = [];
    const latest = new Map<string, StoredEvent>();
    let seq = 100_000;
    const write = async (next: StoredEvent, previous?: StoredEvent) => {
      await base.putEvent(next, previous);
      latest.set(next.id, next);
      records.push(makeStreamRecord(next, previous, ++seq));
    };
    for (let i = 0; i < 60; i++) {
      await write(
        createdEvent(
          draft({ headline: `Faulty world ${i}`, tags: [tagPool[i % 8], tagPool[(i * 3 + 1) % 8]] }),
          now(),
        ),
      );
    }
    for (let i = 0; i < 60; i += 3) {
      const current = latest.get(`2016/11/16/faulty-world-${i}`) as NewsEvent;
      await write(
        correctedEvent(
          current,
          draft({ headline: `Faulty world ${i}`, tags: [tagPool[(i + 5) % 8]] }),
          now(),
        ),
        current,
      );
    }
    for (let i = 0; i < 60; i += 7) {
      const current = latest.get(`2016/11/16/faulty-world-${i}`) as NewsEvent;
      await write(tombstoneOf(current, now()), current);
    }

    // Lambda's contract: a batch is retried from its first reported failure until nothing fails.
    let pending = records;
    let invocations = 0;
    while (pending.length > 0 && invocations < 500) {
      invocations++;
      const batch = pending.slice(0, 10);
      const { batchItemFailures } = await handle({ Records: batch }, lambdaContext('process-changes'));
      const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
      const firstFailed = batch.findIndex((r) => failed.has(r.dynamodb?.SequenceNumber ?? ''));
      pending = firstFailed === -1 ? pending.slice(batch.length) : pending.slice(firstFailed);
    }
    expect(pending).toEqual([]);
    expect(invocations).toBeGreaterThan(Math.ceil(records.length / 10));

    const publishedKeys = new Set(recorded.published.map((m) => m.key));
    const expectedKeys = records.map((r) => {
      const image = unmarshall(r.dynamodb?.NewImage as never);
      return `${image.id}@${image.revision}`;
    });
    for (const key of expectedKeys) expect(publishedKeys).toContain(key);

    const localStore = makeEventStore(local.db, local.tableName);
    for (const tag of tagPool) {
      const slug = tag.toLowerCase();
      const expected = [...latest.values()]
        .filter((e) => !isTombstone(e) && e.tags.some((t) => t.slug === slug))
        .map((e) => `${e.id}@${e.revision}`)
        .sort();
      const listed = (await localStore.listTag(slug, { limit: 100 })).items
        .map((e) => `${e.id}@${e.revision}`)
        .sort();
      expect(listed).toEqual(expected);
      expect((await localStore.getTag(slug))?.count ?? 0).toBe(expected.length);
      // Every counter shard agrees with its entries, with no op left in flight.
      for (const shard of await localStore.auditTag(slug, false)) {
        expect({ ...shard, counted: shard.entries }).toEqual(shard);
        expect(shard.inFlight).toBe(0);
      }
    }
    // The day's listing holds every live event once, and its entries only those.
    const live = [...latest.values()].filter((e) => !isTombstone(e));
    const day = (await localStore.listDay('2016-11-16', { limit: 100 })).items.map(
      (e) => `${e.id}@${e.revision}`,
    );
    expect(day.sort()).toEqual(live.map((e) => `${e.id}@${e.revision}`).sort());
    const { Items: entries = [] } = await local.db.send(
      new ScanCommand({
        TableName: local.tableName,
        FilterExpression: '#t = :day',
        ExpressionAttributeNames: { '#t': 'type' },
        ExpressionAttributeValues: { ':day': 'day' },
      }),
    );
    expect(entries.map((e) => e.id).sort()).toEqual(live.map((e) => e.id).sort());
    await local.close();
  }, 120_000);
});
