import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  counterRef,
  type EventStore,
  entryRef,
  type ListingStore,
  makeEventStore,
  type PublishStore,
} from '../../../shared/adapters/event-store.js';
import {
  correctedEvent,
  createdEvent,
  type NewsEvent,
  parseEventDraft,
  tombstoneOf,
} from '../../../shared/domain/event.js';
import { ConcurrentWriteError, ValidationError } from '../../../shared/errors.js';
import { dayPartition, daySortKey, tagShardOf } from '../../../shared/keys.js';
import { makeEventInput } from '../../helpers/builders.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';

let table: TestTable;
let store: EventStore & ListingStore & PublishStore;

const dayEntry = (e: NewsEvent) => ({ date: e.date, id: e.id, publishedAt: e.publishedAt });

const event = (overrides: Record<string, unknown>, at = '2026-01-01T00:00:00.000Z'): NewsEvent => {
  const parsed = parseEventDraft(makeEventInput(overrides));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return createdEvent(parsed.draft, at);
};

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
});
afterAll(() => table.close());

describe('event items', () => {
  it('round-trips an event field by field', async () => {
    const e = event({ headline: 'Round trip event' });
    await store.putEvent(e, undefined);
    expect(await store.getEvent(e.id)).toEqual(e);
  });

  it('creates only once: a second create loses with ConcurrentWriteError', async () => {
    const e = event({ headline: 'Created once' });
    await store.putEvent(e, undefined);
    await expect(store.putEvent(e, undefined)).rejects.toBeInstanceOf(ConcurrentWriteError);
  });

  it('replaces only from the expected revision', async () => {
    const e = event({ headline: 'Corrected carefully' });
    await store.putEvent(e, undefined);
    const parsed = parseEventDraft(makeEventInput({ headline: 'Corrected carefully', body: 'v2' }));
    if (!parsed.ok) throw new Error('invalid');
    const v2 = correctedEvent(e, { ...parsed.draft, id: e.id }, '2026-01-02T00:00:00.000Z');
    await store.putEvent(v2, e);
    await expect(store.putEvent(v2, e)).rejects.toBeInstanceOf(ConcurrentWriteError);
    expect((await store.getEvent(e.id))?.revision).toBe(2);
  });

  it('keeps a tombstone that drops out of the day and latest listings', async () => {
    const e = event({ date: '2001-01-01', headline: 'Soon deleted' });
    await store.putEvent(e, undefined);
    await store.writeDayEntries([dayEntry(e)], []);
    expect((await store.listDay('2001-01-01', { limit: 10 })).items.map((x) => x.id)).toEqual([e.id]);
    await store.putEvent(tombstoneOf(e, '2026-01-03T00:00:00.000Z'), e);
    expect(await store.getEvent(e.id)).toMatchObject({ id: e.id, deleted: true, tags: e.tags });
    // Before the stream removes its entry, the day listing already leaves the deleted event out.
    expect((await store.listDay('2001-01-01', { limit: 10 })).items).toEqual([]);
    await store.writeDayEntries([], [dayEntry(e)]);
    expect((await store.listDay('2001-01-01', { limit: 10 })).items).toEqual([]);
    const latest = await store.listLatest({ limit: 100 });
    expect(latest.items.map((x) => x.id)).not.toContain(e.id);
  });
});

describe('day listings', () => {
  it('carries no day index key on new events: the listing is the day entries, written apart', async () => {
    const e = event({ date: '2003-03-03', headline: 'Listed by its entry' });
    await store.putEvent(e, undefined);
    const { Items = [] } = await table.db.send(
      new ScanCommand({
        TableName: table.tableName,
        FilterExpression: 'id = :id',
        ExpressionAttributeValues: { ':id': e.id },
      }),
    );
    const item = Items.find((i) => i.type === 'event');
    expect(item).toBeDefined();
    expect(item).not.toHaveProperty('GSI2PK');
    expect((await store.listDay('2003-03-03', { limit: 10 })).items).toEqual([]);
    await store.writeDayEntries([dayEntry(e)], []);
    expect((await store.listDay('2003-03-03', { limit: 10 })).items).toEqual([e]);
  });

  it('merges day entries with events still on the day index, newest first, paging without gaps or repeats', async () => {
    const date = '2004-04-04';
    const at = (i: number) => `2026-02-01T00:00:${String(i).padStart(2, '0')}.000Z`;
    const all = Array.from({ length: 12 }, (_, i) => event({ date, headline: `Merged day ${i}` }, at(i)));
    for (const [i, e] of all.entries()) {
      await store.putEvent(e, undefined);
      if (i % 3 === 0) {
        // Written before day entries: the event item itself carried the day index's keys.
        await table.db.send(
          new UpdateCommand({
            TableName: table.tableName,
            Key: { PK: `EVENT#${e.id}`, SK: 'EVENT' },
            UpdateExpression: 'SET GSI2PK = :pk, GSI2SK = :sk',
            ExpressionAttributeValues: {
              ':pk': i === 0 ? `DAY#${date}` : dayPartition(date, e.id),
              ':sk': daySortKey(e.publishedAt, e.id),
            },
          }),
        );
      } else {
        await store.writeDayEntries([dayEntry(e)], []);
      }
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listDay(date, { limit: 5, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => e.headline));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(all.map((e) => e.headline).reverse());
  });

  it('lists an event created again after its deletion once, at its new time', async () => {
    const first = event({ date: '2005-05-05', headline: 'Second life' }, '2026-03-01T00:00:00.000Z');
    await store.putEvent(first, undefined);
    await store.writeDayEntries([dayEntry(first)], []);
    const gone = tombstoneOf(first, '2026-03-02T00:00:00.000Z');
    await store.putEvent(gone, first);
    const again = createdEvent(first, '2026-03-03T00:00:00.000Z', gone);
    await store.putEvent(again, gone);
    // The first life's entry was never removed (a lost write): it names another time, so it is skipped.
    await store.writeDayEntries([dayEntry(again)], []);
    const listed = (await store.listDay('2005-05-05', { limit: 10 })).items;
    expect(listed.map((e) => [e.id, e.publishedAt])).toEqual([[again.id, again.publishedAt]]);
  });
});

describe('latest overall', () => {
  it('merges the shards newest first and pages without gaps or repeats', async () => {
    const local = await startTestTable();
    const s = makeEventStore(local.db, local.tableName);
    const days = Array.from(
      { length: 45 },
      (_, i) => `2016-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 27) + 1).padStart(2, '0')}`,
    );
    await Promise.all(days.map((date, i) => s.putEvent(event({ date, headline: `Latest ${i}` }), undefined)));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await s.listLatest({ limit: 10, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => `${e.date}#${e.id}`));
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 20);
    expect(seen).toHaveLength(45);
    expect(new Set(seen).size).toBe(45);
    expect(seen).toEqual([...seen].sort().reverse());
    await local.close();
  });

  it('rejects a cursor from another listing', async () => {
    const paged = Array.from({ length: 7 }, (_, i) =>
      event({ date: '2002-02-02', headline: `Paged day ${i}` }),
    );
    await Promise.all(paged.map((e) => store.putEvent(e, undefined)));
    await store.writeDayEntries(paged.map(dayEntry), []);
    const page = await store.listDay('2002-02-02', { limit: 5 });
    expect(page.cursor).toBeDefined();
    await expect(store.listLatest({ limit: 5, cursor: page.cursor })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.listDay('2002-02-02', { limit: 5, cursor: 'garbage!' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

describe('tag listings', () => {
  it('writes an entry only over the entry it was planned from, and removes it only while counted so', async () => {
    const e = event({ headline: 'Entry revisions', tags: ['Ordering'] });
    const v2 = { ...e, headline: 'Entry revisions v2', revision: 2 };
    const at = '2026-01-01T00:00:00.000Z';
    expect(await store.putTagEntry('ordering', e, at, 1, undefined)).toBe(true);
    expect(await store.putTagEntry('ordering', e, at, 1, undefined)).toBe(false);
    expect(await store.putTagEntry('ordering', v2, at, 1, 7)).toBe(false);
    expect(await store.putTagEntry('ordering', v2, at, 1, 1)).toBe(true);
    expect((await store.listTagSummaries('ordering', { limit: 10 })).items[0]?.headline).toBe(
      'Entry revisions v2',
    );
    expect(await store.readEntries([{ slug: 'ordering', date: e.date, id: e.id }])).toEqual(
      new Map([[entryRef('ordering', e.id), { revision: 2, counted: 1, changedAt: at }]]),
    );
    expect(await store.deleteTagEntry('ordering', e.date, e.id, 2)).toBe(false);
    expect(await store.deleteTagEntry('ordering', e.date, e.id, 1)).toBe(true);
    expect((await store.listTagSummaries('ordering', { limit: 10 })).items).toHaveLength(0);
  });

  it('keeps only what listings show in an entry, spread over shards and read merged, newest first', async () => {
    const older = event({ date: '2016-01-01', headline: 'Listed older', tags: ['Indexed'], topic: 'World' });
    const newer = event({ date: '2016-01-02', headline: 'Listed newer', tags: ['Indexed', 'Other'] });
    const at = '2026-01-01T00:00:00.000Z';
    await store.putTagEntry('indexed', older, at, 1, undefined);
    await store.putTagEntry('indexed', newer, at, 1, undefined);
    const listed = (await store.listTagSummaries('indexed', { limit: 10 })).items;
    expect(listed.map((e) => e.headline)).toEqual(['Listed newer', 'Listed older']);
    expect(listed[1]).toEqual({
      id: older.id,
      date: older.date,
      headline: older.headline,
      topic: 'World',
      tags: older.tags,
      publishedAt: older.publishedAt,
      updatedAt: older.updatedAt,
      revision: 1,
    });
    const { Items = [] } = await table.db.send(
      new ScanCommand({
        TableName: table.tableName,
        FilterExpression: 'begins_with(PK, :tag)',
        ExpressionAttributeValues: { ':tag': 'TAG#indexed#' },
      }),
    );
    expect(Items).toHaveLength(2);
    for (const item of Items) {
      expect(Object.keys(item).sort()).toEqual([
        'PK',
        'SK',
        'changedAt',
        'counted',
        'listing',
        'revision',
        'type',
      ]);
      expect(item.PK).toBe(`TAG#indexed#${tagShardOf(String(JSON.parse(String(item.listing)).id))}`);
    }
    await store.putTagEntry(
      'indexed',
      { ...older, headline: 'Listed older, corrected', revision: 2 },
      at,
      1,
      1,
    );
    await store.deleteTagEntry('indexed', newer.date, newer.id, 1);
    const after = (await store.listTagSummaries('indexed', { limit: 10 })).items;
    expect(after.map((e) => [e.headline, e.revision])).toEqual([['Listed older, corrected', 2]]);
  });

  it('pages a tag listing merged over its shards with opaque cursors', async () => {
    const all = Array.from({ length: 9 }, (_, i) =>
      event({ date: `2016-02-0${i + 1}`, headline: `Paged ${i}`, tags: ['Paged'] }),
    );
    // Over more than one shard, or the merge would not be tested.
    expect(new Set(all.map((e) => tagShardOf(e.id))).size).toBeGreaterThan(1);
    for (const e of all) {
      await store.putEvent(e, undefined);
      await store.putTagEntry('paged', e, e.updatedAt, 1, undefined);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listTag('paged', { limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((e) => e.headline));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(all.map((e) => e.headline).reverse());
  });

  it('pages a listing whose shards are uneven: the newest all in one shard, the rest spread', async () => {
    // Forty newest events in one shard, twenty older ones over the others: a page of 25 must read
    // further into the busy shard than its even share, and no page may skip or repeat an event.
    const busy: NewsEvent[] = [];
    const rest: NewsEvent[] = [];
    for (let i = 0; busy.length < 40 || rest.length < 20; i++) {
      const day = String(1 + (i % 28)).padStart(2, '0');
      const e = event({ date: `2016-03-${day}`, headline: `Uneven ${i}`, tags: ['Uneven'] });
      if (tagShardOf(e.id) === 0 && busy.length < 40) busy.push(e);
      else if (tagShardOf(e.id) !== 0 && rest.length < 20) rest.push(e);
    }
    const all = [
      ...busy.map((e, i) => ({ ...e, date: `2016-05-${String(1 + (i % 28)).padStart(2, '0')}` })),
      ...rest.map((e, i) => ({ ...e, date: `2016-04-${String(1 + (i % 28)).padStart(2, '0')}` })),
    ];
    for (const e of all) {
      await store.putEvent(e, undefined);
      await store.putTagEntry('uneven', e, e.updatedAt, 1, undefined);
    }
    const expected = (await store.listTagSummaries('uneven', { limit: 100 })).items.map((e) => e.id);
    expect(expected).toHaveLength(60);
    expect(expected.slice(0, 40).every((id) => tagShardOf(id) === 0)).toBe(true);
    for (const limit of [25, 7, 60]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listTagSummaries('uneven', { limit, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((e) => e.id));
        cursor = page.cursor;
      } while (cursor);
      expect(seen, `pages of ${limit}`).toEqual(expected);
    }
  });

  it('applies each count op once, sums the shards, and hides a tag counted zero', async () => {
    const op = (id: string, sign: 1 | -1) => ({ sign, date: '2016-01-01', id, revision: 1 });
    await store.applyCountOps('adjusted', 0, 'Adjusted', [op('a', 1), op('b', 1)], []);
    await store.applyCountOps('adjusted', 3, 'Adjusted', [op('c', 1)], []);
    await expect(store.applyCountOps('adjusted', 0, 'Adjusted', [op('a', 1)], [])).rejects.toThrow();
    await store.refreshTagSummary('adjusted', 'Adjusted');
    expect(await store.getTag('adjusted')).toEqual({ slug: 'adjusted', name: 'Adjusted', count: 3 });
    // Removing markers while applying: they go, the count does not move for them.
    expect(
      await store.applyCountOps('adjusted', 0, 'Adjusted', [op('a', -1)], [op('a', 1), op('b', 1)]),
    ).toEqual({
      before: 2,
      after: 1,
    });
    expect(
      (await store.readCounters([{ slug: 'adjusted', shard: 0 }])).get(counterRef('adjusted', 0))?.ops,
    ).toEqual([op('a', -1)]);
    await store.applyCountOps('adjusted', 0, 'Adjusted', [op('b', -1)], []);
    await store.applyCountOps('adjusted', 3, 'Adjusted', [op('c', -1)], []);
    expect(await store.getTag('adjusted')).toBeUndefined();
  });

  it('repairs counter shards from the entries, leaving shards with an op in flight', async () => {
    const e1 = event({ headline: 'Counted one', tags: ['Counting'] });
    const e2 = event({ headline: 'Counted two', tags: ['Counting'] });
    for (const e of [e1, e2]) await store.putTagEntry('counting', e, e.updatedAt, 1, undefined);
    await store.applyCountOps('counting', tagShardOf(e1.id), 'Counting', [], []);
    await store.applyCountOps('counting', (tagShardOf(e1.id) + 1) % 4, 'Counting', [], []);
    expect(await store.recountTag('counting', 'Counting')).toBe(2);
    expect(await store.getTag('counting')).toEqual({ slug: 'counting', name: 'Counting', count: 2 });
    // An op applied whose entry is not written yet: that shard is left to the change in flight.
    const e3 = Array.from({ length: 20 }, (_, i) =>
      event({ headline: `Counted three ${i}`, tags: ['Counting'] }),
    ).find((e) => ![e1, e2].some((other) => tagShardOf(other.id) === tagShardOf(e.id))) as NewsEvent;
    const shard = tagShardOf(e3.id);
    await store.applyCountOps(
      'counting',
      shard,
      'Counting',
      [{ sign: 1, date: e3.date, id: e3.id, revision: 1 }],
      [],
    );
    const audit = await store.auditTag('counting', true);
    expect(audit.find((s) => s.shard === shard)).toMatchObject({ inFlight: 1, repaired: false });
    for (const e of [e1, e2]) await store.deleteTagEntry('counting', e.date, e.id, 1);
    expect(await store.recountTag('counting', 'Counting')).toBe(1);
    expect(await store.getTag('counting')).toEqual({ slug: 'counting', name: 'Counting', count: 1 });
  });

  it('reads many events at once, consistently', async () => {
    const events = Array.from({ length: 130 }, (_, i) =>
      event({ date: '2003-03-03', headline: `Many at once ${i}` }),
    );
    await Promise.all(events.map((e) => store.putEvent(e, undefined)));
    const found = await store.getEventsNow([...events.map((e) => e.id), '2003/03/03/absent']);
    expect(found.size).toBe(130);
  });

  it('marks pages to rebuild, a mark per batch of changes, and clears exactly the marks read', async () => {
    await store.markDirty(
      [
        { kind: 'tag', key: 'russia' },
        { kind: 'tag', key: 'russia' },
        { kind: 'day', key: '2016-11-16' },
      ],
      '2026-01-01T00:00:00.000Z',
    );
    // Another batch the same millisecond, and a later one: marks of their own.
    await store.markDirty([{ kind: 'tag', key: 'russia' }], '2026-01-01T00:00:00.000Z');
    await store.markDirty([{ kind: 'tag', key: 'russia' }], '2026-01-01T00:00:05.000Z');
    const tags = await store.listMarks('tag');
    expect(tags).toHaveLength(1);
    expect(tags[0]).toMatchObject({ kind: 'tag', key: 'russia', markedAt: '2026-01-01T00:00:05.000Z' });
    expect(tags[0]?.stamps).toHaveLength(3);
    const days = await store.listMarks('day');
    expect(days.map((m) => [m.key, m.markedAt, m.stamps.length])).toEqual([
      ['2016-11-16', '2026-01-01T00:00:00.000Z', 1],
    ]);

    // A change after the marks were read leaves one the clearing does not touch.
    await store.markDirty([{ kind: 'tag', key: 'russia' }], '2026-01-01T00:00:09.000Z');
    await store.clearMarks([...tags, ...days]);
    expect(await store.listMarks('day')).toEqual([]);
    const left = await store.listMarks('tag');
    expect(left.map((m) => [m.key, m.markedAt, m.stamps.length])).toEqual([
      ['russia', '2026-01-01T00:00:09.000Z', 1],
    ]);
    await store.clearMarks(left);
    const { Items = [] } = await table.db.send(
      new ScanCommand({
        TableName: table.tableName,
        FilterExpression: '#t = :mark',
        ExpressionAttributeNames: { '#t': 'type' },
        ExpressionAttributeValues: { ':mark': 'mark' },
      }),
    );
    expect(Items).toEqual([]);
  });

  it('clears marks in batches, more than one request holds', async () => {
    const marks = Array.from({ length: 60 }, (_, i) => ({
      kind: 'event' as const,
      key: `2016/11/16/e-${i}`,
    }));
    await store.markDirty(marks, '2026-01-02T00:00:00.000Z');
    const listed = await store.listMarks('event');
    expect(listed).toHaveLength(60);
    await store.clearMarks(listed);
    expect(await store.listMarks('event')).toEqual([]);
  });

  it('lists tags by slug across pages of the tag partition', async () => {
    const tags = await store.listTags();
    expect(tags.map((t) => t.slug)).toEqual([...tags.map((t) => t.slug)].sort());
  });

  it('writes no item without a type (every item is accounted for in the design)', async () => {
    const { Items = [] } = await table.db.send(new ScanCommand({ TableName: table.tableName }));
    expect(Items.filter((i) => typeof i.type !== 'string')).toEqual([]);
  });
});

describe('cursors that were not issued by the listing', () => {
  const forge = (l: string, k: Record<string, string>) =>
    Buffer.from(JSON.stringify({ l, k })).toString('base64url');

  it.each([
    ['a tag entry key pointing at an API key item', 'TAG#syria', { PK: 'TAG#syria', SK: 'APIKEY' }],
    ['a tag entry key of another tag', 'TAG#syria', { PK: 'TAG#russia', SK: 'EVENT#2016-01-01#x' }],
    ['a key with an extra attribute', 'TAG#syria', { PK: 'TAG#syria', SK: 'EVENT#2016-01-01#x', X: 'y' }],
  ])('are refused as 400s: %s', async (_name, listing, key) => {
    await expect(store.listTag('syria', { limit: 5, cursor: forge(listing, key) })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('refuses a cursor issued before listings were sharded (it held a key)', async () => {
    const before = forge('TAG#syria', { PK: 'TAG#syria', SK: 'EVENT#2016-01-01#2016/01/01/x' });
    await expect(store.listTag('syria', { limit: 5, cursor: before })).rejects.toThrow(
      /start again without it/,
    );
  });

  it('refuses a day cursor whose event key is not an event item', async () => {
    const cursor = forge('DAY#2016-11-16', {
      PK: 'APIKEY#x',
      SK: 'APIKEY',
      GSI2PK: 'DAY#2016-11-16',
      GSI2SK: 'x',
    });
    await expect(store.listDay('2016-11-16', { limit: 5, cursor })).rejects.toBeInstanceOf(ValidationError);
  });
});
