import { BatchWriteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sizes } from '../../bench/counting-dynamo.js';
import {
  hotCeiling,
  type IndexDef,
  kindOf,
  Ledger,
  landings,
  projectedEntry,
  writeUnitsOfSize,
} from '../../bench/stream-accounting.js';
import {
  daysBefore,
  expectedCounts,
  makeCorpus,
  makeCorrections,
  tagName,
} from '../../bench/stream-corpus.js';
import { type StreamProxy, startStreamProxy } from '../../bench/stream-proxy.js';
import { ensureTable } from '../../local/dynamodb.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { parseEventDraft } from '../../shared/domain/event.js';
import { TABLE } from '../../shared/keys.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

/** The stream benchmark's corpus and its write-unit accounting (no timing here). */
describe('the stream benchmark corpus', () => {
  const today = '2026-12-06';
  const corpus = makeCorpus({ events: 4000, tags: 2000, seed: 16, today });
  const head = tagName(0);

  it('puts the head tag on about half of the events', () => {
    const share = corpus.filter((e) => e.tags.includes(head)).length / corpus.length;
    expect(share).toBeGreaterThan(0.47);
    expect(share).toBeLessThan(0.53);
  });

  it('gives every event 3 to 5 distinct tags, the others more popular the lower their rank (Zipf)', () => {
    for (const e of corpus) {
      expect(e.tags.length).toBeGreaterThanOrEqual(3);
      expect(e.tags.length).toBeLessThanOrEqual(5);
      expect(new Set(e.tags).size).toBe(e.tags.length);
    }
    const counts = expectedCounts(corpus);
    const count = (rank: number) => counts.get(tagName(rank))?.size ?? 0;
    expect(count(1)).toBeGreaterThan(count(10));
    expect(count(10)).toBeGreaterThan(count(200));
    // Rank 1 of the rest takes about 1/H(1999) ≈ 12% of about 3.5 draws an event.
    expect(count(1) / corpus.length).toBeGreaterThan(0.3);
    expect(count(1) / corpus.length).toBeLessThan(0.5);
    expect(new Set(Array.from({ length: 2000 }, (_, i) => tagName(i))).size).toBe(2000);
  });

  it('dates every event within the last 30 days, most of them today', () => {
    const oldest = daysBefore(today, 29);
    for (const e of corpus) {
      expect(e.date >= oldest && e.date <= today).toBe(true);
      expect(e.id.startsWith(`${e.date.replaceAll('-', '/')}/`)).toBe(true);
    }
    const todayShare = corpus.filter((e) => e.date === today).length / corpus.length;
    expect(todayShare).toBeGreaterThan(0.65);
    expect(todayShare).toBeLessThan(0.75);
    expect(new Set(corpus.map((e) => e.date)).size).toBe(30);
    expect(new Set(corpus.map((e) => e.id)).size).toBe(corpus.length);
  });

  it('makes events the API accepts, of a wire story size', () => {
    for (const e of corpus.slice(0, 200)) expect(parseEventDraft(e).ok).toBe(true);
    const bytes = corpus.reduce((sum, e) => sum + JSON.stringify(e).length, 0) / corpus.length;
    expect(bytes).toBeGreaterThan(1200);
    expect(bytes).toBeLessThan(3000);
  });

  it('is the same corpus for the same seed and day, another for another seed', () => {
    expect(makeCorpus({ events: 300, tags: 2000, seed: 16, today })).toEqual(corpus.slice(0, 300));
    expect(makeCorpus({ events: 300, tags: 2000, seed: 17, today })).not.toEqual(corpus.slice(0, 300));
    const a = makeCorrections(corpus, 100, { tags: 2000, seed: 16 });
    expect(makeCorrections(corpus, 100, { tags: 2000, seed: 16 })).toEqual(a);
  });

  it('corrects distinct events, moving one in four to another tag', () => {
    const corrections = makeCorrections(corpus, 400, { tags: 2000, seed: 16 });
    expect(new Set(corrections.map((c) => c.index)).size).toBe(400);
    const moved = corrections.filter((c) => c.event.tags.join() !== corpus[c.index]?.tags.join());
    expect(moved.length).toBe(100);
    for (const c of corrections) {
      expect(c.event.id).toBe(corpus[c.index]?.id);
      expect(new Set(c.event.tags).size).toBe(c.event.tags.length);
      expect(parseEventDraft(c.event).ok).toBe(true);
    }
  });
});

describe('the stream benchmark write-unit accounting', () => {
  const S = (s: string) => ({ S: s });
  const ALL: IndexDef = { name: 'DAYS', partitionKey: 'DPK', sortKey: 'DSK', projection: 'ALL' };
  const SLIM: IndexDef = {
    name: 'TAGS',
    partitionKey: 'TPK',
    sortKey: 'SK',
    projection: 'INCLUDE',
    nonKeyAttributes: ['listing'],
  };
  const indexes = [ALL, SLIM];
  // 2,500 bytes of body: 3 units anywhere the whole item goes; the slim index gets 1.
  const event = {
    PK: S('EVENT#a'),
    SK: S('EVENT'),
    DPK: S('DAY#2026-12-06'),
    DSK: S('t#a'),
    body: S('x'.repeat(2500)),
  };

  it('lands a new item on its table partition and on each index partition holding it, 1 unit per KB', () => {
    expect(landings(undefined, event, indexes)).toEqual([
      { on: 'table', partition: 'EVENT#a', units: 3 },
      { on: 'DAYS', partition: 'DAY#2026-12-06', units: 3 },
    ]);
    const entry = {
      PK: S('TAG#x'),
      SK: S('EVENT#a'),
      TPK: S('TAG#x'),
      listing: S('{}'),
      body: S('y'.repeat(2500)),
    };
    expect(landings(undefined, entry, indexes)).toEqual([
      { on: 'table', partition: 'TAG#x', units: 3 },
      { on: 'TAGS', partition: 'TAG#x', units: 1 },
    ]);
  });

  it('charges the larger image on the table, both partitions when an index key moves, nothing for an unchanged entry', () => {
    const moved = { ...event, DPK: S('DAY#2026-12-05'), body: S('x') };
    expect(landings(event, moved, indexes)).toEqual([
      { on: 'table', partition: 'EVENT#a', units: 3 },
      { on: 'DAYS', partition: 'DAY#2026-12-06', units: 3 },
      { on: 'DAYS', partition: 'DAY#2026-12-05', units: 1 },
    ]);
    const entry = {
      PK: S('TAG#x'),
      SK: S('EVENT#a'),
      TPK: S('TAG#x'),
      listing: S('{}'),
      counted: { BOOL: false },
    };
    // Setting an attribute the slim index does not hold rewrites the table item only.
    expect(landings(entry, { ...entry, counted: { BOOL: true } }, indexes)).toEqual([
      { on: 'table', partition: 'TAG#x', units: 1 },
    ]);
    // Deleted: the table and the index entry it leaves.
    expect(landings(entry, undefined, indexes)).toEqual([
      { on: 'table', partition: 'TAG#x', units: 1 },
      { on: 'TAGS', partition: 'TAG#x', units: 1 },
    ]);
    expect(sizes.itemSize(event)).toBeGreaterThan(2048);
  });

  it('adds up units by kind and by partition, and finds the busiest partition', () => {
    const ledger = new Ledger();
    for (let i = 0; i < 4; i++) {
      ledger.add('event', landings(undefined, { ...event, PK: S(`EVENT#${i}`) }, indexes));
      ledger.add('tag entry', [{ on: 'table', partition: 'TAG#x', units: 1 }]);
    }
    expect(ledger.byKind.get('event')).toEqual({ table: 12, index: 12 });
    expect(ledger.byKind.get('tag entry')).toEqual({ table: 4, index: 0 });
    expect(ledger.total).toBe(28);
    expect(ledger.top(2)).toEqual([
      { partition: 'DAYS DAY#2026-12-06', units: 12 },
      { partition: 'table TAG#x', units: 4 },
    ]);
    // 12 units over 4 events on the busiest partition: 3 an event, 1,000 WCU/s reached at 333 events/s.
    expect(Math.round(hotCeiling(12, 4))).toBe(333);
    expect(hotCeiling(1, 2)).toBe(2000);
  });

  it('names kinds by the longest partition prefix of shared/keys.ts', () => {
    expect(kindOf('EVENT#2026/12/06/a')).toBe('event');
    expect(kindOf('TAG#europe-politics')).toBe('tag entry');
    expect(kindOf('TAGS')).toBe('tag counter/summary');
    expect(kindOf('MARK#tag')).toBe('mark');
    expect(kindOf('CHANGES#2026-12-06#1')).toBe('change log');
    expect(kindOf('PARKED#2026/12/06/a')).toBe('parked');
    expect(kindOf('APIKEY#abc')).toBe('other (apiKey)');
    expect(kindOf('COUNT#russia#2')).toBe('tag counter/summary');
    expect(kindOf('NOPE')).toBe('other');
  });
});

describe('the stream benchmark proxy, in front of a real dynalite', () => {
  let table: TestTable;
  let proxy: StreamProxy;
  let db: ReturnType<typeof createDocumentClient>;
  const name = 'booked';
  // The latest-events index: the item lands there under its partition key.
  const index: IndexDef = TABLE.latestIndex;

  beforeAll(async () => {
    table = await startTestTable();
    proxy = await startStreamProxy(table.dynamo.endpoint);
    db = createDocumentClient({ endpoint: proxy.endpoint });
    await ensureTable(db, name);
  });

  afterAll(async () => {
    db.destroy();
    await proxy.close();
    await table.close();
  });

  const item = (id: string, bytes: number) => ({
    PK: `EVENT#${id}`,
    SK: 'EVENT',
    [index.partitionKey]: `HOT#${id.length}`,
    [index.sortKey]: index.sortKey === 'SK' ? 'EVENT' : id,
    body: 'x'.repeat(bytes),
  });
  const indexUnits = (value: Record<string, unknown>) =>
    writeUnitsOfSize(sizes.itemSize(projectedEntry(index, marshall(value) as never) ?? {}));

  it('books a put on its table partition (the reported units) and its index partition, a refused write as 1', async () => {
    const ledger = proxy.startLedger();
    const big = item('a', 2500);
    await db.send(new PutCommand({ TableName: name, Item: big }));
    await expect(
      db.send(
        new PutCommand({ TableName: name, Item: big, ConditionExpression: 'attribute_not_exists(PK)' }),
      ),
    ).rejects.toThrow();
    expect(ledger.byPartition.get('table EVENT#a')).toBe(3 + 1);
    expect(ledger.byPartition.get(`${index.name} HOT#1`)).toBe(indexUnits(big));
    expect(ledger.byKind.get('event')).toEqual({ table: 4, index: indexUnits(big) });
  });

  it('books each item of a batch on its own table partition by its size, and both on their shared index partition', async () => {
    const ledger = proxy.startLedger();
    const small = item('bb', 100);
    const large = item('cc', 2500);
    await db.send(
      new BatchWriteCommand({
        RequestItems: { [name]: [{ PutRequest: { Item: small } }, { PutRequest: { Item: large } }] },
      }),
    );
    expect(ledger.byPartition.get('table EVENT#bb')).toBe(1);
    expect(ledger.byPartition.get('table EVENT#cc')).toBe(3);
    expect(ledger.tableUnits).toBe(4);
    expect(ledger.byPartition.get(`${index.name} HOT#2`)).toBe(indexUnits(small) + indexUnits(large));
    expect(proxy.requests().byOperation.BatchWriteItem).toBe(1);
  });
});
