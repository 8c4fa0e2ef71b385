import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeSubscriptionStore,
  type SubscriptionStore,
} from '../../../shared/adapters/subscription-store.js';
import { linkKeysOf } from '../../../shared/adapters/token-secret.js';
import type { SubscriberRecord } from '../../../shared/domain/subscriber-changes.js';
import { subscriberIdOf } from '../../../shared/domain/tokens.js';
import { ConcurrentWriteError } from '../../../shared/errors.js';
import {
  counterKey,
  digestBucket,
  digestPartition,
  digestShardOf,
  subscriberKey,
  suppressionKey,
  TABLE,
  tagKey,
  topicKey,
} from '../../../shared/keys.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';

const KEYS = linkKeysOf('store-test-secret-0123456789abcdefghijkl');
let table: TestTable;
let store: SubscriptionStore;
let n = 0;

beforeAll(async () => {
  table = await startTestTable();
  store = makeSubscriptionStore(table.db, table.tableName);
  for (const [slug, name, count] of [
    ['syria', 'Syria', 40],
    ['russia', 'Russia', 55],
    ['vladimir-putin', 'Vladimir Putin', 12],
    // A tag whose last event went: its summary stays, counted 0.
    ['forgotten', 'Forgotten', 0],
  ] as const) {
    // The summary's own count is the snapshot taken when the tag appeared (1); the counter holds
    // how many events it has now.
    await table.db.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...tagKey(slug), type: 'tag', slug, name, count: count > 0 ? 1 : 0 },
      }),
    );
    if (count > 0) {
      await table.db.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...counterKey(slug, 0), type: 'counter', slug, name, count, version: 1 },
        }),
      );
    }
  }
});
afterAll(() => table?.close());

const pending = (): SubscriberRecord => {
  const id = subscriberIdOf(KEYS, `reader${++n}@example.org`);
  return {
    id,
    email: `reader${n}@example.org`,
    tags: [{ slug: 'syria', name: 'Syria' }],
    topics: [],
    cadence: 'daily',
    status: 'pending',
    createdAt: '2026-03-01T10:00:00.000Z',
    tokenVersion: 0,
    changedAt: '2026-03-01T10:00:00.000Z',
    expiresAt: 1_772_532_000,
    confirmationSentAt: '2026-03-01T10:00:00.000Z',
    revision: 1,
  };
};

const confirmedFrom = (record: SubscriberRecord, at = '2026-03-01T10:05:00.000Z'): SubscriberRecord => {
  const { expiresAt: _, ...rest } = record;
  return { ...rest, status: 'confirmed', confirmedAt: at, cursor: at, changedAt: at };
};

const rawItem = async (id: string) =>
  (await table.db.send(new GetCommand({ TableName: table.tableName, Key: subscriberKey(id) }))).Item;

/** The subscriber ids on one partition of the digest index. */
const onIndex = async (cadence: string, id: string): Promise<string[]> => {
  const out = await table.db.send(
    new QueryCommand({
      TableName: table.tableName,
      IndexName: TABLE.digestIndex.name,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': TABLE.digestIndex.partitionKey },
      ExpressionAttributeValues: { ':pk': digestPartition(cadence, digestShardOf(id)) },
    }),
  );
  // The index keeps keys only: the subscriber's id is its sort key.
  return (out.Items ?? []).map((item) => String(item[TABLE.digestIndex.sortKey]));
};

describe('the subscription store', () => {
  it('stores a pending subscriber with its expiry as the TTL attribute and off the digest index', async () => {
    const record = pending();
    await store.createSubscriber(record);
    expect(await store.getSubscriber(record.id)).toEqual(record);
    const item = await rawItem(record.id);
    expect(item).toMatchObject({
      ...subscriberKey(record.id),
      type: 'subscriber',
      [TABLE.ttlAttribute]: record.expiresAt,
    });
    expect(item?.[TABLE.digestIndex.partitionKey]).toBeUndefined();
    expect(await onIndex('daily', record.id)).not.toContain(record.id);
  });

  it('creates once: a second create for the same id is a concurrent write', async () => {
    const record = pending();
    await store.createSubscriber(record);
    await expect(store.createSubscriber({ ...record, email: 'other@example.org' })).rejects.toBeInstanceOf(
      ConcurrentWriteError,
    );
    expect((await store.getSubscriber(record.id))?.email).toBe(record.email);
  });

  it('replaces a lapsed record only while it is still the one read', async () => {
    const record = pending();
    await store.createSubscriber(record);
    const next = { ...pending(), id: record.id, tokenVersion: 1, revision: 2 };
    await store.createSubscriber(next, record);
    expect((await store.getSubscriber(record.id))?.tokenVersion).toBe(1);
    await expect(store.createSubscriber({ ...next, revision: 3 }, record)).rejects.toBeInstanceOf(
      ConcurrentWriteError,
    );
  });

  it('puts a confirmed subscriber on the digest index, drops the expiry, and moves it with the cadence', async () => {
    const record = pending();
    await store.createSubscriber(record);
    const confirmed = await store.updateSubscriber(confirmedFrom(record), record);
    expect(confirmed.revision).toBe(2);
    const item = await rawItem(record.id);
    expect(item).toMatchObject({
      status: 'confirmed',
      cursor: '2026-03-01T10:05:00.000Z',
      [TABLE.digestIndex.partitionKey]: digestPartition('daily', digestShardOf(record.id)),
      [TABLE.digestIndex.sortKey]: record.id,
    });
    expect(item?.expiresAt).toBeUndefined();
    expect(await onIndex('daily', record.id)).toContain(record.id);

    await store.updateSubscriber({ ...confirmed, cadence: 'weekly' }, confirmed);
    expect(await onIndex('daily', record.id)).not.toContain(record.id);
    expect(await onIndex('weekly', record.id)).toContain(record.id);
  });

  it('takes a subscriber following nothing, or unsubscribed, off the digest index', async () => {
    const record = pending();
    await store.createSubscriber(record);
    const confirmed = await store.updateSubscriber(confirmedFrom(record), record);
    const empty = await store.updateSubscriber({ ...confirmed, tags: [] }, confirmed);
    expect((await rawItem(record.id))?.[TABLE.digestIndex.partitionKey]).toBeUndefined();
    const back = await store.updateSubscriber({ ...empty, tags: confirmed.tags }, empty);
    expect(await onIndex('daily', record.id)).toContain(record.id);
    await store.updateSubscriber({ ...back, status: 'unsubscribed', tokenVersion: 1 }, back);
    expect(await onIndex('daily', record.id)).not.toContain(record.id);
  });

  it('refuses an update from a stale read', async () => {
    const record = pending();
    await store.createSubscriber(record);
    await store.updateSubscriber({ ...record, cadence: 'weekly' }, record);
    await expect(store.updateSubscriber({ ...record, tags: [] }, record)).rejects.toBeInstanceOf(
      ConcurrentWriteError,
    );
    expect((await store.getSubscriber(record.id))?.tags).toEqual(record.tags);
  });

  it('never moves the digest cursor the digest job set', async () => {
    const record = pending();
    await store.createSubscriber(record);
    const confirmed = await store.updateSubscriber(confirmedFrom(record), record);
    // The digest job moves the cursor with its own conditional update.
    await table.db.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: subscriberKey(record.id),
        UpdateExpression: 'SET #c = :to',
        ExpressionAttributeNames: { '#c': 'cursor' },
        ExpressionAttributeValues: { ':to': '2026-03-02T06:00:00.000Z' },
      }),
    );
    await store.updateSubscriber({ ...confirmed, cadence: 'weekly' }, confirmed);
    expect((await store.getSubscriber(record.id))?.cursor).toBe('2026-03-02T06:00:00.000Z');
  });

  it('suppresses an address: the first reason stays, the subscriber leaves the index, stale writes fail', async () => {
    const record = pending();
    await store.createSubscriber(record);
    const confirmed = await store.updateSubscriber(confirmedFrom(record), record);
    await store.suppress(record.id, { reason: 'bounce', at: '2026-03-03T00:00:00.000Z' });
    await store.suppress(record.id, { reason: 'complaint', at: '2026-03-04T00:00:00.000Z' });
    expect(await store.getSuppression(record.id)).toEqual({
      reason: 'bounce',
      at: '2026-03-03T00:00:00.000Z',
    });
    const stored = await store.getSubscriber(record.id);
    expect(stored).toMatchObject({
      suppressedAt: '2026-03-03T00:00:00.000Z',
      revision: confirmed.revision + 2,
    });
    expect(await onIndex('daily', record.id)).not.toContain(record.id);
    // A write planned before the suppression cannot put the address back on the index.
    await expect(
      store.updateSubscriber({ ...confirmed, cadence: 'weekly' }, confirmed),
    ).rejects.toBeInstanceOf(ConcurrentWriteError);
    // Planned after it, the write keeps the subscriber off the index.
    if (!stored) throw new Error('missing');
    await store.updateSubscriber({ ...stored, cadence: 'weekly' }, stored);
    expect(await onIndex('weekly', record.id)).not.toContain(record.id);
    expect((await store.getSubscriber(record.id))?.suppressedAt).toBe('2026-03-03T00:00:00.000Z');
  });

  it('suppresses an address that has no subscriber', async () => {
    const id = subscriberIdOf(KEYS, 'never@example.org');
    await store.suppress(id, { reason: 'complaint', at: '2026-03-03T00:00:00.000Z' });
    const item = (
      await table.db.send(new GetCommand({ TableName: table.tableName, Key: suppressionKey(id) }))
    ).Item;
    expect(item).toMatchObject({ type: 'suppression', reason: 'complaint' });
    expect(await store.getSubscriber(id)).toBeUndefined();
  });

  it('reads a record stored before topic labels could be followed: its `topics` are its tags', async () => {
    const id = subscriberIdOf(KEYS, 'old-record@example.org');
    // Written by hand in the shape the store wrote before the vocabulary settled.
    await table.db.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...subscriberKey(id),
          type: 'subscriber',
          id,
          email: 'old-record@example.org',
          topics: [
            { slug: 'syria', name: 'Syria' },
            { slug: 'russia', name: 'Russia' },
          ],
          cadence: 'weekly',
          status: 'confirmed',
          createdAt: '2026-02-01T10:00:00.000Z',
          confirmedAt: '2026-02-01T10:05:00.000Z',
          cursor: '2026-02-01T10:05:00.000Z',
          tokenVersion: 0,
          changedAt: '2026-02-01T10:05:00.000Z',
          revision: 2,
          [TABLE.digestIndex.partitionKey]: digestPartition('weekly', digestShardOf(id)),
          [TABLE.digestIndex.sortKey]: id,
        },
      }),
    );
    const old = await store.getSubscriber(id);
    expect(old?.tags).toEqual([
      { slug: 'syria', name: 'Syria' },
      { slug: 'russia', name: 'Russia' },
    ]);
    expect(old?.topics).toEqual([]);

    // Its first write stores the new names and drops the old list, so nothing reads it twice.
    const next = { ...(old as SubscriberRecord), topics: [{ slug: 'politics', name: 'Politics' }] };
    await store.updateSubscriber(next, old as SubscriberRecord);
    const item = await rawItem(id);
    expect(item?.topics).toBeUndefined();
    expect(item?.tags).toEqual(old?.tags);
    expect(item?.topicLabels).toEqual([{ slug: 'politics', name: 'Politics' }]);
    expect(await store.getSubscriber(id)).toMatchObject({ tags: old?.tags, topics: next.topics });
    expect(item?.[TABLE.digestIndex.partitionKey]).toBe(digestPartition('weekly', digestShardOf(id)));
  });

  it('keeps labels out of `topics`, where code of the previous release reads tags', async () => {
    const record = confirmedFrom(pending());
    await store.createSubscriber({ ...record, topics: [{ slug: 'politics', name: 'Politics' }] });
    const item = await rawItem(record.id);
    expect(item).toMatchObject({ tags: record.tags, topicLabels: [{ slug: 'politics', name: 'Politics' }] });
    expect(item?.topics).toBeUndefined();
  });

  it('finds and lists the topic labels events have carried', async () => {
    for (const [slug, name] of [
      ['politics-and-elections', 'Politics and elections'],
      ['armed-conflicts-and-attacks', 'Armed conflicts and attacks'],
    ] as const) {
      await table.db.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...topicKey(slug), type: 'topic', slug, name },
        }),
      );
    }
    const found = await store.findTopics(['politics-and-elections', 'nope']);
    expect([...found.entries()]).toEqual([
      ['politics-and-elections', { slug: 'politics-and-elections', name: 'Politics and elections' }],
    ]);
    expect((await store.listTopics()).map((t) => t.name)).toEqual([
      'Armed conflicts and attacks',
      'Politics and elections',
    ]);
  });

  it('finds existing tags by slug and lists them most used first, leaving out tags with no events', async () => {
    const found = await store.findTags(['syria', 'nope', 'vladimir-putin', 'syria']);
    expect([...found.entries()].sort()).toEqual([
      ['syria', { slug: 'syria', name: 'Syria' }],
      ['vladimir-putin', { slug: 'vladimir-putin', name: 'Vladimir Putin' }],
    ]);
    expect(await store.findTags([])).toEqual(new Map());
    expect((await store.listTags()).map((t) => t.slug)).toEqual(['russia', 'syria', 'vladimir-putin']);
  });

  it('orders tags by the events they have now, summed over counter shards, not by the snapshot', async () => {
    const extra = { ...counterKey('vladimir-putin', 1) };
    await table.db.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          ...extra,
          type: 'counter',
          slug: 'vladimir-putin',
          name: 'Vladimir Putin',
          count: 90,
          version: 1,
        },
      }),
    );
    try {
      const tags = await store.listTags();
      expect(tags.map((t) => [t.slug, t.count])).toEqual([
        ['vladimir-putin', 102],
        ['russia', 55],
        ['syria', 40],
      ]);
    } finally {
      await table.db.send(new DeleteCommand({ TableName: table.tableName, Key: extra }));
    }
  });
});

describe('delivery preferences in the store', () => {
  it('keeps zone, hour, weekday and quiet hours, sorts the subscriber under its bucket, and moves it when they change', async () => {
    const record = { ...pending(), cadence: 'weekly' as const };
    await store.createSubscriber(record);
    const chosen: SubscriberRecord = {
      ...confirmedFrom(record),
      timeZone: 'Europe/Berlin',
      deliveryHour: 7,
      deliveryWeekday: 1,
      quietHours: { from: 22, to: 6 },
    };
    const written = await store.updateSubscriber(chosen, record);
    expect(await store.getSubscriber(record.id)).toMatchObject({
      timeZone: 'Europe/Berlin',
      deliveryHour: 7,
      deliveryWeekday: 1,
      quietHours: { from: 22, to: 6 },
    });
    expect(await onIndex('weekly', record.id)).toContain(
      `${digestBucket('weekly', 'Europe/Berlin', 7, 1)}${record.id}`,
    );

    // Another hour, no quiet hours: the bucket follows and the quiet hours are gone from the item.
    const { quietHours: _, ...moved } = { ...written, deliveryHour: 9 };
    const again = await store.updateSubscriber(moved, written);
    expect((await rawItem(record.id))?.quietHours).toBeUndefined();
    const keys = await onIndex('weekly', record.id);
    expect(keys).toContain(`${digestBucket('weekly', 'Europe/Berlin', 9, 1)}${record.id}`);
    expect(keys.filter((k) => k.endsWith(record.id))).toHaveLength(1);

    // Instant: off the digest index altogether.
    await store.updateSubscriber({ ...again, cadence: 'instant' }, again);
    expect((await rawItem(record.id))?.[TABLE.digestIndex.partitionKey]).toBeUndefined();
    expect(await store.getSubscriber(record.id)).toMatchObject({
      cadence: 'instant',
      timeZone: 'Europe/Berlin',
    });
  });
});
