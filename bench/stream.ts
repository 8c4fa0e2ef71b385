/**
 * `npm run bench -- stream`: does the change projection keep up with live ingest, in how many write
 * units, and how hot does its busiest partition get?
 *
 * Corpus (bench/stream-corpus.ts, seeded): BENCH_STREAM_EVENTS events (default 20,000) over 2,000
 * tags, the head tag on half of them, 3 to 5 tags each, the others by Zipf popularity; 70% dated
 * today, the rest over the 29 days before; headline, a body of 3 to 5 paragraphs, 1 to 3 sources.
 *
 * 1. Throughput. A fresh local runtime (its own dynalite, its real HTTP server, its change capture
 *    driving process-changes as the stream does in AWS, the publisher's schedule off). The corpus
 *    goes to POST /api/events/batch, 100 per request, BENCH_STREAM_IN_FLIGHT requests in flight
 *    (default 4), while the capture projects. From the same start: `apiEventsPerSec` = events ÷
 *    time to the last API answer; `projectedEventsPerSec` = events ÷ time until the capture is idle
 *    and every tag's count (GET /api/tags) is exact, checked again after each idle, never by
 *    sleeping. Then, untimed, every listing (GET /api/events?tag=) holds exactly its events, the
 *    marks name every event, day and tag, and no change was parked.
 * 2. Write units. The same corpus into another fresh runtime whose dynalite sits behind a counting
 *    proxy (bench/stream-proxy.ts): every write of the API and of the projection, the table's units
 *    as dynalite reports them (ReturnConsumedCapacity), each index's from the projected entry's
 *    size (1 per KB rounded up, per index of shared/keys.ts TABLE holding it), booked by item kind
 *    and by partition key value (table PK and each index's partition key). `wruPerCreatedEvent`,
 *    and `hotTagCeilingEventsPerSec` = 1,000 ÷ (units on the busiest partition ÷ events). Then
 *    BENCH_STREAM_CORRECTIONS corrections (PUT, default a tenth of the events, 2,000 of 20,000; one
 *    in four moves the event to another tag), booked separately: `wruPerCorrectedEvent`. Listings,
 *    counts and marks are checked again.
 *
 * Targets: projectedEventsPerSec ≥ 0.9 × apiEventsPerSec; wruPerCreatedEvent ≤ 15;
 * hotTagCeilingEventsPerSec ≥ 2,000. BENCH_STREAM_BASE=<git rev> also measures the code at that
 * revision (its files from `git archive` in a temporary folder sharing node_modules, this
 * benchmark's files copied in) and this tree, each in a child process started the same way, on the
 * same corpus, before first, and prints both side by side.
 * BENCH_STREAM_SEED picks another corpus. Writes bench/results/stream.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { startDynalite } from '../local/dynamodb.js';
import { LOCAL_TABLE, type Runtime, startRuntime } from '../local/runtime.js';
import { createDocumentClient } from '../shared/adapters/dynamodb.js';
import { logger } from '../shared/logger.js';
import { writeResult } from './results.js';
import { hotCeiling, type Ledger } from './stream-accounting.js';
import {
  type BenchEvent,
  type Correction,
  expectedCounts,
  makeCorpus,
  makeCorrections,
} from './stream-corpus.js';
import { startStreamProxy } from './stream-proxy.js';

const TAGS = 2000;
const BATCH = 100;
const TARGETS = { keepUp: 0.9, wruPerCreatedEvent: 15, hotTagCeilingEventsPerSec: 2000 };

interface Config {
  events: number;
  corrections: number;
  seed: number;
  today: string;
  inFlight: number;
}

export interface KindRow {
  kind: string;
  table: number;
  index: number;
  total: number;
}

export interface StreamFigures {
  revision: string;
  events: number;
  tags: number;
  corrections: number;
  seed: number;
  today: string;
  loadAverage: number[];
  cores: number;
  apiSeconds: number;
  projectedSeconds: number;
  apiEventsPerSec: number;
  projectedEventsPerSec: number;
  wruPerCreatedEvent: number;
  wruPerCorrectedEvent: number;
  hotTagCeilingEventsPerSec: number;
  /** Units per event by item kind. */
  createdByKind: KindRow[];
  correctedByKind: KindRow[];
  hottestPartitions: { partition: string; unitsPerEvent: number }[];
  requestsPerCreatedEvent: Record<string, number>;
  readUnitsPerCreatedEvent: number;
  readUnitsPerCorrectedEvent: number;
  /** CPU seconds of both processes (this one and the store's) per created event, in ms. */
  cpu: CpuFigures;
  targets: { projectionKeepsUp: boolean; wruPerCreatedEvent: boolean; hotTagCeiling: boolean };
}

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export interface CpuFigures {
  events: number;
  /** The API alone (the projection paused): HTTP, validation, one conditional write an event. */
  apiMs: number;
  /** The projection alone, of the same events. */
  projectionMs: number;
  /** One conditional PutItem of a slim entry per (event, tag), nothing else: item 1's minimum. */
  entryWritesMs: number;
  /** Of the projection's, the part spent in this process (the handler and its SDK client), not the store's. */
  projectionOwnMs: number;
}

/** CPU time of this process and of the store's, in seconds (Linux: the child's from /proc). */
const cpuSeconds = (storePid: number | undefined): { own: number; store: number } => {
  const { user, system } = process.cpuUsage();
  let store = 0;
  if (storePid !== undefined && existsSync(`/proc/${storePid}/stat`)) {
    // Fields 14 and 15 (utime, stime) after the command name's closing parenthesis, in clock ticks (100 a second).
    const fields = readFileSync(`/proc/${storePid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    store = (Number(fields[11]) + Number(fields[12])) / 100;
  }
  return { own: (user + system) / 1e6, store };
};

const envNumber = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a whole number of at least 1 (got ${raw})`);
  return n;
};

const configFromEnv = (): Config => {
  const events = envNumber('BENCH_STREAM_EVENTS', 20_000);
  return {
    events,
    corrections: envNumber('BENCH_STREAM_CORRECTIONS', Math.max(1, Math.round(events / 10))),
    seed: envNumber('BENCH_STREAM_SEED', 16),
    today: process.env.BENCH_STREAM_TODAY || new Date().toISOString().slice(0, 10),
    inFlight: envNumber('BENCH_STREAM_IN_FLIGHT', 4),
  };
};

/** Runs `fn` over items, `concurrency` at a time. */
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

const postCorpus = async (runtime: Runtime, corpus: BenchEvent[], inFlight: number) => {
  let created = 0;
  await pool(chunk(corpus, BATCH), inFlight, async (batch) => {
    const res = await fetch(`${runtime.url}/api/events/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runtime.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: batch }),
    });
    if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
    created += ((await res.json()) as { summary: { created: number } }).summary.created;
  });
  if (created !== corpus.length) throw new Error(`the API created ${created} of ${corpus.length} events`);
};

const putCorrections = async (runtime: Runtime, corrections: Correction[], inFlight: number) => {
  await pool(corrections, inFlight * 2, async ({ event }) => {
    const { id, ...input } = event;
    const res = await fetch(`${runtime.url}/api/events/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${runtime.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(input),
    });
    if (res.status !== 200) throw new Error(`PUT ${id} answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  });
};

const getJson = async <T>(url: string): Promise<T> => {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
};

type TagRow = { slug: string; name: string; count: number };

/** Tags whose count differs from the corpus's, as `name: got/expected` (empty when all are exact). */
const countMismatches = async (runtime: Runtime, expected: Map<string, Set<string>>): Promise<string[]> => {
  const { tags } = await getJson<{ tags: TagRow[] }>(`${runtime.url}/api/tags`);
  const got = new Map(tags.map((t) => [t.name, t.count]));
  const wrong: string[] = [];
  for (const [name, ids] of expected) {
    if ((got.get(name) ?? 0) !== ids.size) wrong.push(`${name}: ${got.get(name) ?? 0}/${ids.size}`);
  }
  for (const t of tags) if (!expected.has(t.name) && t.count !== 0) wrong.push(`${t.name}: ${t.count}/0`);
  return wrong;
};

/**
 * Waits until the projection has settled: the capture idle (every change the API made is queued
 * before its answer) and every count exact; a count not yet exact means more is owed, so wait for
 * the capture again. Returns the time of the idle that preceded the exact counts.
 */
const settle = async (runtime: Runtime, expected: Map<string, Set<string>>, limitMs = 300_000) => {
  // The first idle may take minutes (the whole backlog); the limit is for what comes after it.
  let start: number | undefined;
  for (;;) {
    await runtime.capture.idle();
    const at = performance.now();
    start ??= at;
    const wrong = await countMismatches(runtime, expected);
    if (wrong.length === 0) return at;
    if (performance.now() - start > limitMs) {
      throw new Error(`counts still wrong after ${limitMs / 1000} s: ${wrong.slice(0, 5).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Every tag's listing holds exactly its events, the marks name everything changed, nothing parked. */
const verify = async (runtime: Runtime, expected: Map<string, Set<string>>, events: BenchEvent[]) => {
  const wrongCounts = await countMismatches(runtime, expected);
  if (wrongCounts.length > 0) throw new Error(`counts not exact: ${wrongCounts.slice(0, 5).join(', ')}`);
  const { tags } = await getJson<{ tags: TagRow[] }>(`${runtime.url}/api/tags`);
  const slugOf = new Map(tags.map((t) => [t.name, t.slug]));
  const problems: string[] = [];
  await pool([...expected.entries()], 8, async ([name, ids]) => {
    const slug = slugOf.get(name);
    if (!slug) {
      problems.push(`${name}: not listed`);
      return;
    }
    const listed: string[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ tag: slug, limit: '100', ...(cursor ? { cursor } : {}) });
      const page: { events: { id: string }[]; nextCursor: string | null } = await getJson(
        `${runtime.url}/api/events?${query}`,
      );
      for (const e of page.events) listed.push(e.id);
      cursor = page.nextCursor;
    } while (cursor);
    const unique = new Set(listed);
    const missing = [...ids].filter((id) => !unique.has(id));
    const extra = [...unique].filter((id) => !ids.has(id));
    if (unique.size !== listed.length || missing.length > 0 || extra.length > 0) {
      problems.push(
        `${name}: ${listed.length} listed (${listed.length - unique.size} twice), ${missing.length} missing, ${extra.length} extra`,
      );
    }
  });
  if (problems.length > 0) throw new Error(`listings not exact: ${problems.slice(0, 5).join('; ')}`);

  const marked = async (kind: 'tag' | 'day' | 'event' | 'site') =>
    new Set((await runtime.store.listMarks(kind)).map((m) => m.key));
  const [tagMarks, dayMarks, eventMarks, siteMarks] = await Promise.all(
    (['tag', 'day', 'event', 'site'] as const).map(marked),
  );
  const unmarked = [
    ...[...slugOf.values()].filter((s) => !tagMarks?.has(s)).map((s) => `tag ${s}`),
    ...[...new Set(events.map((e) => e.date))].filter((d) => !dayMarks?.has(d)).map((d) => `day ${d}`),
    ...events.filter((e) => !eventMarks?.has(e.id)).map((e) => `event ${e.id}`),
    ...(siteMarks?.size ? [] : ['site']),
  ];
  if (unmarked.length > 0)
    throw new Error(`${unmarked.length} marks missing: ${unmarked.slice(0, 5).join(', ')}`);

  const deadLetters = join(runtime.dataDir, 'dead-letter.ndjson');
  if (existsSync(deadLetters) && readFileSync(deadLetters, 'utf8').trim()) {
    throw new Error(`the capture parked changes: ${deadLetters}`);
  }
};

const byKind = (ledger: Ledger, per: number): KindRow[] =>
  [...ledger.byKind.entries()]
    .map(([kind, u]) => ({
      kind,
      table: round(u.table / per),
      index: round(u.index / per),
      total: round((u.table + u.index) / per),
    }))
    .sort((a, b) => b.total - a.total);

const perEvent = (counts: Record<string, number>, per: number) =>
  Object.fromEntries(Object.entries(counts).map(([op, n]) => [op, round(n / per)]));

const gitRevision = (dir: string): string => {
  if (process.env.BENCH_STREAM_REVISION) return process.env.BENCH_STREAM_REVISION;
  try {
    const head = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const changed = execFileSync('git', ['-C', dir, 'status', '--porcelain'], { encoding: 'utf8' }).trim();
    return changed ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
};

const measure = async (config: Config, say: (line: string) => void): Promise<StreamFigures> => {
  const corpus = makeCorpus({ events: config.events, tags: TAGS, seed: config.seed, today: config.today });
  const corrections = makeCorrections(corpus, config.corrections, { tags: TAGS, seed: config.seed });
  const expected = expectedCounts(corpus);
  const corrected = [...corpus];
  for (const c of corrections) corrected[c.index] = c.event;
  const expectedAfter = expectedCounts(corrected);
  const loadAverage = loadavg().map((l) => round(l));

  // 1. Throughput: API and projection at the same time, no proxy in the way.
  const throughputDir = mkdtempSync(join(tmpdir(), 'tidings-bench-stream-'));
  let apiSeconds: number;
  let projectedSeconds: number;
  const fast = await startRuntime({
    dataDir: throughputDir,
    port: 0,
    loadSamples: false,
    publishIntervalMs: 0,
  });
  try {
    const start = performance.now();
    await postCorpus(fast, corpus, config.inFlight);
    apiSeconds = (performance.now() - start) / 1000;
    projectedSeconds = ((await settle(fast, expected)) - start) / 1000;
    say(
      `throughput run: API ${apiSeconds.toFixed(2)} s, projected ${projectedSeconds.toFixed(2)} s; verifying`,
    );
    await verify(fast, expected, corpus);
  } finally {
    await fast.stop();
    rmSync(throughputDir, { recursive: true, force: true });
  }

  // 2. Write units, through the counting proxy.
  const unitsDir = mkdtempSync(join(tmpdir(), 'tidings-bench-stream-units-'));
  const dynamo = await startDynalite();
  const proxy = await startStreamProxy(dynamo.endpoint);
  let created: Ledger;
  let createdRequests: ReturnType<typeof proxy.requests>;
  let correctedLedger: Ledger;
  let correctedRequests: ReturnType<typeof proxy.requests>;
  try {
    const counted = await startRuntime({
      dataDir: unitsDir,
      port: 0,
      loadSamples: false,
      publishIntervalMs: 0,
      dynamodbEndpoint: proxy.endpoint,
    });
    try {
      created = proxy.startLedger();
      await postCorpus(counted, corpus, config.inFlight);
      await settle(counted, expected);
      createdRequests = proxy.requests();
      correctedLedger = proxy.startLedger();
      await putCorrections(counted, corrections, config.inFlight);
      await settle(counted, expectedAfter);
      correctedRequests = proxy.requests();
      // Reads only from here on; a fresh ledger keeps them off the figures.
      proxy.startLedger();
      say(`units run: ${corpus.length} created, ${corrections.length} corrected; verifying`);
      await verify(counted, expectedAfter, corrected);
    } finally {
      await counted.stop();
    }
  } finally {
    await proxy.close();
    await dynamo.close();
    rmSync(unitsDir, { recursive: true, force: true });
  }

  // 3. CPU per created event: where the time goes when both share the machine.
  const cpu = await measureCpu(corpus.slice(0, Math.min(corpus.length, 4000)), config, expectedCounts);
  say(
    `cpu run: ${cpu.events} events; API ${cpu.apiMs} ms, projection ${cpu.projectionMs} ms, entry writes alone ${cpu.entryWritesMs} ms an event`,
  );

  const n = corpus.length;
  const c = Math.max(1, corrections.length);
  const apiEventsPerSec = round(n / apiSeconds, 0);
  const projectedEventsPerSec = round(n / projectedSeconds, 0);
  const wruPerCreatedEvent = round(created.total / n);
  const wruPerCorrectedEvent = round(correctedLedger.total / c);
  const hottest = created.top(5);
  const hotTagCeilingEventsPerSec = round(hotCeiling(hottest[0]?.units ?? 0, n), 0);
  return {
    revision: gitRevision(resolve(import.meta.dirname, '..')),
    events: n,
    tags: TAGS,
    corrections: corrections.length,
    seed: config.seed,
    today: config.today,
    loadAverage,
    cores: availableParallelism(),
    apiSeconds: round(apiSeconds),
    projectedSeconds: round(projectedSeconds),
    apiEventsPerSec,
    projectedEventsPerSec,
    wruPerCreatedEvent,
    wruPerCorrectedEvent,
    hotTagCeilingEventsPerSec,
    createdByKind: byKind(created, n),
    correctedByKind: byKind(correctedLedger, c),
    hottestPartitions: hottest.map((h) => ({ partition: h.partition, unitsPerEvent: round(h.units / n, 3) })),
    requestsPerCreatedEvent: perEvent(createdRequests.byOperation, n),
    readUnitsPerCreatedEvent: round(createdRequests.readUnits / n),
    readUnitsPerCorrectedEvent: round(correctedRequests.readUnits / c),
    cpu,
    targets: {
      projectionKeepsUp: projectedEventsPerSec >= TARGETS.keepUp * apiEventsPerSec,
      wruPerCreatedEvent: wruPerCreatedEvent <= TARGETS.wruPerCreatedEvent,
      hotTagCeiling: hotTagCeilingEventsPerSec >= TARGETS.hotTagCeilingEventsPerSec,
    },
  };
};

/**
 * The API alone (projection paused), then the projection alone, then only the conditional writes
 * of one slim entry per (event, tag) into a partition of their own, 16 in flight as the projection
 * writes: CPU seconds of both processes each, per event. Self-contained (no import of the code
 * measured), so a side-by-side run measures a base revision the same way.
 */
const measureCpu = async (
  events: BenchEvent[],
  config: Config,
  counts: (corpus: BenchEvent[]) => Map<string, Set<string>>,
): Promise<CpuFigures> => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-stream-cpu-'));
  const dynamo = await startDynalite();
  try {
    const runtime = await startRuntime({
      dataDir: dir,
      port: 0,
      loadSamples: false,
      publishIntervalMs: 0,
      dynamodbEndpoint: dynamo.endpoint,
    });
    try {
      await runtime.capture.stop();
      const t0 = cpuSeconds(dynamo.pid);
      await postCorpus(runtime, events, config.inFlight);
      const t1 = cpuSeconds(dynamo.pid);
      runtime.capture.start();
      await settle(runtime, counts(events));
      const t2 = cpuSeconds(dynamo.pid);
      const db = createDocumentClient({ endpoint: dynamo.endpoint });
      const entries = events.flatMap((e) =>
        e.tags.map((tag) => ({
          PK: `FLOOR#${tag}#${e.id.length % 4}`,
          SK: `EVENT#${e.date}#${e.id}`,
          type: 'tagEntry',
          listing: JSON.stringify({
            id: e.id,
            date: e.date,
            headline: e.headline,
            topic: e.topic,
            tags: e.tags.map((name) => ({ slug: name.toLowerCase(), name })),
            publishedAt: new Date().toISOString(),
            updatedAt: new Date().toISOString(),
            revision: 1,
          }),
          revision: 1,
          counted: 1,
          changedAt: new Date().toISOString(),
        })),
      );
      const t3 = cpuSeconds(dynamo.pid);
      await pool(entries, 16, async (Item) => {
        await db.send(
          new PutCommand({
            TableName: LOCAL_TABLE,
            Item,
            ConditionExpression: 'attribute_not_exists(PK) OR revision < :r',
            ExpressionAttributeValues: { ':r': 1 },
          }),
        );
      });
      const t4 = cpuSeconds(dynamo.pid);
      db.destroy();
      const per = (from: { own: number; store: number }, to: { own: number; store: number }) =>
        round(((to.own - from.own + to.store - from.store) * 1000) / events.length);
      return {
        events: events.length,
        apiMs: per(t0, t1),
        projectionMs: per(t1, t2),
        entryWritesMs: per(t3, t4),
        projectionOwnMs: round(((t2.own - t1.own) * 1000) / events.length),
      };
    } finally {
      await runtime.stop();
    }
  } finally {
    await dynamo.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

const kindTable = (label: string, rows: KindRow[]): string[] => [
  `stream: ${label} write units per event, by item kind (table + indexes = total):`,
  ...rows.map(
    (r) =>
      `stream:   ${r.kind.padEnd(22)} ${String(r.table).padStart(7)} + ${String(r.index).padStart(7)} = ${String(r.total).padStart(7)}`,
  ),
];

/** The printed lines of one measurement. */
export const report = (f: StreamFigures): string[] => [
  `stream: revision ${f.revision}, ${f.events} events over ${f.tags} tags (seed ${f.seed}, today ${f.today}), ${f.corrections} corrections`,
  `stream: apiEventsPerSec ${f.apiEventsPerSec} (last API answer at ${f.apiSeconds} s)`,
  `stream: projectedEventsPerSec ${f.projectedEventsPerSec} (all projected at ${f.projectedSeconds} s)  target >= 0.9 x api = ${round(
    TARGETS.keepUp * f.apiEventsPerSec,
    0,
  )}: ${met(f.targets.projectionKeepsUp)}`,
  `stream: wruPerCreatedEvent ${f.wruPerCreatedEvent}  target <= ${TARGETS.wruPerCreatedEvent}: ${met(f.targets.wruPerCreatedEvent)}`,
  `stream: wruPerCorrectedEvent ${f.wruPerCorrectedEvent}`,
  `stream: hotTagCeilingEventsPerSec ${f.hotTagCeilingEventsPerSec}  target >= ${TARGETS.hotTagCeilingEventsPerSec}: ${met(
    f.targets.hotTagCeiling,
  )}`,
  'stream: busiest partitions while creating (write units per event):',
  ...f.hottestPartitions.map((h) => `stream:   ${h.partition.padEnd(40)} ${h.unitsPerEvent}`),
  ...kindTable('created', f.createdByKind),
  ...kindTable('corrected', f.correctedByKind),
  `stream: requests per created event ${JSON.stringify(f.requestsPerCreatedEvent)}, read units ${f.readUnitsPerCreatedEvent} per created, ${f.readUnitsPerCorrectedEvent} per corrected`,
  ...(f.cpu ? cpuLines(f) : []),
];

/**
 * What the CPU figures allow. On `cores` cores shared by the API, the projection and the store, the
 * projection of N events cannot end before N × (api + projection) CPU-ms have been spent, so no
 * run can project faster than cores ÷ (api + projection); with only the entry writes item 1
 * requires in place of the projection, cores ÷ (api + entry writes) bounds any design that keeps
 * one conditional write per entry.
 */
const cpuLines = (f: StreamFigures): string[] => {
  const { apiMs, projectionMs, entryWritesMs, projectionOwnMs, events } = f.cpu;
  const bound = round((f.cores * 1000) / (apiMs + projectionMs), 0);
  const floor = round((f.cores * 1000) / (apiMs + entryWritesMs), 0);
  return [
    `stream: CPU per created event (this process + the store's, ${events} events, each stage alone): API ${apiMs} ms, projection ${projectionMs} ms (${round(projectionMs / apiMs, 1)} x API), one conditional write per tag entry alone ${entryWritesMs} ms (${round(entryWritesMs / apiMs, 1)} x API); of the projection's, ${projectionOwnMs} ms in the handler's process (in AWS the only part a function pays: the store's is DynamoDB's)`,
    `stream: on ${f.cores} cores the projection can reach at most ${bound} events/s with the API beside it (${f.cores} s ÷ (API + projection)); any design writing each entry conditionally at most ${floor} events/s`,
  ];
};

const COMPARED: (keyof StreamFigures)[] = [
  'apiEventsPerSec',
  'projectedEventsPerSec',
  'wruPerCreatedEvent',
  'wruPerCorrectedEvent',
  'hotTagCeilingEventsPerSec',
];

export const sideBySide = (base: StreamFigures, current: StreamFigures): string[] => [
  `stream: ${'figure'.padEnd(28)} ${`before ${base.revision}`.padStart(16)} ${`after ${current.revision}`.padStart(16)}`,
  ...COMPARED.map(
    (k) => `stream: ${k.padEnd(28)} ${String(base[k]).padStart(16)} ${String(current[k]).padStart(16)}`,
  ),
  `stream: apiEventsPerSec not below before's: ${met(current.apiEventsPerSec >= base.apiEventsPerSec)}`,
];

/** This file and the helpers it brings, copied into the base revision's worktree. */
const BENCH_FILES = [
  'stream.ts',
  'stream-corpus.ts',
  'stream-accounting.ts',
  'stream-proxy.ts',
  'counting-dynamo.ts',
  'dynamo-forwarder.ts',
  'random.ts',
  'results.ts',
];

/** Measures the code in `dir` with its bench/stream.ts in a child process, labelled `label`. */
const measureInChild = (
  dir: string,
  label: string,
  revision: string,
  config: Config,
): Promise<StreamFigures> => {
  const root = resolve(import.meta.dirname, '..');
  const out = join(mkdtempSync(join(tmpdir(), 'tidings-bench-stream-out-')), 'figures.json');
  return new Promise<StreamFigures>((resolveChild, reject) => {
    const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), ['bench/stream.ts'], {
      cwd: dir,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        BENCH_STREAM_BASE: '',
        BENCH_STREAM_OUT: out,
        BENCH_STREAM_LABEL: label,
        BENCH_STREAM_REVISION: revision,
        BENCH_STREAM_EVENTS: String(config.events),
        BENCH_STREAM_CORRECTIONS: String(config.corrections),
        BENCH_STREAM_SEED: String(config.seed),
        BENCH_STREAM_TODAY: config.today,
        BENCH_STREAM_IN_FLIGHT: String(config.inFlight),
      },
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`the ${label} run exited ${code}`));
      else resolveChild(JSON.parse(readFileSync(out, 'utf8')) as StreamFigures);
      rmSync(dirname(out), { recursive: true, force: true });
    });
  });
};

/**
 * Measures the code at `rev`: its files taken out of git (`git archive`, so no worktree is
 * registered and nothing but a temporary folder is left behind on a crash), node_modules shared,
 * this benchmark's files copied over.
 */
const measureBase = async (rev: string, config: Config): Promise<StreamFigures> => {
  const root = resolve(import.meta.dirname, '..');
  const revision = execFileSync('git', ['-C', root, 'rev-parse', '--short', `${rev}^{commit}`], {
    encoding: 'utf8',
  }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bench-stream-base-'));
  try {
    execFileSync('sh', [
      '-c',
      'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"',
      'sh',
      root,
      revision,
      dir,
    ]);
    symlinkSync(realpathSync(join(root, 'node_modules')), join(dir, 'node_modules'));
    for (const file of BENCH_FILES) copyFileSync(join(root, 'bench', file), join(dir, 'bench', file));
    return await measureInChild(dir, 'before', revision, config);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export const runStream = async (_args: string[]) => {
  // The shared logger read its level when first imported, before bench/run.ts set the default:
  // one JSON line per API request would be measured and printed.
  logger.setLogLevel(
    (process.env.POWERTOOLS_LOG_LEVEL || 'ERROR') as Parameters<typeof logger.setLogLevel>[0],
  );
  const config = configFromEnv();
  const childOut = process.env.BENCH_STREAM_OUT;
  const prefix = childOut ? `stream (${process.env.BENCH_STREAM_LABEL ?? 'child'}):` : 'stream:';
  const say = (line: string) => console.log(`${prefix} ${line}`);
  say(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(
        ' ',
      )} on ${availableParallelism()} cores; ${config.events} events, ${config.inFlight} batches of ${BATCH} in flight`,
  );
  if (childOut) {
    const figures = await measure(config, say);
    for (const line of report(figures)) console.log(line.replace(/^stream:/, prefix));
    writeFileSync(childOut, JSON.stringify(figures));
    return;
  }
  const baseRev = process.env.BENCH_STREAM_BASE;
  if (!baseRev) {
    const figures = await measure(config, say);
    for (const line of report(figures)) console.log(line);
    console.log(`stream: wrote ${writeResult('stream', figures)}`);
    return;
  }
  // Both in child processes started the same way, one after the other, so neither inherits the
  // other's heap, JIT state or open handles; each prints its own lines as it finishes.
  say(`measuring the code at ${baseRev} (before), then this tree (after)`);
  const root = resolve(import.meta.dirname, '..');
  const before = await measureBase(baseRev, config);
  const after = await measureInChild(root, 'after', gitRevision(root), config);
  for (const line of sideBySide(before, after)) console.log(line);
  console.log(`stream: wrote ${writeResult('stream', { ...after, before })}`);
};

// Run directly (the base revision's child process): `tsx bench/stream.ts`.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
  await runStream(process.argv.slice(2));
}
