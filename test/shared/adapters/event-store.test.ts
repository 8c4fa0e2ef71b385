import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EventStore,
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
import { TABLE } from '../../../shared/keys.js';
import { makeEventInput } from '../../helpers/builders.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';

let table: TestTable;
let store: EventStore & ListingStore & PublishStore;

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
    expect((await store.listDay('2001-01-01', { limit: 10 })).items.map((x) => x.id)).toEqual([e.id]);
    await store.putEvent(tombstoneOf(e, '2026-01-03T00:00:00.000Z'), e);
    expect(await store.getEvent(e.id)).toMatchObject({ id: e.id, deleted: true, tags: e.tags });
    expect((await store.listDay('2001-01-01', { limit: 10 })).items).toEqual([]);
    const latest = await store.listLatest({ limit: 100 });
    expect(latest.items.map((x) => x.id)).not.toContain(e.id);
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
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        store.putEvent(event({ date: '2002-02-02', headline: `Paged day ${i}` }), undefined),
      ),
    );
    const page = await store.listDay('2002-02-02', { limit: 5 });
    expect(page.cursor).toBeDefined();
    await expect(store.listLatest({ limit: 5, cursor: page.cursor })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.listDay('2002-02-02', { limit: 5, cursor: 'garbage!' })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});

describe('tag listings', () => {
  it('never lets an older revision overwrite a newer entry, and reports what it did', async () => {
    const e = event({ headline: 'Entry revisions', tags: ['Ordering'] });
    const v2 = { ...e, headline: 'Entry revisions v2', revision: 2 };
    expect(await store.upsertTagEntry('ordering', e)).toBe('created');
    expect(await store.upsertTagEntry('ordering', e)).toBe('current');
    await store.markEntryCounted('ordering', e.date, e.id);
    expect(await store.upsertTagEntry('ordering', v2)).toBe('updated');
    expect(await store.upsertTagEntry('ordering', e)).toBe('current');
    expect((await store.listTag('ordering', { limit: 10 })).items[0]?.headline).toBe('Entry revisions v2');
    expect(await store.removeTagEntry('ordering', e.date, e.id, 1)).toBe('newer');
    expect((await store.listTag('ordering', { limit: 10 })).items).toHaveLength(1);
    expect(await store.removeTagEntry('ordering', e.date, e.id, 2)).toBe('removed');
    expect(await store.removeTagEntry('ordering', e.date, e.id, 2)).toBe('absent');
    expect((await store.listTag('ordering', { limit: 10 })).items).toHaveLength(0);
  });

  it('lists a tag from its listing index: newest first, listing fields only, corrections and removals seen', async () => {
    const older = event({ date: '2016-01-01', headline: 'Listed older', tags: ['Indexed'], topic: 'World' });
    const newer = event({ date: '2016-01-02', headline: 'Listed newer', tags: ['Indexed', 'Other'] });
    await store.upsertTagEntry('indexed', older);
    await store.upsertTagEntry('indexed', newer);
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
    expect(await store.listTagSummaries('indexed', { limit: 10 }, 'entries')).toEqual({ items: listed });
    // The index keeps only what listings show: the body stays in the entry.
    const { Items = [] } = await table.db.send(
      new QueryCommand({
        TableName: table.tableName,
        IndexName: TABLE.tagIndex.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': TABLE.tagIndex.partitionKey },
        ExpressionAttributeValues: { ':pk': 'TAG#indexed' },
      }),
    );
    expect(Items).toHaveLength(2);
    for (const item of Items) expect(Object.keys(item).sort()).toEqual(['GSI4PK', 'PK', 'SK', 'listing']);

    await store.upsertTagEntry('indexed', { ...older, headline: 'Listed older, corrected', revision: 2 });
    await store.removeTagEntry('indexed', newer.date, newer.id, 1);
    const after = (await store.listTagSummaries('indexed', { limit: 10 })).items;
    expect(after.map((e) => [e.headline, e.revision])).toEqual([['Listed older, corrected', 2]]);
  });

  it('pages a tag listing with cursors from the index', async () => {
    const all = Array.from({ length: 5 }, (_, i) =>
      event({ date: `2016-02-0${i + 1}`, headline: `Paged ${i}`, tags: ['Paged'] }),
    );
    for (const e of all) await store.upsertTagEntry('paged', e);
    const first = await store.listTagSummaries('paged', { limit: 3 });
    expect(first.cursor).toBeDefined();
    const second = await store.listTagSummaries('paged', { limit: 3, cursor: first.cursor as string });
    expect([...first.items, ...second.items].map((e) => e.headline)).toEqual([
      'Paged 4',
      'Paged 3',
      'Paged 2',
      'Paged 1',
      'Paged 0',
    ]);
    expect(second.cursor).toBeUndefined();
  });

  it('reads the entries when the table was made before the listing index', async () => {
    const name = `${table.tableName}-no-tag-index`;
    await table.db.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'PK', AttributeType: 'S' },
          { AttributeName: 'SK', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'PK', KeyType: 'HASH' },
          { AttributeName: 'SK', KeyType: 'RANGE' },
        ],
      }),
    );
    const old = makeEventStore(table.db, name);
    const e = event({ headline: 'Listed without the index', tags: ['Legacy'] });
    await old.upsertTagEntry('legacy', e);
    expect((await old.listTagSummaries('legacy', { limit: 10 })).items.map((x) => x.headline)).toEqual([
      'Listed without the index',
    ]);
  });

  it('tells an uncounted entry from a counted one', async () => {
    const e = event({ headline: 'Never counted', tags: ['Uncounted'] });
    await store.upsertTagEntry('uncounted', e);
    expect(await store.upsertTagEntry('uncounted', { ...e, revision: 2 })).toBe('uncounted');
    expect(await store.removeTagEntry('uncounted', e.date, e.id, 2)).toBe('removed-uncounted');
  });

  it('adjusts counts atomically and drops a summary that reaches zero', async () => {
    await store.adjustTagCount('adjusted', 'Adjusted', 2);
    await store.adjustTagCount('adjusted', 'Adjusted', -1);
    expect(await store.getTag('adjusted')).toEqual({ slug: 'adjusted', name: 'Adjusted', count: 1 });
    await store.adjustTagCount('adjusted', 'Adjusted', -1);
    expect(await store.getTag('adjusted')).toBeUndefined();
  });

  it('recounts exactly from the entries', async () => {
    const e1 = event({ headline: 'Counted one', tags: ['Counting'] });
    const e2 = event({ headline: 'Counted two', tags: ['Counting'] });
    await store.upsertTagEntry('counting', e1);
    await store.upsertTagEntry('counting', e2);
    await store.adjustTagCount('counting', 'Counting', 5);
    expect(await store.recountTag('counting', 'Counting')).toBe(2);
    expect(await store.getTag('counting')).toEqual({ slug: 'counting', name: 'Counting', count: 2 });
    await store.removeTagEntry('counting', e1.date, e1.id, 1);
    await store.removeTagEntry('counting', e2.date, e2.id, 1);
    expect(await store.recountTag('counting', 'Counting')).toBe(0);
    expect(await store.getTag('counting')).toBeUndefined();
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
