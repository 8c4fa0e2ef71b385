import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/process-changes.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { type EventStore, type ListingStore, makeEventStore } from '../../shared/adapters/event-store.js';
import { makeTopicLabelStore } from '../../shared/adapters/topic-labels.js';
import { createdEvent, parseEventDraft } from '../../shared/domain/event.js';
import { makeEventInput } from '../helpers/builders.js';
import { steppingClock } from '../helpers/clock.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { recordingTopic } from '../helpers/fakes.js';
import { makeStreamRecord } from '../helpers/stream.js';

const SITE = 'https://news.example.org';
const WRITES = new Set([
  'PutCommand',
  'UpdateCommand',
  'DeleteCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
]);

let table: TestTable;
let db: DynamoDBDocumentClient;
let store: EventStore & ListingStore;
const now = steppingClock();
/** Items written to the table since the last reset, batch writes counted item by item. */
let written: string[] = [];

/** The table's client, recording every item write that goes through it. */
const counting = (client: DynamoDBDocumentClient): DynamoDBDocumentClient =>
  new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        const name = command.constructor.name;
        if (WRITES.has(name)) {
          const item = (command.input.Item ?? command.input.Key) as { PK?: unknown } | undefined;
          written.push(String(item?.PK));
        } else if (name === 'BatchWriteCommand' || name === 'BatchWriteItemCommand') {
          const requests = Object.values(command.input.RequestItems as Record<string, unknown[]>).flat();
          for (const _ of requests) written.push('batch');
        }
        return target.send(command as never);
      };
    },
  });

const eventOf = (headline: string, topic?: string) => {
  const { topic: _default, ...input } = makeEventInput({ headline, tags: ['Alpha'] });
  const parsed = parseEventDraft({ ...input, ...(topic ? { topic } : {}) });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return createdEvent(parsed.draft, now());
};

/** A stream worker as a cold start makes it: its own label store, knowing nothing yet. */
const worker = () => {
  const handle = makeHandler({
    store,
    now,
    topic: recordingTopic().topic,
    siteUrl: SITE,
    fanout: { maxAttempts: 4, sleep: async () => undefined },
    topicLabels: makeTopicLabelStore(db, table.tableName),
  });
  return (records: DynamoDBRecord[]) => handle({ Records: records }, lambdaContext('process-changes'));
};

/** Writes one new event and projects it; the item writes the projection made. */
const project = async (run: ReturnType<typeof worker>, event: ReturnType<typeof eventOf>) => {
  await store.putEvent(event, undefined);
  written = [];
  expect(await run([makeStreamRecord(event)])).toEqual({ batchItemFailures: [] });
  return written.splice(0);
};

beforeAll(async () => {
  table = await startTestTable();
  db = counting(table.db);
  store = makeEventStore(db, table.tableName);
});
afterAll(() => table.close());

describe('the change stream notes topic labels', () => {
  it('writes a label once, when it first appears, and then lists it for subscribers', async () => {
    const run = worker();
    const first = await project(run, eventOf('First of its label', 'Armed conflicts and attacks'));
    expect(first.filter((pk) => pk === 'TOPICS')).toHaveLength(1);
    const labels = makeTopicLabelStore(table.db, table.tableName);
    expect(await labels.listTopics()).toEqual([
      { slug: 'armed-conflicts-and-attacks', name: 'Armed conflicts and attacks' },
    ]);
    // The same label in other spelling (same slug) keeps the first name.
    await project(run, eventOf('Second of its label', 'Armed Conflicts and Attacks'));
    expect(
      (await labels.findTopics(['armed-conflicts-and-attacks'])).get('armed-conflicts-and-attacks')?.name,
    ).toBe('Armed conflicts and attacks');
  });

  it('writes no more per event for a label that exists than for an event without one, warm or cold', async () => {
    const warm = worker();
    await project(warm, eventOf('Makes the label known', 'Politics and elections'));
    const unlabelled = await project(worker(), eventOf('No label at all'));
    const coldKnown = await project(worker(), eventOf('Known label, cold worker', 'Politics and elections'));
    const warmKnown = await project(warm, eventOf('Known label, warm worker', 'Politics and elections'));
    expect(coldKnown).toHaveLength(unlabelled.length);
    expect(warmKnown).toHaveLength(unlabelled.length);
    expect([...coldKnown, ...warmKnown]).not.toContain('TOPICS');
  });
});
