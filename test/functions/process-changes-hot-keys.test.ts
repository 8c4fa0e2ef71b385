import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/process-changes.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { makeEventStore } from '../../shared/adapters/event-store.js';
import { createdEvent, parseEventDraft } from '../../shared/domain/event.js';
import { TABLE_INDEXES } from '../../shared/keys.js';
import { startTestTable } from '../helpers/dynamo.js';
import { recordingTopic, seededRandom } from '../helpers/fakes.js';
import { makeStreamRecord } from '../helpers/stream.js';

type Item = Record<string, unknown>;

/** Write units by partition key, table and index alike: each item's size in 1 KB units, rounded up. */
const keyedWrites = (db: DynamoDBDocumentClient) => {
  const units = new Map<string, number>();
  const add = (key: string, item: Item | undefined) => {
    const size = item ? JSON.stringify(item).length : 1;
    units.set(key, (units.get(key) ?? 0) + Math.max(1, Math.ceil(size / 1024)));
  };
  const put = (item: Item) => {
    add(`table ${String(item.PK)}`, item);
    for (const index of TABLE_INDEXES)
      if (typeof item[index.partitionKey] === 'string')
        add(`${index.name} ${String(item[index.partitionKey])}`, item);
  };
  const proxy = new Proxy(db, {
    get(target, name, receiver) {
      if (name !== 'send') return Reflect.get(target, name, receiver);
      return (command: { constructor: { name: string }; input: Item }, ...rest: unknown[]) => {
        const input = command.input;
        const kind = command.constructor.name;
        if (kind === 'PutCommand') put(input.Item as Item);
        if (kind === 'UpdateCommand' || kind === 'DeleteCommand')
          add(`table ${String((input.Key as Item).PK)}`, undefined);
        if (kind === 'BatchWriteCommand')
          for (const requests of Object.values(input.RequestItems as Record<string, Item[]>))
            for (const r of requests) {
              const p = r.PutRequest as { Item: Item } | undefined;
              if (p) put(p.Item);
              else add(`table ${String(((r.DeleteRequest as Item).Key as Item).PK)}`, undefined);
            }
        return (target.send as (...args: unknown[]) => unknown).call(target, command, ...rest);
      };
    },
  });
  return { db: proxy, units };
};

describe('live ingest spreads its writes', () => {
  it('puts at most 0.5 write units per event on any partition key with one tag on half of the events, all dated today', async () => {
    const table = await startTestTable();
    try {
      const { db, units } = keyedWrites(table.db);
      const store = makeEventStore(db, table.tableName);
      const random = seededRandom(16);
      const events = Array.from({ length: 400 }, (_, i) => {
        const tags = new Set<string>(random() < 0.5 ? ['Hot'] : []);
        while (tags.size < 4) tags.add(`Tag ${Math.floor(random() * 60)}`);
        const parsed = parseEventDraft({
          date: '2026-12-06',
          headline: `Live story ${i}`,
          body: 'b'.repeat(1200),
          tags: [...tags],
          sources: [{ name: 'Wire', url: 'https://example.org/wire' }],
        });
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
        return createdEvent(parsed.draft, '2026-12-06T08:00:00.000Z');
      });
      for (const e of events) await store.putEvent(e, undefined);
      const handle = makeHandler({
        store,
        now: () => new Date().toISOString(),
        topic: recordingTopic().topic,
        siteUrl: 'https://news.example.org',
      });
      for (let i = 0; i < events.length; i += 100) {
        const batch = events.slice(i, i + 100).map((e, j) => makeStreamRecord(e, undefined, i + j + 1));
        expect(
          (await handle({ Records: batch }, lambdaContext('process-changes'))).batchItemFailures,
        ).toEqual([]);
      }
      const [hottest, most] = [...units].sort((a, b) => b[1] - a[1])[0] as [string, number];
      expect(most / events.length, hottest).toBeLessThanOrEqual(0.5);
      // What used to be one key each is spread now.
      for (const before of ['table TAG#hot', 'GSI2 DAY#2026-12-06', 'table MARK#event'])
        expect(units.get(before) ?? 0, before).toBe(0);
      // The summaries' partition: once per tag appearing (61 tags here), not per event.
      expect(units.get('table TAGS')).toBeLessThanOrEqual(61);
    } finally {
      await table.close();
    }
  }, 60_000);
});
