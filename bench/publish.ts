/**
 * `npm run bench -- publish [N]`: a full publish of N events (default 100,000) over 2,000 tags,
 * then incremental publishes after 100 new events (cold: a new process) and 100 more (warm: the same
 * process, as when Lambda reuses the function's environment between scheduled runs), against Hugo
 * building the same corpus.
 *
 * The publisher runs in a child process of its own (this file, `--worker full|incremental <dataDir>`)
 * so its peak memory is its own: the function's in AWS. The store, dynalite in memory, is one
 * process shared by every run, as DynamoDB is one warm service; its memory and CPU are printed
 * beside the publisher's. The publisher runs with the heap limits Lambda gives the publish
 * function (1024 MB): see `lambdaHeapFlags`. Setup (loading the corpus, posting the new events,
 * writing Hugo's content) is not measured. The full publish and Hugo run in turn, three times each
 * (`BENCH_PUBLISH_PAIRS`), and their medians are compared. Before each full run and each Hugo build
 * it waits, up to 8 minutes, for the file system to create files at its usual speed
 * (`settleFileSystem`); before each publish, the store collects its garbage (`collectStore`). Last,
 * the last pair's files, ours and Hugo's, are written again without rendering (`writeFloor`): what
 * the output alone costs on this machine.
 *
 * BENCH_KEEP=1 keeps the temporary folder (site, Hugo site); BENCH_PUBLISH_CPU_PROF=<dir> writes a
 * CPU profile of each publish worker there; BENCH_PUBLISH_DISK=1 gives each run the local
 * runtime's own store on disk (LevelDB, under the data folder), opened anew by each process.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { freePort, type LocalDynamo, startDynalite } from '../local/dynamodb.js';
import { LOCAL_TABLE, type Runtime, startRuntime } from '../local/runtime.js';
import { createDocumentClient } from '../shared/adapters/dynamodb.js';
import { tagEntryAttributes, toDayEntryItem, toEventItem } from '../shared/adapters/event-store.js';
import { sleep } from '../shared/adapters/items.js';
import { SLICE_WORKER_NODE_FLAGS } from '../shared/config.js';
import { createdEvent, eventIdFor, type NewsEvent, parseEventDraft } from '../shared/domain/event.js';
import { defaultSiteConfig } from '../shared/domain/site.js';
import { tagSlug } from '../shared/domain/slug.js';
import { counterKey, TAG_SHARDS, tagEntryKey, tagKey, tagShardOf } from '../shared/keys.js';
import type { PublishReport } from '../shared/services/publish.js';
import { procStat } from './proc.js';
import { type ModelResult, modelFullPublish, WORKER_MEMORY_MB } from './publish-model.js';
import { distinct, rng, zipf } from './random.js';
import { writeResult } from './results.js';

const ROOT = resolve(import.meta.dirname, '..');
const SELF = import.meta.filename;
const RESULT_PREFIX = '@@publish-worker ';

const TAG_COUNT = 2_000;
const NEW_EVENTS = 100;
const DAYS = 3 * 365;
const START_DAY = Date.UTC(2021, 0, 1);
const FEED_SIZE = 50;
const SEED = 0x7d1d;

// ---------------------------------------------------------------------------------------------
// The corpus: deterministic, seeded.

const WORDS = (
  'minister parliament council regional leaders talks policy budget election vote court ruling ' +
  'protest strike workers union agreement treaty border trade tariffs exports energy prices ' +
  'inflation bank interest rates housing market storm flooding wildfire drought harvest farmers ' +
  'hospital health vaccine outbreak schools teachers students university research scientists ' +
  'satellite launch airport railway bridge highway transport ferry port shipping fuel pipeline ' +
  'company merger shares investors startup factory jobs unemployment pension reform tax ' +
  'police investigation arrest trial verdict appeal judge prosecutors rights refugees migrants ' +
  'ceasefire troops security summit delegation embassy sanctions aid donors charity festival ' +
  'museum archive library stadium championship final record coach league team season mayor ' +
  'city village province coast island mountain river valley district capital region state'
).split(' ');

const PLACES = (
  'Northern Southern Eastern Western Central Upper Lower Coastal Highland Lakeside Riverside ' +
  'Valley Harbor Prairie Desert Forest Island Border Capital Metro Atlantic Pacific Arctic Alpine ' +
  'Delta Plateau Canyon Summit Meadow Bay Cape Port Fort Glen Haven Marsh Ridge Shore Springs'
).split(' ');
const SUBJECTS = (
  'Elections Energy Health Transport Housing Trade Agriculture Education Justice Security Climate ' +
  'Water Tourism Fisheries Mining Banking Labour Culture Sports Science Technology Media Aviation ' +
  'Railways Shipping Forestry Wildlife Migration Defence Diplomacy Budget Taxes Pensions Courts ' +
  'Police Weather Floods Wildfires Storms Infrastructure Telecoms Startups Industry Markets'
).split(' ');
const TOPICS = [
  'Politics and elections',
  'Business and economy',
  'Disasters and accidents',
  'Science and technology',
  'Law and crime',
  'Arts and culture',
  'Sports',
  'Health and environment',
];

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** API-shaped event input, as POST /api/events accepts it. */
interface EventInput {
  date: string;
  headline: string;
  body: string;
  topic: string;
  tags: string[];
  sources: { name: string; url: string }[];
}

interface Corpus {
  tagNames: string[];
  /** `count` new events, continuing the same sequence (distinct ids). */
  next(count: number, dayFrom: number, dayTo: number): EventInput[];
}

const makeCorpus = (seed: number): Corpus => {
  const random = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

  // 2,000 distinct tag names; rank = position, popularity 1/rank (Zipf, s = 1).
  const tagNames: string[] = [];
  const slugs = new Set<string>();
  for (let i = 0; tagNames.length < TAG_COUNT; i++) {
    const name =
      i < PLACES.length * SUBJECTS.length
        ? `${PLACES[i % PLACES.length]} ${SUBJECTS[Math.floor(i / PLACES.length) % SUBJECTS.length]}`
        : `${pick(PLACES)} ${pick(SUBJECTS)} ${i}`;
    const slug = tagSlug(name);
    if (slugs.has(slug)) continue;
    slugs.add(slug);
    tagNames.push(name);
  }
  const zipfTag = zipf(TAG_COUNT, random);

  const words = (minChars: number): string => {
    const out: string[] = [];
    let length = -1;
    while (length < minChars) {
      const w = pick(WORDS);
      out.push(w);
      length += w.length + 1;
    }
    return out.join(' ');
  };
  const sentence = () => `${capitalize(words(50 + Math.floor(random() * 60)))}.`;
  const paragraph = (chars: number) => {
    const out: string[] = [];
    let length = -1;
    while (length < chars) {
      const s = sentence();
      out.push(s);
      length += s.length + 1;
    }
    return out.join(' ');
  };

  const ids = new Set<string>();
  let serial = 0;
  const one = (day: number): EventInput => {
    const date = new Date(START_DAY + day * 86_400_000).toISOString().slice(0, 10);
    let headline = capitalize(words(105 + Math.floor(random() * 30)));
    if (ids.has(eventIdFor(date, headline))) headline = `${headline} ${serial}`;
    ids.add(eventIdFor(date, headline));
    const tagTotal = 3 + Math.floor(random() * 3);
    const tags = distinct(tagTotal, zipfTag);
    const n = serial++;
    return {
      date,
      headline,
      body: `${paragraph(280)}\n\n${paragraph(280)}`,
      topic: pick(TOPICS),
      tags: tags.map((t) => tagNames[t] as string),
      sources: Array.from({ length: 1 + Math.floor(random() * 2) }, (_, k) => ({
        name: k === 0 ? 'Wire' : 'Herald',
        url: `https://news.example.org/story/${n}/${k}`,
      })),
    };
  };
  return {
    tagNames,
    next: (count, dayFrom, dayTo) =>
      Array.from({ length: count }, () => one(dayFrom + Math.floor(random() * (dayTo - dayFrom)))),
  };
};

/** The stored event for an input, published at a seeded time of its own day. */
const toNewsEvent = (input: EventInput, index: number): NewsEvent => {
  const parsed = parseEventDraft(input);
  if (!parsed.ok) throw new Error(`benchmark event ${index} is invalid: ${JSON.stringify(parsed.issues)}`);
  const seconds = (index * 7919) % 86_400;
  const time = new Date(seconds * 1000).toISOString().slice(11, 19);
  return createdEvent(parsed.draft, `${input.date}T${time}.000Z`);
};

// ---------------------------------------------------------------------------------------------
// Setup: the table as the change stream leaves it, written with BatchWriteItem.

const pool = async <T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
};

const batchWrite = async (db: DynamoDBDocumentClient, items: Record<string, unknown>[]) => {
  let requests = items.map((Item) => ({ PutRequest: { Item } }));
  for (let attempt = 0; requests.length > 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
    const out = await db.send(new BatchWriteCommand({ RequestItems: { [LOCAL_TABLE]: requests } }));
    requests = (out.UnprocessedItems?.[LOCAL_TABLE] ?? []) as typeof requests;
  }
};

interface Loaded {
  events: NewsEvent[];
  entries: number;
  tags: number;
}

const loadCorpus = async (db: DynamoDBDocumentClient, events: NewsEvent[]): Promise<Loaded> => {
  // Per tag, its name and its count on each counter shard (an entry and its counter share a shard).
  const counts = new Map<string, { name: string; shards: number[] }>();
  let entries = 0;
  // Items are built chunk by chunk, so setup holds the events, not every item.
  const CHUNK = 1_000;
  for (let i = 0; i < events.length; i += CHUNK) {
    const items: Record<string, unknown>[] = [];
    for (const event of events.slice(i, i + CHUNK)) {
      items.push(toEventItem(event));
      items.push(toDayEntryItem({ date: event.date, id: event.id, publishedAt: event.publishedAt }));
      for (const tag of event.tags) {
        items.push({
          ...tagEntryKey(tag.slug, event.date, event.id),
          ...tagEntryAttributes(tag.slug, event, event.updatedAt),
        });
        const seen = counts.get(tag.slug) ?? { name: tag.name, shards: new Array(TAG_SHARDS).fill(0) };
        counts.set(tag.slug, seen);
        seen.shards[tagShardOf(event.id)]++;
        entries++;
      }
    }
    const batches = Array.from({ length: Math.ceil(items.length / 25) }, (_, k) =>
      items.slice(k * 25, (k + 1) * 25),
    );
    await pool(batches, 16, (batch) => batchWrite(db, batch));
  }
  // What the change stream leaves once it settles: each tag's counter shards and its summary.
  const derived = [...counts].flatMap(([slug, { name, shards }]) => [
    ...shards.map((count, shard) => ({
      ...counterKey(slug, shard),
      type: 'counter',
      slug,
      name,
      count,
      version: 1,
    })),
    { ...tagKey(slug), type: 'tag', slug, name, count: shards.reduce((a, b) => a + b, 0), v: 1 },
  ]);
  const batches = Array.from({ length: Math.ceil(derived.length / 25) }, (_, k) =>
    derived.slice(k * 25, (k + 1) * 25),
  );
  await pool(batches, 16, (batch) => batchWrite(db, batch));
  return { events, entries, tags: counts.size };
};

// ---------------------------------------------------------------------------------------------
// Memory: VmHWM (peak resident set) of a process and of its dynalite child.

const statusKB = (pid: number, field: 'VmHWM' | 'VmRSS' | 'RssAnon'): number | undefined => {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
};

/** CPU seconds (user and system) a process has used. */
const cpuSeconds = (pid: number): number => procStat(pid)?.cpuSeconds ?? 0;

/** The dynalite server among a process's children (tsx may also run an esbuild service). */
const dynaliteChildOf = (pid: number): number | undefined => {
  try {
    const out = execFileSync('ps', ['--ppid', String(pid), '-o', 'pid=,args='], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const m = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (m?.[2]?.includes('dynalite-server')) return Number(m[1]);
    }
  } catch {
    // ps exits 1 when there is no child yet.
  }
  return undefined;
};

/**
 * Samples a process's VmHWM every 100 ms, and its store's: the dynalite child it started (`'child'`),
 * or a store shared between runs (its pid), whose resident size is sampled instead, since its
 * high-water mark dates from loading the corpus.
 */
const sampleMemory = (pid: number, store: 'child' | number) => {
  let storePid: number | undefined = store === 'child' ? undefined : store;
  const storeField = store === 'child' ? 'VmHWM' : 'VmRSS';
  let mainKB = 0;
  let storeKB = 0;
  // Anonymous memory only: dynalite's LevelDB maps its table files, and those pages count in its RSS.
  let mainAnonKB = 0;
  let storeAnonKB = 0;
  const sample = () => {
    mainKB = Math.max(mainKB, statusKB(pid, 'VmHWM') ?? 0);
    mainAnonKB = Math.max(mainAnonKB, statusKB(pid, 'RssAnon') ?? 0);
    if (storePid === undefined) storePid = dynaliteChildOf(pid);
    if (storePid !== undefined) {
      storeKB = Math.max(storeKB, statusKB(storePid, storeField) ?? 0);
      storeAnonKB = Math.max(storeAnonKB, statusKB(storePid, 'RssAnon') ?? 0);
    }
  };
  const timer = setInterval(sample, 100);
  sample();
  return {
    current: () => ({
      mainMB: (statusKB(pid, 'VmRSS') ?? 0) / 1024,
      storeMB: storePid ? (statusKB(storePid, 'VmRSS') ?? 0) / 1024 : 0,
    }),
    stop: () => {
      clearInterval(timer);
      return { mainKB, storeKB, mainAnonKB, storeAnonKB };
    },
  };
};

// ---------------------------------------------------------------------------------------------
// The publisher, in its own process.

interface WorkerResult {
  /** The process's first publish (cold) or a later one (warm). */
  run: 'cold' | 'warm';
  report: PublishReport;
  seconds: number;
  publisherPeakKB: number;
  storePeakKB: number;
  /** CPU seconds the publish took: the publisher process's (all its threads) and its store's. */
  publisherCpuSeconds: number;
  storeCpuSeconds: number;
  /** A full run's worker processes (their peaks and CPU) and slices, and the plan's time. */
  pool?: ReturnType<Runtime['fullPublishFigures']>;
}

/** The store the runs share (dynalite in memory, started by the benchmark), as a worker is told of it. */
interface SharedStore {
  endpoint: string;
  pid: number;
}

/**
 * The local runtime on `dataDir`, without samples or a publish schedule, on the shared store if any.
 * A full publish's worker processes get the node options of the slice worker in AWS.
 */
const openRuntime = (dataDir: string, port: number, store: SharedStore | undefined) =>
  startRuntime({
    dataDir,
    port,
    loadSamples: false,
    publishIntervalMs: 0,
    // Instant alerts are another function in AWS: the benchmark runs them when the events are posted
    // (`postEvents`), not on a timer that would fire while the publisher is measured.
    alertIntervalMs: 0,
    publishWorkerFlags: [
      ...SLICE_WORKER_NODE_FLAGS,
      ...(process.env.BENCH_PUBLISH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.BENCH_PUBLISH_CPU_PROF)}`]
        : []),
    ],
    ...(store ? { dynamodbEndpoint: store.endpoint } : {}),
  });

/** Posts events through the runtime's API and waits until the change stream has marked them and their followers are alerted. */
const postEvents = async (runtime: Runtime, events: readonly EventInput[]): Promise<void> => {
  const res = await fetch(`${runtime.url}/api/events/batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${runtime.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
  const { summary } = (await res.json()) as { summary: { created: number } };
  if (summary.created !== events.length)
    throw new Error(`API created ${summary.created} of ${events.length}`);
  await runtime.capture.idle();
  // Their followers looked up and alerted now, before the publisher is measured.
  await runtime.alerts();
};

/** The events an incremental worker posts between its two runs (written by the benchmark). */
const nextEventsFile = (dataDir: string) => join(dataDir, 'bench-next-events.json');

/**
 * `--worker <full|incremental> <dataDir> <port> [<store endpoint> <store pid>]`: opens the runtime
 * (on the shared store, when given), publishes, prints the figures. Both workers serve on the
 * same port, so the site's URL is the same in both runs, as it is from one run to the next in AWS
 * or under `npm start`.
 *
 * An incremental worker publishes twice: what is marked when it starts (its first run, cold: a new
 * process, as the first run after a deploy), then, after posting the events in
 * `bench-next-events.json` itself, what they marked (warm: a process that has published before, as
 * the scheduled function's execution environment is from one run to the next).
 */
const worker = async (mode: string, dataDir: string, port: number, store?: SharedStore): Promise<void> => {
  const runtime = await openRuntime(dataDir, port, store);
  const storePid = store?.pid ?? dynaliteChildOf(process.pid);
  const measure = async (run: WorkerResult['run']): Promise<void> => {
    const cpuBefore = { publisher: cpuSeconds(process.pid), store: storePid ? cpuSeconds(storePid) : 0 };
    const start = performance.now();
    const report = await runtime.publish(mode === 'full');
    const seconds = (performance.now() - start) / 1000;
    const result: WorkerResult = {
      run,
      report,
      seconds,
      publisherCpuSeconds: cpuSeconds(process.pid) - cpuBefore.publisher,
      storeCpuSeconds: storePid ? cpuSeconds(storePid) - cpuBefore.store : 0,
      publisherPeakKB: Math.max(process.resourceUsage().maxRSS, statusKB(process.pid, 'VmHWM') ?? 0),
      storePeakKB: storePid ? (statusKB(storePid, store ? 'VmRSS' : 'VmHWM') ?? 0) : 0,
      ...(mode === 'full' ? { pool: runtime.fullPublishFigures() } : {}),
    };
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  };
  try {
    await measure('cold');
    if (mode === 'incremental') {
      // The hub's distribution of the feeds the run changed (in AWS the hub's function, on its
      // queue) runs after the run, here in this process: it ends before the next run is measured.
      await runtime.hub.drain();
      await postEvents(runtime, JSON.parse(readFileSync(nextEventsFile(dataDir), 'utf8')) as EventInput[]);
      await measure('warm');
    }
  } finally {
    await runtime.stop();
  }
};

/**
 * `--worker model <dataDir> <port> <store endpoint> <store pid>`: the full publish in AWS,
 * modelled (bench/publish-model.ts) on the shared store, into `<dataDir>/model`; prints the result.
 */
const modelWorker = async (dataDir: string, port: number, store: SharedStore): Promise<void> => {
  const result = await modelFullPublish({
    endpoint: store.endpoint,
    tableName: LOCAL_TABLE,
    site: defaultSiteConfig(`http://localhost:${port}`),
    dir: join(dataDir, 'model'),
    workers: MODEL_WORKERS,
    scale: MODEL_SCALE,
    log: (line) => console.log(`publish: model: ${line}`),
  });
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
};

/** Workers of the modelled AWS job (the slice queue's maximum concurrency, `publishWorkers`). */
const MODEL_WORKERS = 20;
/** The larger archive projected: ten times the events (1,000,000 at the default N). */
const MODEL_SCALE = 10;

const runModel = async (dataDir: string, port: number, store: SharedStore): Promise<ModelResult> => {
  const child = spawn(
    process.execPath,
    [
      ...lambdaHeapFlags(WORKER_MEMORY_MB),
      '--import',
      'tsx',
      SELF,
      '--worker',
      'model',
      dataDir,
      String(port),
      store.endpoint,
      String(store.pid),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      },
    },
  );
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.startsWith('publish: model:')) console.log(line);
    stdout += chunk;
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || !line) throw new Error(`the model worker exited with ${code}`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as ModelResult;
};

const countFiles = (dir: string): number => {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
  } catch {
    return 0;
  }
};

interface Measured extends WorkerResult {
  /** The publisher's peak (`publisherMB`): the function's memory in AWS, where the store is DynamoDB. */
  peakMB: number;
  /** The highest peak of any one publishing process: the planner's (`publisherMB`) or a worker's. */
  workerPeakMB: number;
  /** CPU seconds of the run's worker processes, all of them. */
  workersCpuSeconds: number;
  publisherMB: number;
  storeMB: number;
  /** Peak anonymous memory (sampled): the RSS without mapped files. */
  publisherAnonMB: number;
  storeAnonMB: number;
}

/** The publish function's memory in AWS (`memorySize` in infra/constructs/publisher.ts). */
const FUNCTION_MEMORY_MB = 1024;

/**
 * The V8 heap limits AWS Lambda's Node.js runtime starts a function with: a tenth of its memory for
 * the new space (two semi-spaces), the rest for the old space. The publisher runs here as it runs
 * there; without them V8 sizes its heap from this machine's memory and lets garbage grow further.
 */
const lambdaHeapFlags = (memoryMB: number): string[] => {
  const newSpace = Math.floor(memoryMB / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMB - newSpace}`];
};

const runWorker = async (
  mode: 'full' | 'incremental',
  dataDir: string,
  port: number,
  store: SharedStore | undefined,
): Promise<Measured[]> => {
  // BENCH_PUBLISH_CPU_PROF=<dir> profiles the worker (node --cpu-prof); the times then include its overhead.
  const profile = process.env.BENCH_PUBLISH_CPU_PROF;
  const args = [
    ...lambdaHeapFlags(FUNCTION_MEMORY_MB),
    ...(profile
      ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profile)}`, `--cpu-prof-name=publish-${mode}.cpuprofile`]
      : []),
    '--import',
    'tsx',
    SELF,
    '--worker',
    mode,
    dataDir,
    String(port),
    ...(store ? [store.endpoint, String(store.pid)] : []),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
    },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the publish worker');
  const memory = sampleMemory(pid, store?.pid ?? 'child');
  const started = performance.now();
  const progress = setInterval(() => {
    const { mainMB, storeMB } = memory.current();
    const files = countFiles(join(dataDir, 'site'));
    console.log(
      `publish: ${mode} running ${((performance.now() - started) / 1000).toFixed(0)} s, ${files} files in the site folder, ` +
        `rss publisher ${mainMB.toFixed(0)} MB + store ${storeMB.toFixed(0)} MB`,
    );
  }, 60_000);
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearInterval(progress);
  const sampled = memory.stop();
  const lines = stdout.split('\n').filter((l) => l.startsWith(RESULT_PREFIX));
  if (code !== 0 || lines.length !== (mode === 'full' ? 1 : 2)) {
    throw new Error(`publish worker (${mode}) exited with ${code}${stdout ? `; output:\n${stdout}` : ''}`);
  }
  // The peaks are the process's (sampled throughout): a warm run's include the cold run's.
  return lines.map((line) => {
    const result = JSON.parse(line.slice(RESULT_PREFIX.length)) as WorkerResult;
    const publisherMB = Math.max(result.publisherPeakKB, sampled.mainKB) / 1024;
    const storeMB = Math.max(result.storePeakKB, sampled.storeKB) / 1024;
    const workers = result.pool?.workers ?? [];
    return {
      ...result,
      publisherMB,
      storeMB,
      workerPeakMB: Math.max(publisherMB, ...workers.map((w) => w.peakMB)),
      workersCpuSeconds: workers.reduce((sum, w) => sum + w.cpuSeconds, 0),
      // What Tidings itself needs: the publisher (the function in AWS). The store stands in for
      // DynamoDB and is printed beside it.
      peakMB: publisherMB,
      publisherAnonMB: sampled.mainAnonKB / 1024,
      storeAnonMB: sampled.storeAnonKB / 1024,
    };
  });
};

// ---------------------------------------------------------------------------------------------
// Hugo.

const hasCommand = (command: string, args: string[]): boolean => spawnSync(command, args).status === 0;

/** Returns Hugo's version, installing the Debian package when missing and running as root. */
const ensureHugo = (): [number, number] => {
  if (!hasCommand('hugo', ['version']) && process.getuid?.() === 0 && hasCommand('apt-get', ['--version'])) {
    console.log('publish: hugo is missing; installing the Debian package `hugo` with apt-get');
    spawnSync('apt-get', ['update'], { stdio: 'ignore' });
    spawnSync('apt-get', ['install', '-y', 'hugo'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  if (
    !hasCommand('/usr/bin/time', ['-V']) &&
    process.getuid?.() === 0 &&
    hasCommand('apt-get', ['--version'])
  ) {
    // Hugo's peak memory comes from GNU time; without it the benchmark samples /proc instead.
    spawnSync('apt-get', ['install', '-y', 'time'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
  const out = spawnSync('hugo', ['version'], { encoding: 'utf8' });
  if (out.status !== 0) {
    throw new Error(
      'hugo is not installed: install it (Debian/Ubuntu: `sudo apt-get install hugo`, or see https://gohugo.io/installation/) and run the benchmark again',
    );
  }
  const m = /v(\d+)\.(\d+)/.exec(out.stdout);
  return [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)];
};

// Minimal layouts. Event pages link their tags from `.Params.tags` (urlize), not `.GetTerms`: in
// Hugo 0.111 `.GetTerms` made single.html about 9 times slower, which would flatter us.
const HUGO_LAYOUTS: Record<string, string> = {
  'index.html': `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Site.Title }}</title>
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" href="{{ .Permalink }}">{{ end }}
</head><body><h1>{{ .Site.Title }}</h1>
<ul>{{ range first 30 .Site.RegularPages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>{{ end }}</ul>
</body></html>
`,
  '_default/single.html': `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head><body>
<h1>{{ .Title }}</h1><p>{{ .Date.Format "2006-01-02" }}</p>
{{ .Content }}
<ul>{{ range .Params.tags }}<li><a href="{{ printf "tags/%s/" (urlize .) | relURL }}">{{ . }}</a></li>{{ end }}</ul>
</body></html>
`,
  '_default/list.html': `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head><body><h1>{{ .Title }}</h1>
<ul>{{ range first 100 .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>
</body></html>
`,
  '_default/terms.html': `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head><body><h1>{{ .Title }}</h1>
<ul>{{ range .Data.Terms.ByCount }}<li><a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> {{ .Count }}</li>{{ end }}</ul>
</body></html>
`,
  '_default/term.html': `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title>
{{ with .OutputFormats.Get "rss" }}<link rel="alternate" type="application/rss+xml" href="{{ .Permalink }}">{{ end }}
</head><body><h1>{{ .Title }}</h1>
<ul>{{ range first 100 .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>{{ end }}</ul>
</body></html>
`,
};

/** The same corpus as a Hugo site: one markdown page per event with its tags, minimal layouts. */
const writeHugoSite = (dir: string, events: readonly NewsEvent[], version: [number, number]) => {
  // `services.rss.limit` replaced the top-level `rssLimit` in Hugo 0.114.
  const modern = version[0] > 0 || version[1] >= 114;
  const config = [
    'baseURL = "http://localhost/"',
    'title = "Tidings"',
    'languageCode = "en"',
    'disableKinds = ["sitemap", "robotsTXT", "section"]',
    ...(modern ? [] : [`rssLimit = ${FEED_SIZE}`]),
    '[taxonomies]',
    'tag = "tags"',
    '[outputs]',
    'home = ["HTML", "RSS"]',
    'page = ["HTML"]',
    'taxonomy = ["HTML"]',
    'term = ["HTML", "RSS"]',
    ...(modern ? ['[services.rss]', `limit = ${FEED_SIZE}`] : []),
    '',
  ].join('\n');
  // `hugo.toml` is read since Hugo 0.110; `config.toml` before.
  writeFileSync(join(dir, version[0] > 0 || version[1] >= 110 ? 'hugo.toml' : 'config.toml'), config);
  for (const [path, body] of Object.entries(HUGO_LAYOUTS)) {
    mkdirSync(join(dir, 'layouts', path, '..'), { recursive: true });
    writeFileSync(join(dir, 'layouts', path), body);
  }
  const content = join(dir, 'content', 'events');
  mkdirSync(content, { recursive: true });
  for (const event of events) {
    const front = { title: event.headline, date: event.publishedAt, tags: event.tags.map((t) => t.name) };
    writeFileSync(
      join(content, `${event.id.replaceAll('/', '-')}.md`),
      `${JSON.stringify(front, null, 2)}\n\n${event.body}\n`,
    );
  }
};

interface HugoRun {
  seconds: number;
  peakMB: number;
  files: number;
  /** User and system CPU time of all its threads (from /usr/bin/time; 0 without it). */
  cpuSeconds: number;
}

/**
 * Full publishes and Hugo builds measured, in turn (`BENCH_PUBLISH_PAIRS`, default 3): the figures
 * compared are the medians.
 */
const PAIRS = Math.max(1, Math.floor(Number(process.env.BENCH_PUBLISH_PAIRS ?? 3)) || 1);

/** The run with the median value (the lower middle one of an even count). */
const medianBy = <T>(runs: readonly T[], value: (run: T) => number): T =>
  [...runs].sort((a, b) => value(a) - value(b))[Math.floor((runs.length - 1) / 2)] as T;

const runHugo = async (dir: string): Promise<HugoRun> => {
  const timeFile = join(dir, 'time.txt');
  const out = join(dir, 'public');
  const hugoArgs = ['--quiet', '--source', dir, '--destination', out, '--cacheDir', join(dir, 'cache')];
  const timed = hasCommand('/usr/bin/time', ['-V']);
  const [command, args] = timed
    ? ['/usr/bin/time', ['-v', '-o', timeFile, 'hugo', ...hugoArgs]]
    : ['hugo', hugoArgs];
  const start = performance.now();
  const child = spawn(command as string, args as string[], { stdio: ['ignore', 'inherit', 'inherit'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start hugo');
  // Sampled too, in case /usr/bin/time is missing (then `pid` is hugo itself).
  let hugoPid: number | undefined = timed ? undefined : pid;
  let sampledKB = 0;
  const timer = setInterval(() => {
    if (hugoPid === undefined) {
      try {
        hugoPid =
          Number(execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' }).trim()) ||
          undefined;
      } catch {
        // not started yet
      }
    }
    if (hugoPid !== undefined) sampledKB = Math.max(sampledKB, statusKB(hugoPid, 'VmHWM') ?? 0);
  }, 100);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const seconds = (performance.now() - start) / 1000;
  clearInterval(timer);
  if (code !== 0) throw new Error(`hugo exited with ${code}`);
  let timeKB = 0;
  let cpuSeconds = 0;
  if (timed) {
    const report = readFileSync(timeFile, 'utf8');
    timeKB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(report)?.[1] ?? 0);
    const time = (label: string) =>
      Number(new RegExp(`${label} time \\(seconds\\): ([\\d.]+)`).exec(report)?.[1] ?? 0);
    cpuSeconds = time('User') + time('System');
  }
  return { seconds, peakMB: Math.max(timeKB, sampledKB) / 1024, files: countFiles(out), cpuSeconds };
};

// ---------------------------------------------------------------------------------------------

/**
 * System time to create an empty file in `dir`, over 2,000 of them (kept: deleting them would
 * slow what comes next). On ext4 without a journal, as on this project's development VM, each new
 * inode is checked against recently deleted ones, and creating files within minutes of deleting
 * many cost up to twenty times more (measured: 19 µs quiet, 378 µs two minutes after a benchmark
 * deleted its 400,000 files). The publisher writes three times as many files as Hugo.
 */
const fileCreationMicros = (dir: string): number => {
  const count = 2_000;
  mkdirSync(dir, { recursive: true });
  const before = process.resourceUsage().systemCPUTime;
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `f${i}`), '', { flag: 'wx' });
  return (process.resourceUsage().systemCPUTime - before) / count;
};

/** Above this, creating files is taken to be slowed by a recent deletion, and the benchmark waits. */
const SETTLED_MICROS = 60;
const SETTLE_WAIT_MS = 30_000;
const SETTLE_MAX_MS = 8 * 60_000;

/**
 * Has the shared store collect its garbage in full before a measured run. Its heap holds the whole
 * table (some 4 GB at 100,000 events); a collection of it takes seconds of CPU on this machine's two
 * cores, and one that fell inside a run was counted against the publisher (the store's CPU time in
 * a full run ranged from 13 to 25 s, and in the warm incremental run from 0.6 to 3.3 s).
 */
const collectStore = async (dynamo: LocalDynamo | undefined, before: string): Promise<void> => {
  if (!dynamo?.collect) return;
  const ms = await dynamo.collect();
  console.log(`publish: the store's garbage collected in full before ${before} (${fmt(ms / 1000, 2)} s)`);
};

/**
 * Waits (up to 8 minutes) until creating a file costs no more than `SETTLED_MICROS`, so neither
 * the publisher nor Hugo is measured in the minutes after many files were deleted (by an earlier
 * run of this benchmark, say), and prints what it found.
 */
const settleFileSystem = async (work: string, before: string): Promise<void> => {
  const started = performance.now();
  let probes = 0;
  const probe = () => fileCreationMicros(join(work, `probe-${before.replaceAll(' ', '-')}-${probes++}`));
  let micros = probe();
  while (micros > SETTLED_MICROS && performance.now() - started < SETTLE_MAX_MS) {
    await sleep(SETTLE_WAIT_MS);
    micros = probe();
  }
  const waited = (performance.now() - started) / 1000;
  console.log(
    `publish: creating a file takes ${fmt(micros, 0)} µs of system time before ${before}` +
      (waited >= 1
        ? ` (after waiting ${fmt(waited, 0)} s for it to fall to ${SETTLED_MICROS} µs or less)`
        : ''),
  );
};

const fmt = (n: number, digits = 1) => n.toFixed(digits);

/** A full run's worker processes and its plan, a line each. */
const workerLines = (label: string, run: Measured): void => {
  const pool = run.pool;
  if (!pool) return;
  console.log(
    `publish: ${label} plan ${fmt(pool.planSeconds)} s in the publisher (peak ${fmt(run.publisherMB, 0)} MB, with the local runtime); ` +
      `${pool.workers.length} worker processes: ` +
      pool.workers
        .map((w) => `${w.slices} slices, peak ${fmt(w.peakMB, 0)} MB, CPU ${fmt(w.cpuSeconds)} s`)
        .join('; '),
  );
  const kinds = new Map<string, { slices: number; size: number; seconds: number; longest: number }>();
  for (const slice of pool.slices) {
    const k = kinds.get(slice.kind) ?? { slices: 0, size: 0, seconds: 0, longest: 0 };
    kinds.set(slice.kind, {
      slices: k.slices + 1,
      size: k.size + slice.size,
      seconds: k.seconds + slice.seconds,
      longest: Math.max(k.longest, slice.seconds),
    });
  }
  console.log(
    `publish: ${label} slices: ` +
      [...kinds.entries()]
        .map(
          ([kind, k]) =>
            `${k.slices} ${kind}${kind === 'site' ? '' : ` (${k.size} ${kind === 'tags' ? 'tags' : 'events'})`} ` +
            `${fmt(k.seconds)} s, longest ${fmt(k.longest)} s`,
        )
        .join('; '),
  );
};

/**
 * A full publish of the same corpus's first `events` events (the same tags) on a store of its own:
 * the peak memory of its publishing processes. Loaded, measured once, and stopped.
 */
const smallRun = async (
  work: string,
  events: number,
  port: number,
  onDisk: boolean,
): Promise<{ events: number; workerPeakMB: number }> => {
  const dynamo = onDisk ? undefined : await startDynalite();
  const store: SharedStore | undefined =
    dynamo?.pid === undefined ? undefined : { endpoint: dynamo.endpoint, pid: dynamo.pid };
  const dataDir = join(work, 'data-small');
  try {
    const runtime = await openRuntime(dataDir, 0, store);
    const db = createDocumentClient({ endpoint: runtime.dynamodbEndpoint });
    await loadCorpus(db, makeCorpus(SEED).next(events, 0, DAYS).map(toNewsEvent));
    db.destroy();
    await runtime.stop();
    await collectStore(dynamo, `the full run of ${events} events`);
    const [run] = (await runWorker('full', dataDir, port, store)) as [Measured];
    console.log(
      `publish: full of ${events} events (the same tags) ${fmt(run.seconds)} s, highest peak of a publishing process ` +
        `${fmt(run.workerPeakMB, 0)} MB`,
    );
    workerLines(`full of ${events} events`, run);
    return { events, workerPeakMB: run.workerPeakMB };
  } finally {
    // Its files stay until the end (with the work folder): deleting them now would slow the
    // creation of files by the runs measured next (see `settleFileSystem`).
    await dynamo?.close();
  }
};

/** What writing a site's files costs without rendering them (`writeFloor`). */
interface WriteFloor {
  files: number;
  bytes: number;
  seconds: number;
  cpuSeconds: number;
}

/**
 * The floor of writing a site: every file of `from` is read into memory, a chunk at a time (not
 * timed), and written into `to` as plainly as Node can (open, write, close, on this one thread;
 * timed). What a generator spends beyond this renders, reads its data, or waits.
 */
const writeFloor = (from: string, to: string): WriteFloor => {
  const files = readdirSync(from, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
  const made = new Set<string>();
  const floor: WriteFloor = { files: files.length, bytes: 0, seconds: 0, cpuSeconds: 0 };
  const CHUNK = 10_000;
  for (let i = 0; i < files.length; i += CHUNK) {
    const chunk = files
      .slice(i, i + CHUNK)
      .map((file) => [join(to, relative(from, file)), readFileSync(file)] as const);
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (const [path, body] of chunk) {
      const dir = dirname(path);
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      const fd = openSync(path, 'w');
      writeSync(fd, body);
      closeSync(fd);
      floor.bytes += body.byteLength;
    }
    floor.seconds += (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    floor.cpuSeconds += (used.user + used.system) / 1e6;
  }
  return floor;
};

export const runPublish = async (args: string[]): Promise<void> => {
  const total = Number(args[0] ?? 100_000);
  if (!Number.isInteger(total) || total < 1) throw new Error(`N must be a positive integer (got ${args[0]})`);
  const loadAtStart = loadavg();
  console.log(
    `publish: load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')} at the start (a target is called met only from a quiet machine: under 0.5)`,
  );
  const hugoVersion = ensureHugo();
  const keep = process.env.BENCH_KEEP === '1';
  // One store for every run, in memory, as DynamoDB is one warm service whatever the function does.
  // BENCH_PUBLISH_DISK=1 gives each run the store the local runtime keeps under its data folder
  // (LevelDB), opened anew by each process.
  const onDisk = process.env.BENCH_PUBLISH_DISK === '1';
  const dynamo = onDisk ? undefined : await startDynalite();
  const store: SharedStore | undefined =
    dynamo?.pid === undefined ? undefined : { endpoint: dynamo.endpoint, pid: dynamo.pid };
  const work = mkdtempSync(join(tmpdir(), 'tidings-bench-publish-'));
  const dataDir = join(work, 'data');
  const hugoDir = join(work, 'hugo');
  mkdirSync(hugoDir, { recursive: true });
  const sitePort = await freePort();
  try {
    // The same tags at a quarter of the events, first (its own store, stopped before the full
    // corpus is loaded): the peak memory of a publishing process there, to compare.
    const small = await smallRun(work, Math.round(total / 4), sitePort, onDisk);

    // Setup (not measured): the corpus, straight into the table.
    const setupStart = performance.now();
    const corpus = makeCorpus(SEED);
    const events = corpus.next(total, 0, DAYS).map(toNewsEvent);
    const fresh = corpus.next(NEW_EVENTS, DAYS - 2, DAYS + 1);
    const next = corpus.next(NEW_EVENTS, DAYS - 2, DAYS + 1);
    let runtime = await openRuntime(dataDir, 0, store);
    const db = createDocumentClient({ endpoint: runtime.dynamodbEndpoint });
    const loaded = await loadCorpus(db, events);
    db.destroy();
    await runtime.stop();
    console.log(
      `publish: setup loaded ${total} events, ${loaded.entries} tag entries, ${loaded.tags} tags in ` +
        `${fmt((performance.now() - setupStart) / 1000)} s (not measured)`,
    );

    const loadBefore = loadavg()[0] ?? 0;
    console.log(
      `publish: ${availableParallelism()} cores, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(
          ' ',
        )} before measuring; dynalite ${store ? 'in memory, shared by the runs' : 'on disk (LevelDB), opened by each run'}`,
    );
    // Hugo's content (not measured).
    writeHugoSite(hugoDir, events, hugoVersion);
    // Full publish and Hugo in turn, `PAIRS` times: this VM's speed drifts over minutes (the same
    // run's CPU time varied by half), and each pair meets the same drift. Earlier output is moved
    // aside, not deleted (see `settleFileSystem`), so each run starts from an empty folder.
    const fulls: Measured[] = [];
    const hugos: HugoRun[] = [];
    for (let pair = 1; pair <= PAIRS; pair++) {
      const of = PAIRS > 1 ? ` (pair ${pair} of ${PAIRS})` : '';
      if (pair > 1) renameSync(join(dataDir, 'site'), join(work, `site-${pair - 1}`));
      await settleFileSystem(work, `the full run${of}`);
      await collectStore(dynamo, `the full run${of}`);
      const [full] = (await runWorker('full', dataDir, sitePort, store)) as [Measured];
      fulls.push(full);
      console.log(
        `publish: full${of} ${fmt(full.seconds)} s, peak ${fmt(full.peakMB, 0)} MB (the publisher; its store, dynalite, ` +
          `${fmt(full.storeMB, 0)} MB more), ${full.report.written} objects written (target: peak <= 1024 MB)`,
      );
      const archive = full.report.archive;
      if (archive)
        console.log(
          `publish: full${of} archive (months, years, topic labels): ${archive.documents} feed documents and ` +
            `${archive.pages} pages, ${fmt(archive.milliseconds / 1000)} s of the run`,
        );
      console.log(
        `publish: full${of} anonymous memory (RSS without mapped files) publisher ${fmt(full.publisherAnonMB, 0)} MB + ` +
          `store ${fmt(full.storeAnonMB, 0)} MB`,
      );
      console.log(
        `publish: full${of} CPU time publisher ${fmt(full.publisherCpuSeconds)} s (all threads; the plan and the runtime) + ` +
          `workers ${fmt(full.workersCpuSeconds)} s + store ${fmt(full.storeCpuSeconds)} s`,
      );
      workerLines(`full${of}`, full);
      if (pair > 1) renameSync(join(hugoDir, 'public'), join(work, `hugo-public-${pair - 1}`));
      await settleFileSystem(work, `Hugo${of}`);
      const hugo = await runHugo(hugoDir);
      hugos.push(hugo);
      console.log(
        `publish: hugo${of} ${fmt(hugo.seconds)} s, peak ${fmt(hugo.peakMB, 0)} MB, ${hugo.files} files ` +
          `(hugo ${hugoVersion.join('.')}); CPU time ${fmt(hugo.cpuSeconds)} s, ` +
          `${fmt((hugo.cpuSeconds / hugo.files) * 1e6, 0)} µs a file against the full run's ` +
          `${fmt(((full.workersCpuSeconds + full.publisherCpuSeconds + full.storeCpuSeconds) / full.report.written) * 1e6, 0)} µs an object (workers, publisher and store)`,
      );
      console.log(`publish: full/hugo${of} ${fmt(full.seconds / hugo.seconds, 2)}`);
    }
    const full = medianBy(fulls, (run) => run.seconds);
    const hugo = medianBy(hugos, (run) => run.seconds);
    const fullPeakMB = Math.max(...fulls.map((run) => run.peakMB));
    const workerPeakMB = Math.max(...fulls.map((run) => run.workerPeakMB));
    const hugoPeakMB = Math.max(...hugos.map((run) => run.peakMB));
    if (PAIRS > 1)
      console.log(
        `publish: full ${fmt(full.seconds)} s and hugo ${fmt(hugo.seconds)} s (the medians of ${PAIRS} runs each), ` +
          `peaks ${fmt(fullPeakMB, 0)} MB and ${fmt(hugoPeakMB, 0)} MB (the highest)`,
      );

    // 100 new events through the API; the change stream projects them and marks what to rebuild.
    // The incremental worker publishes them (cold), then posts 100 more and publishes those (warm).
    runtime = await openRuntime(dataDir, 0, store);
    try {
      await postEvents(runtime, fresh);
    } finally {
      await runtime.stop();
    }
    writeFileSync(nextEventsFile(dataDir), JSON.stringify(next));
    await collectStore(dynamo, 'the incremental runs');
    const [cold, warm] = (await runWorker('incremental', dataDir, sitePort, store)) as [Measured, Measured];
    const incrementalLine = (label: string, run: Measured, target: string) =>
      `publish: incremental, ${label}: ${fmt(run.seconds, 2)} s (${fmt((run.seconds / full.seconds) * 100)}% of full${target}), ` +
      `${run.report.written} objects written; CPU time publisher ${fmt(run.publisherCpuSeconds, 2)} s + ` +
      `store ${fmt(run.storeCpuSeconds, 2)} s`;
    console.log(incrementalLine('cold (the first run of a new process, as after a deploy)', cold, ''));
    console.log(
      incrementalLine(
        'warm (the next run of that process, as when Lambda reuses the environment between scheduled runs)',
        warm,
        ', target <= 5%',
      ),
    );
    console.log(`publish: incremental peak ${fmt(warm.peakMB, 0)} MB (the process, over both runs)`);

    console.log(
      `publish: full/hugo ${fmt(full.seconds / hugo.seconds, 2)} (target <= 1, stretch 0.8), ` +
        `peak full/hugo ${fmt(fullPeakMB / hugoPeakMB, 2)}`,
    );
    console.log(
      `publish: workerPeakMB ${fmt(workerPeakMB, 0)} at ${total} events, workerPeakMBSmall ${fmt(small.workerPeakMB, 0)} ` +
        `at ${small.events} events (targets: <= 512 MB and <= 1.1 x small: ${fmt(workerPeakMB / small.workerPeakMB, 2)})`,
    );
    const incrementalShare = warm.seconds / hugo.seconds;
    console.log(
      `publish: incremental/hugo ${fmt(incrementalShare, 3)} (target <= 0.05: ${fmt(warm.seconds, 2)} s against ${fmt(hugo.seconds)} s)`,
    );

    // The same job in AWS, modelled: a sample of slices with AWS's latencies, the rest extrapolated.
    const model = store ? await runModel(dataDir, sitePort, store) : undefined;
    if (model) {
      const job = model.job;
      const fits = Object.entries(model.fits)
        .map(
          ([kind, fit]) =>
            `${kind} ${fmt(fit.secondsPerUnit * 1000, 1)} ms/${kind === 'tags' ? 'tag' : kind === 'site' ? 'slice' : 'event'}`,
        )
        .join(', ');
      console.log(`publish: model: rates (from ${model.measured.length} slices measured): ${fits}`);
      console.log(
        `publish: the plan (the compact index every slice reads): ${fmt(model.planBytes / 1e6, 1)} MB of JSON, ` +
          `${model.headEvents} events among the tags' newest`,
      );
      console.log(
        `publish: modelledAwsFullSeconds ${fmt(job.seconds)} with ${model.workers} workers of ${WORKER_MEMORY_MB} MB ` +
          `(${job.slices} slices; plan ${fmt(job.planSeconds)} s, phases ${job.perPhase.map((s) => fmt(s)).join(' + ')} s), ` +
          `longest slice ${fmt(job.longestSlice)} s (targets: <= 180 s, no slice over 300 s)`,
      );
      const p = model.projected;
      console.log(
        `publish: projected at ${p.events} events (every day ${p.scale} x): ${fmt(p.seconds)} s with ${model.workers} workers ` +
          `(${p.slices} slices; plan ${fmt(p.planSeconds)} s, phases ${p.perPhase.map((s) => fmt(s)).join(' + ')} s), ` +
          `longest slice ${fmt(p.longestSlice)} s`,
      );
    }

    // How much of the gap is what is written: the same files written without rendering, ours and
    // Hugo's (the last pair's), after everything else is measured.
    await settleFileSystem(work, 'writing the files alone');
    const fullFloor = writeFloor(join(dataDir, 'site'), join(work, 'floor-full'));
    const hugoFloor = writeFloor(join(hugoDir, 'public'), join(work, 'floor-hugo'));
    const floorLine = (label: string, f: WriteFloor) =>
      `${label} ${f.files} files, ${fmt(f.bytes / 1e9, 2)} GB: ${fmt(f.seconds)} s (${fmt(f.cpuSeconds)} s CPU, ` +
      `${fmt((f.cpuSeconds / f.files) * 1e6, 0)} µs a file)`;
    console.log(
      `publish: writing the files alone (no rendering, no reads; each file's bytes from memory, one thread): ` +
        `${floorLine("the full run's", fullFloor)}; ${floorLine("Hugo's", hugoFloor)}`,
    );

    const round = (n: number, digits: number) => Number(n.toFixed(digits));
    const path = writeResult('publish', {
      fullSeconds: round(full.seconds, 2),
      fullPeakMB: round(fullPeakMB, 0),
      incrementalSeconds: round(warm.seconds, 3),
      incrementalColdSeconds: round(cold.seconds, 3),
      objectsWrittenFull: full.report.written,
      objectsWrittenIncremental: warm.report.written,
      hugoSeconds: round(hugo.seconds, 2),
      hugoCpuSeconds: round(hugo.cpuSeconds, 1),
      fullCpuSeconds: round(full.workersCpuSeconds + full.publisherCpuSeconds + full.storeCpuSeconds, 1),
      hugoFiles: hugo.files,
      hugoPeakMB: round(hugoPeakMB, 0),
      workerPeakMB: round(workerPeakMB, 0),
      workerPeakMBSmall: round(small.workerPeakMB, 0),
      smallEvents: small.events,
      fullWorkers: full.pool?.workers.length ?? 1,
      ...(model
        ? {
            modelledAwsFullSeconds: round(model.job.seconds, 1),
            modelledAwsLongestSliceSeconds: round(model.job.longestSlice, 1),
            modelledAwsWorkers: model.workers,
            planMB: round(model.planBytes / 1e6, 1),
            projectedAwsEvents: model.projected.events,
            projectedAwsFullSeconds: round(model.projected.seconds, 1),
            projectedAwsLongestSliceSeconds: round(model.projected.longestSlice, 1),
          }
        : {}),
      writeFloorSeconds: round(fullFloor.seconds, 1),
      writeFloorCpuSeconds: round(fullFloor.cpuSeconds, 1),
      writeFloorGB: round(fullFloor.bytes / 1e9, 2),
      hugoWriteFloorSeconds: round(hugoFloor.seconds, 1),
      hugoWriteFloorCpuSeconds: round(hugoFloor.cpuSeconds, 1),
      hugoWriteFloorGB: round(hugoFloor.bytes / 1e9, 2),
      loadAverageAtStart: Number((loadAtStart[0] ?? 0).toFixed(2)),
      loadAverageBefore: Number(loadBefore.toFixed(2)),
    });
    console.log(`publish: wrote ${path}`);
  } finally {
    await dynamo?.close();
    if (keep) console.log(`publish: kept ${work}`);
    // `rm -rf` removes the ~400,000 files of a full-size run in seconds; fs.rmSync takes minutes.
    else if (spawnSync('rm', ['-rf', work]).status !== 0) rmSync(work, { recursive: true, force: true });
  }
};

if (
  process.argv[1] &&
  resolve(process.argv[1]) === SELF &&
  process.argv[2] === '--worker' &&
  process.argv[3] === 'model'
) {
  const [, , , , dataDir, port, storeEndpoint, storePid] = process.argv;
  await modelWorker(dataDir as string, Number(port), {
    endpoint: storeEndpoint as string,
    pid: Number(storePid),
  });
} else if (process.argv[1] && resolve(process.argv[1]) === SELF && process.argv[2] === '--worker') {
  const [, , , mode, dataDir, port, storeEndpoint, storePid] = process.argv;
  if ((mode !== 'full' && mode !== 'incremental') || !dataDir || !Number.isInteger(Number(port))) {
    console.error(
      'usage: node --import tsx bench/publish.ts --worker <full|incremental> <dataDir> <port> [<store endpoint> <store pid>]',
    );
    process.exit(2);
  }
  await worker(
    mode,
    dataDir,
    Number(port),
    storeEndpoint && storePid ? { endpoint: storeEndpoint, pid: Number(storePid) } : undefined,
  );
}
