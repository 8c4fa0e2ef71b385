import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/process-changes.js';
import { ChangeCapture, type StreamHandler } from '../../local/change-capture.js';
import { type EventStore, makeEventStore, toEventItem } from '../../shared/adapters/event-store.js';
import { correctedEvent, createdEvent, parseEventDraft } from '../../shared/domain/event.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { recordingTopic } from '../helpers/fakes.js';

let table: TestTable;
let store: EventStore;
let dir: string;

const draft = (overrides: Record<string, unknown>) => {
  const parsed = parseEventDraft(makeEventInput(overrides));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.draft;
};

const revisionOf = (record: DynamoDBRecord) =>
  `${unmarshall(record.dynamodb?.NewImage as never).id}@${unmarshall(record.dynamodb?.NewImage as never).revision}`;

/** A stream handler that records what it saw and fails when told to. */
const recorder = (fail: (record: DynamoDBRecord, attempt: number) => boolean = () => false) => {
  const seen: DynamoDBRecord[] = [];
  const attempts = new Map<string, number>();
  const handler: StreamHandler = async (event: DynamoDBStreamEvent) => {
    const failures: { itemIdentifier: string }[] = [];
    for (const record of event.Records) {
      const seq = record.dynamodb?.SequenceNumber ?? '';
      const attempt = (attempts.get(seq) ?? 0) + 1;
      attempts.set(seq, attempt);
      if (fail(record, attempt)) failures.push({ itemIdentifier: seq });
      else seen.push(record);
    }
    return { batchItemFailures: failures };
  };
  return { seen, handler };
};

const capture = (name: string, handler: StreamHandler, maxAttempts = 4) =>
  new ChangeCapture({
    journalPath: join(dir, `${name}.ndjson`),
    deadLetterPath: join(dir, `${name}-dead.ndjson`),
    tableName: 'tidings',
    handler,
    maxAttempts,
    retryDelayMs: 5,
  });

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
  dir = mkdtempSync(join(tmpdir(), 'tidings-capture-'));
});
afterAll(async () => {
  await table.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('local change capture', () => {
  it('feeds stream-shaped records with old and new images, in commit order', async () => {
    const { seen, handler } = recorder();
    const cc = capture('order', handler);
    await cc.recover((id) => store.getEvent(id));
    cc.start();
    const wrapped = cc.wrap(store);
    const v1 = createdEvent(draft({ headline: 'Captured in order' }), '2026-01-01T00:00:00.000Z');
    const v2 = correctedEvent(
      v1,
      draft({ headline: 'Captured in order', body: 'v2' }),
      '2026-01-01T00:01:00.000Z',
    );
    await wrapped.putEvent(v1, undefined);
    await wrapped.putEvent(v2, v1);
    await cc.idle();
    await cc.stop();
    expect(seen.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
    expect(seen.map(revisionOf)).toEqual([`${v1.id}@1`, `${v1.id}@2`]);
    const modify = seen[1]?.dynamodb;
    expect(modify?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
    expect(unmarshall(modify?.OldImage as never)).toEqual(toEventItem(v1));
    expect(Number(seen[1]?.dynamodb?.SequenceNumber)).toBeGreaterThan(
      Number(seen[0]?.dynamodb?.SequenceNumber),
    );
  });

  it('does not capture a write that failed', async () => {
    const { seen, handler } = recorder();
    const cc = capture('failed-write', handler);
    await cc.recover((id) => store.getEvent(id));
    cc.start();
    const wrapped = cc.wrap(store);
    const e = createdEvent(draft({ headline: 'Written once only' }), '2026-01-01T00:00:00.000Z');
    await wrapped.putEvent(e, undefined);
    // A competing create of the same id, a moment later: it loses its condition.
    const rival = createdEvent(draft({ headline: 'Written once only' }), '2026-01-01T00:00:01.000Z');
    await expect(wrapped.putEvent(rival, undefined)).rejects.toThrow();
    await cc.idle();
    await cc.stop();
    expect(seen).toHaveLength(1);
  });

  it('captures a write that committed although its call failed (a lost answer)', async () => {
    const { seen, handler } = recorder();
    const cc = capture('lost-answer', handler);
    await cc.recover((id) => store.getEvent(id));
    cc.start();
    const flaky: EventStore = {
      ...store,
      putEvent: async (next, previous) => {
        await store.putEvent(next, previous);
        throw new Error('socket hang up');
      },
    };
    const e = createdEvent(draft({ headline: 'Committed but unanswered' }), '2026-01-01T00:00:00.000Z');
    await expect(cc.wrap(flaky).putEvent(e, undefined)).rejects.toThrow('socket hang up');
    await cc.idle();
    await cc.stop();
    expect(seen.map(revisionOf)).toEqual([`${e.id}@1`]);
  });

  it('retries from the first failed record and skips nothing', async () => {
    // Every record fails on its first two attempts.
    const { seen, handler } = recorder((_record, attempt) => attempt <= 2);
    const cc = capture('retry', handler, 10);
    await cc.recover((id) => store.getEvent(id));
    cc.start();
    const wrapped = cc.wrap(store);
    const events = Array.from({ length: 5 }, (_, i) =>
      createdEvent(draft({ headline: `Retried change ${i}` }), '2026-01-01T00:00:00.000Z'),
    );
    for (const e of events) await wrapped.putEvent(e, undefined);
    await cc.idle();
    await cc.stop();
    expect(new Set(seen.map(revisionOf))).toEqual(new Set(events.map((e) => `${e.id}@1`)));
  });

  it('parks a poison record in the dead-letter file and carries on', async () => {
    const { seen, handler } = recorder((record) => revisionOf(record).includes('poison'));
    const cc = capture('poison', handler, 3);
    await cc.recover((id) => store.getEvent(id));
    cc.start();
    const wrapped = cc.wrap(store);
    const poison = createdEvent(draft({ headline: 'A poison change' }), '2026-01-01T00:00:00.000Z');
    const healthy = createdEvent(
      draft({ headline: 'A healthy change after it' }),
      '2026-01-01T00:00:00.000Z',
    );
    await wrapped.putEvent(poison, undefined);
    await wrapped.putEvent(healthy, undefined);
    await cc.idle();
    await cc.stop();
    // At least once: the healthy record rode along in the retried batches.
    expect(new Set(seen.map(revisionOf))).toEqual(new Set([`${healthy.id}@1`]));
    const parked = readFileSync(join(dir, 'poison-dead.ndjson'), 'utf8').trim().split('\n');
    expect(parked).toHaveLength(1);
    expect(JSON.parse(parked[0] ?? '{}').record.dynamodb.Keys.PK.S).toBe(`EVENT#${poison.id}`);
  });

  it('hands over after a restart what was written but not yet handled', async () => {
    const first = recorder();
    const before = capture('restart', first.handler);
    await before.recover((id) => store.getEvent(id));
    // Never started: the process "dies" with the change written and journaled but unhandled.
    const e = createdEvent(draft({ headline: 'Survives a restart' }), '2026-01-01T00:00:00.000Z');
    await before.wrap(store).putEvent(e, undefined);

    // A write that landed in the table but whose outcome never reached the journal.
    const landed = createdEvent(draft({ headline: 'Landed before the crash' }), '2026-01-01T00:00:00.000Z');
    await store.putEvent(landed, undefined);
    appendFileSync(
      join(dir, 'restart.ndjson'),
      `${JSON.stringify({ t: 'intent', seq: 99, id: landed.id, new: toEventItem(landed), at: 0 })}\n`,
    );
    // And one that never landed: it must not be replayed.
    const lost = createdEvent(draft({ headline: 'Never written' }), '2026-01-01T00:00:00.000Z');
    appendFileSync(
      join(dir, 'restart.ndjson'),
      `${JSON.stringify({ t: 'intent', seq: 100, id: lost.id, new: toEventItem(lost), at: 0 })}\n`,
    );

    const second = recorder();
    const after = capture('restart', second.handler);
    expect(await after.recover((id) => store.getEvent(id))).toBe(2);
    after.start();
    await after.idle();
    await after.stop();
    expect(second.seen.map(revisionOf)).toEqual([`${e.id}@1`, `${landed.id}@1`]);
    expect(first.seen).toEqual([]);

    // Handled changes are not replayed again.
    const third = capture('restart', recorder().handler);
    expect(await third.recover((id) => store.getEvent(id))).toBe(0);
  });

  it('leaves counts exact when the process dies between the counter writes of a batch and its entries', async () => {
    const projecting = makeEventStore(table.db, table.tableName);
    const deps = (over: Partial<typeof projecting> = {}) => ({
      store: { ...projecting, ...over },
      now: () => '2026-01-01T00:00:01.000Z',
      topic: recordingTopic().topic,
      siteUrl: 'https://news.example.org',
    });
    // The first process applies the counts, then dies before any entry is written.
    let died!: () => void;
    const dead = new Promise<void>((resolve) => {
      died = resolve;
    });
    const dying = makeHandler(
      deps({
        putTagEntry: async () => {
          died();
          await new Promise(() => undefined);
          return false;
        },
      }),
    );
    const before = new ChangeCapture({
      journalPath: join(dir, 'dies.ndjson'),
      deadLetterPath: join(dir, 'dies-dead.ndjson'),
      tableName: 'tidings',
      handler: dying as StreamHandler,
      retryDelayMs: 5,
    });
    await before.recover((id) => store.getEvent(id));
    before.start();
    const events = Array.from({ length: 4 }, (_, i) =>
      createdEvent(
        draft({ headline: `Import cut short ${i}`, tags: ['Cut short'] }),
        '2026-01-01T00:00:00.000Z',
      ),
    );
    for (const e of events) await before.wrap(store).putEvent(e, undefined);
    await dead;
    // `before` is abandoned mid-batch, as a killed `npm start` is; a new process takes over.
    const after = new ChangeCapture({
      journalPath: join(dir, 'dies.ndjson'),
      deadLetterPath: join(dir, 'dies-dead.ndjson'),
      tableName: 'tidings',
      handler: makeHandler(deps()) as StreamHandler,
      retryDelayMs: 5,
    });
    expect(await after.recover((id) => store.getEvent(id))).toBe(4);
    after.start();
    await after.idle();
    await after.stop();
    expect(await projecting.getTag('cut-short')).toEqual({ slug: 'cut-short', name: 'Cut short', count: 4 });
    expect((await projecting.listTagSummaries('cut-short', { limit: 10 })).items).toHaveLength(4);
  });
});
