import { PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { makeHandler } from '../../../functions/process-changes.js';
import { lambdaContext } from '../../../local/lambda-context.js';
import { makeEventStore, toEventItem } from '../../../shared/adapters/event-store.js';
import { createdEvent, type NewsEvent, parseEventDraft, tombstoneOf } from '../../../shared/domain/event.js';
import { type LayoutProgress, migrateDerivedLayout } from '../../../shared/services/migrations.js';
import { makeEventInput } from '../../helpers/builders.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';
import { recordingTopic } from '../../helpers/fakes.js';
import { makeStreamRecord } from '../../helpers/stream.js';

const event = (headline: string, tags: string[]): NewsEvent => {
  const parsed = parseEventDraft(makeEventInput({ date: '2016-11-16', headline, tags }));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return createdEvent(parsed.draft, '2016-11-16T10:00:00.000Z');
};

/** A table as the code before slim entries left it: whole-event entries, a counted summary, one-key marks. */
const oldLayout = async (table: TestTable, events: NewsEvent[]) => {
  const put = (Item: Record<string, unknown>) =>
    table.db.send(new PutCommand({ TableName: table.tableName, Item }));
  const store = makeEventStore(table.db, table.tableName);
  for (const e of events) {
    await store.putEvent(e, undefined);
    // Events carried the day index's keys (the first ones before it was sharded).
    await table.db.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { PK: `EVENT#${e.id}`, SK: 'EVENT' },
        UpdateExpression: 'SET GSI2PK = :pk, GSI2SK = :sk',
        ExpressionAttributeValues: { ':pk': `DAY#${e.date}`, ':sk': `${e.publishedAt}#${e.id}` },
      }),
    );
    for (const tag of e.tags) {
      const { PK: _pk, SK: _sk, GSI1PK: _a, GSI1SK: _b, GSI2PK: _c, GSI2SK: _d, ...copy } = toEventItem(e);
      await put({
        PK: `TAG#${tag.slug}`,
        SK: `EVENT#${e.date}#${e.id}`,
        ...copy,
        type: 'tagEntry',
        GSI4PK: `TAG#${tag.slug}`,
        listing: '{}',
        changedAt: '2016-11-16T10:00:01.000Z',
        counted: true,
      });
    }
  }
  const counts = new Map<string, number>();
  for (const e of events) for (const t of e.tags) counts.set(t.slug, (counts.get(t.slug) ?? 0) + 1);
  for (const [slug, count] of counts)
    await put({
      PK: 'TAGS',
      SK: `TAG#${slug}`,
      type: 'tag',
      slug,
      name: slug.toUpperCase(),
      count,
      version: 9,
    });
  await put({
    PK: 'MARK#tag',
    SK: 'old#2026-01-01T00:00:00.000Z#abcd',
    type: 'mark',
    kind: 'tag',
    key: 'old',
    markedAt: '2026-01-01T00:00:00.000Z',
  });
  await put({
    PK: 'MARK#event',
    SK: `${events[0]?.id}#2026-01-01T00:00:00.000Z#abcd`,
    type: 'mark',
    kind: 'event',
    key: events[0]?.id,
    markedAt: '2026-01-01T00:00:00.000Z',
  });
};

describe('npm run migrate: derived items to the sharded layout', () => {
  it('moves old entries and marks, sets counts from the entries, and finds nothing the second time', async () => {
    const table = await startTestTable();
    try {
      const events = [
        event('Old one', ['Old']),
        event('Old two', ['Old', 'Other']),
        event('Old three', ['Old']),
      ];
      await oldLayout(table, events);
      const store = makeEventStore(table.db, table.tableName);
      const pages: LayoutProgress[] = [];
      const first = await migrateDerivedLayout({ store }, { pageSize: 3, onPage: (p) => pages.push(p) });
      expect(first).toMatchObject({ entries: 4, marks: 2, days: 3, tags: 2 });
      expect(pages.length).toBeGreaterThan(2);
      // The day is listed from day entries now; no event is on the day index any more.
      expect((await store.listDay('2016-11-16', { limit: 10 })).items.map((e) => e.headline).sort()).toEqual([
        'Old one',
        'Old three',
        'Old two',
      ]);

      expect(
        (await store.listTagSummaries('old', { limit: 10 })).items.map((e) => e.headline).sort(),
      ).toEqual(['Old one', 'Old three', 'Old two']);
      expect(await store.getTag('old')).toEqual({ slug: 'old', name: 'OLD', count: 3 });
      expect(await store.getTag('other')).toEqual({ slug: 'other', name: 'OTHER', count: 1 });
      expect((await store.listMarks('tag')).map((m) => [m.key, m.markedAt])).toEqual([
        ['old', '2026-01-01T00:00:00.000Z'],
      ]);
      const { Items = [] } = await table.db.send(new ScanCommand({ TableName: table.tableName }));
      expect(Items.filter((i) => i.PK === 'TAG#old' || i.PK === 'MARK#tag' || i.PK === 'MARK#event')).toEqual(
        [],
      );
      expect(Items.filter((i) => 'GSI2PK' in i)).toEqual([]);
      expect(
        Items.filter((i) => i.type === 'day')
          .map((i) => i.id)
          .sort(),
      ).toEqual(events.map((e) => e.id).sort());

      const second = await migrateDerivedLayout({ store });
      expect(second).toMatchObject({ scanned: 0, entries: 0, marks: 0, days: 0, repaired: 0, inFlight: 0 });

      // The projection goes on from the migrated entries: a deletion counts down exactly.
      const gone = tombstoneOf(events[0] as NewsEvent, '2016-11-17T00:00:00.000Z');
      await store.putEvent(gone, events[0]);
      const handle = makeHandler({
        store,
        now: () => '2016-11-17T00:00:01.000Z',
        topic: recordingTopic().topic,
        siteUrl: 'https://news.example.org',
      });
      const out = await handle(
        { Records: [makeStreamRecord(gone, events[0], 1)] },
        lambdaContext('process-changes'),
      );
      expect(out.batchItemFailures).toEqual([]);
      expect((await store.getTag('old'))?.count).toBe(2);
    } finally {
      await table.close();
    }
  });

  it('is finished by the next run when one stops half-way', async () => {
    const table = await startTestTable();
    try {
      const events = Array.from({ length: 6 }, (_, i) => event(`Interrupted ${i}`, ['Old']));
      await oldLayout(table, events);
      const store = makeEventStore(table.db, table.tableName);
      let moves = 0;
      const failing = {
        ...store,
        moveLegacyEntry: async (entry: Parameters<typeof store.moveLegacyEntry>[0]) => {
          if (++moves === 4) throw new Error('the operator pressed ^C');
          return store.moveLegacyEntry(entry);
        },
      };
      await expect(migrateDerivedLayout({ store: failing }, { pageSize: 2 })).rejects.toThrow('^C');
      const done = await migrateDerivedLayout({ store });
      expect(done.entries).toBe(3);
      expect(await store.getTag('old')).toEqual({ slug: 'old', name: 'OLD', count: 6 });
      for (const shard of await store.auditTag('old', false)) expect(shard.entries).toBe(shard.counted);
    } finally {
      await table.close();
    }
  });
});
