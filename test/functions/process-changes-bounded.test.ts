import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/process-changes.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { makeEventStore, tagEntryAttributes } from '../../shared/adapters/event-store.js';
import { batchPutAll } from '../../shared/adapters/items.js';
import { correctedEvent, createdEvent, type NewsEvent, parseEventDraft } from '../../shared/domain/event.js';
import { tagEntryKey } from '../../shared/keys.js';
import { makeEventInput } from '../helpers/builders.js';
import { steppingClock } from '../helpers/clock.js';
import { startTestTable } from '../helpers/dynamo.js';
import { recordingTopic } from '../helpers/fakes.js';
import { makeStreamRecord } from '../helpers/stream.js';

const event = (overrides: Record<string, unknown>, at: string): NewsEvent => {
  const parsed = parseEventDraft(makeEventInput(overrides));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return createdEvent(parsed.draft, at);
};

/** Counts the requests sent through a document client, by command name. */
const counting = (db: DynamoDBDocumentClient) => {
  const sent = new Map<string, number>();
  const proxy = new Proxy(db, {
    get(target, name, receiver) {
      if (name !== 'send') return Reflect.get(target, name, receiver);
      return (command: { constructor: { name: string } }, ...rest: unknown[]) => {
        const kind = command.constructor.name.replace(/Command$/, '');
        sent.set(kind, (sent.get(kind) ?? 0) + 1);
        return (target.send as (...args: unknown[]) => unknown).call(target, command, ...rest);
      };
    },
  });
  return { db: proxy, sent };
};

const READS = ['Get', 'BatchGet', 'Query', 'Scan'];

/**
 * A tag holding `size` entries, a batch of 20 changes to events of that tag projected once, then the
 * same batch replayed and a batch of corrections: the requests each costs.
 */
const costs = async (size: number) => {
  const table = await startTestTable();
  try {
    const clock = steppingClock();
    const base = makeEventStore(table.db, table.tableName);
    // The tag's existing entries, as the projection writes them (their count is left out: the
    // figures below are this batch's).
    const existing = Array.from({ length: size }, (_, i) =>
      event({ date: '2001-01-01', headline: `Old story ${i}`, tags: ['Busy'] }, '2001-01-01T00:00:00.000Z'),
    );
    await batchPutAll(
      table.db,
      table.tableName,
      existing.map((e) => ({
        ...tagEntryKey('busy', e.date, e.id),
        ...tagEntryAttributes('busy', e, e.updatedAt),
      })),
    );
    const fresh = Array.from({ length: 20 }, (_, i) =>
      event({ date: '2016-11-16', headline: `Busy news ${i}`, tags: ['Busy', `Rare ${i % 3}`] }, clock()),
    );
    for (const e of fresh) await base.putEvent(e, undefined);
    const records: DynamoDBRecord[] = fresh.map((e, i) => makeStreamRecord(e, undefined, 9000 + i));

    const run = async (batch: DynamoDBRecord[]) => {
      const { db, sent } = counting(table.db);
      const handle = makeHandler({
        store: makeEventStore(db, table.tableName),
        now: clock,
        topic: recordingTopic().topic,
        siteUrl: 'https://news.example.org',
      });
      const out = await handle({ Records: batch }, lambdaContext('process-changes'));
      expect(out.batchItemFailures).toEqual([]);
      return Object.fromEntries([...sent].filter(([kind]) => READS.includes(kind)).sort());
    };
    const first = await run(records);
    const replay = await run(records);
    const corrected = fresh.map((e) =>
      correctedEvent(e, { ...e, headline: `${e.headline}, corrected` }, clock()),
    );
    for (const [i, e] of corrected.entries()) await base.putEvent(e, fresh[i]);
    const corrections = await run(corrected.map((e, i) => makeStreamRecord(e, fresh[i], 9100 + i)));
    expect((await base.getTag('busy'))?.count).toBe(20);
    return { first, replay, corrections };
  } finally {
    await table.close();
  }
};

describe('the change path does work bounded by the batch, never by a tag', () => {
  it('costs the same reads to project, replay or correct a batch whether its tag holds 300 or 3,000 entries', async () => {
    const small = await costs(300);
    const large = await costs(3000);
    expect(large).toEqual(small);
    // No query at all (no count, no listing read), on a replay least of all.
    for (const reads of Object.values(small)) expect(reads.Query ?? 0).toBe(0);
    expect(small.replay).toEqual({ BatchGet: expect.any(Number) });
  }, 120_000);
});
