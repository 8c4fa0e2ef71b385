import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../local/dynamodb.js';
import { startRuntime } from '../local/runtime.js';
import { createDocumentClient } from '../shared/adapters/dynamodb.js';
import { toEventItem } from '../shared/adapters/event-store.js';
import { createdEvent, parseEventDraft } from '../shared/domain/event.js';
import { writeResult } from './results.js';

const TAGS = Array.from({ length: 200 }, (_, i) => `Topic ${i}`);

/** n distinct, valid, realistic-sized events. */
const makeEvents = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    date: `2016-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
    headline: `Benchmark event ${i}: a minister announces a policy change after talks with regional leaders`,
    body: 'A paragraph of reporting about the event, long enough to be a realistic summary. '.repeat(6),
    topic: 'Politics and elections',
    tags: [TAGS[i % 200], TAGS[(i * 7 + 1) % 200], TAGS[(i * 13 + 2) % 200]].filter(
      (t, k, a) => a.indexOf(t) === k,
    ),
    sources: [{ name: 'Wire', url: `https://news.example.org/story/${i}` }],
  }));

/** Runs `fn` over items, `concurrency` at a time, in order of start. */
const pool = async <T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
};

const chunk = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

const batchWrite = async (db: DynamoDBDocumentClient, table: string, items: Record<string, unknown>[]) => {
  let requests = items.map((Item) => ({ PutRequest: { Item } }));
  while (requests.length > 0) {
    const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
    requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
  }
};

export const runIngest = async (args: string[]) => {
  const total = Number(args[0] ?? 20_000);
  const inFlightItems = 400;
  const dataDir = mkdtempSync(join(tmpdir(), 'tidings-bench-ingest-'));
  const runtime = await startRuntime({ dataDir, port: 0, loadSamples: false });
  try {
    const events = makeEvents(total);

    // The API path: HTTP → authorizer → batch handler → BatchGet + one conditional PutItem per event
    // (+ the local change journal). The stream projection is paused while measuring, as in AWS it
    // runs in another function; its drain time is printed separately.
    await runtime.capture.stop();
    const apiStart = performance.now();
    let created = 0;
    await pool(chunk(events, 100), inFlightItems / 100, async (batch) => {
      const res = await fetch(`${runtime.url}/api/events/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${runtime.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: batch }),
      });
      if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
      created += ((await res.json()) as { summary: { created: number } }).summary.created;
    });
    const apiSeconds = (performance.now() - apiStart) / 1000;
    if (created !== total) throw new Error(`API created ${created} of ${total}`);

    const drainStart = performance.now();
    runtime.capture.start();
    await runtime.capture.idle();
    const drainSeconds = (performance.now() - drainStart) / 1000;

    // The raw path: the same items, BatchWriteItem of 25, the same number of items in flight,
    // into a fresh table of the same dynalite.
    const db = createDocumentClient({ endpoint: runtime.dynamodbEndpoint });
    await ensureTable(db, 'raw');
    const now = new Date().toISOString();
    const items = events.map((input) => {
      const parsed = parseEventDraft(input);
      if (!parsed.ok) throw new Error('benchmark events must be valid');
      return toEventItem(createdEvent(parsed.draft, now));
    });
    const rawStart = performance.now();
    await pool(chunk(items, 25), inFlightItems / 25, (batch) => batchWrite(db, 'raw', batch));
    const rawSeconds = (performance.now() - rawStart) / 1000;
    db.destroy();

    const apiItemsPerSec = Math.round(total / apiSeconds);
    const rawItemsPerSec = Math.round(total / rawSeconds);
    const ratio = Number((apiItemsPerSec / rawItemsPerSec).toFixed(3));
    console.log(`ingest: ${total} events, ${inFlightItems} items in flight on each path`);
    console.log(
      `ingest: api  ${apiSeconds.toFixed(2)} s  ${apiItemsPerSec} items/s (POST /api/events/batch, 100 per request)`,
    );
    console.log(
      `ingest: raw  ${rawSeconds.toFixed(2)} s  ${rawItemsPerSec} items/s (BatchWriteItem, 25 per request)`,
    );
    console.log(`ingest: ratio api/raw ${ratio} (target >= 0.6)`);
    console.log(`ingest: change projection drained ${total} changes in ${drainSeconds.toFixed(2)} s`);
    const path = writeResult('ingest', { apiItemsPerSec, rawItemsPerSec, ratio });
    console.log(`ingest: wrote ${path}`);
  } finally {
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};
