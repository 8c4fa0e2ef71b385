/**
 * `npm run bench -- digest [SUBSCRIBERS]`: one weekly digest run for 10,000 confirmed subscribers
 * (5 tags each, by Zipf-like popularity) over a 100,000-event corpus on 2,000 tags, against
 * dynalite. Prints digests composed per second, DynamoDB reads per digest and peak memory.
 *
 * Setup (loading the corpus and the subscribers) is not measured. The run is the job as deployed:
 * a planning process (the schedule's function, planning every shard) and then BENCH_DIGEST_WORKERS
 * (default 2, the digest queue's default concurrency) sending processes, each handling its share
 * of the batches as one SQS consumer would: reading subscribers and the window's changes, claiming
 * the ledger, rendering every digest (HTML and text, signed links), composing each MIME message
 * (which a discarding mailer then drops) and moving cursors. Peak memory is the largest process's.
 * BENCH_DIGEST_EVENTS shrinks the corpus for a quick look; BENCH_DIGEST_DISK=1 keeps dynalite on disk;
 * BENCH_DIGEST_PROFILE=<dir> writes a V8 CPU profile of each worker process there.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { LocalDigestQueue } from '../local/digest-queue.js';
import { ensureTable, startDynalite } from '../local/dynamodb.js';
import { makeDigestStore } from '../shared/adapters/digest-store.js';
import { createDocumentClient, createLowLevelClient } from '../shared/adapters/dynamodb.js';
import { toEventItem } from '../shared/adapters/event-store.js';
import type { Mailer } from '../shared/adapters/mailer.js';
import { composeMessage } from '../shared/adapters/mime.js';
import { staticTokenSecret } from '../shared/adapters/token-secret.js';
import type { NewsEvent } from '../shared/domain/event.js';
import { defaultSiteConfig } from '../shared/domain/site.js';
import { tagSlug } from '../shared/domain/slug.js';
import type { TagRef } from '../shared/domain/subscription.js';
import { changeLogKey, digestPartition, digestShardOf, subscriberKey, TABLE } from '../shared/keys.js';
import { digestComposer } from '../shared/services/digest-email.js';
import {
  addReports,
  type DigestDeps,
  type DigestMessage,
  type DigestReport,
  emptyDigestReport,
  handleDigestMessage,
  startDigestRun,
} from '../shared/services/digests.js';
import { procStat } from './proc.js';
import { distinct, rng, zipf } from './random.js';
import { writeResult } from './results.js';

const ROOT = resolve(import.meta.dirname, '..');
const SELF = import.meta.filename;
const RESULT_PREFIX = '@@digest-worker ';

const EVENTS = Number(process.env.BENCH_DIGEST_EVENTS ?? 100_000);
const PROFILE_DIR = process.env.BENCH_DIGEST_PROFILE;
const TAGS = 2_000;
const TAGS_PER_SUBSCRIBER = 5;
const SCHEDULE = { hour: 7, weekday: 1, timeZone: 'UTC' };
/** A Monday at 07:00 UTC: the weekly window ends here; events span the year before. */
const END = '2026-11-23T07:00:00.000Z';
const YEAR_MS = 365 * 24 * 60 * 60 * 1000;
const WEEK_MS = 7 * 24 * 60 * 60 * 1000;
const SITE = defaultSiteConfig('https://news.example.org');
const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

const WORDS = (
  'minister parliament council regional leaders talks policy budget election vote court ruling protest ' +
  'strike workers union agreement treaty border trade energy prices inflation bank housing storm flooding ' +
  'harvest hospital vaccine schools research satellite railway bridge port company merger factory jobs'
).split(' ');

const sentence = (random: () => number, words: number) =>
  Array.from({ length: words }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');

const tagName = (k: number) => `Topic ${k + 1}`;

interface Corpus {
  entries: Record<string, unknown>[];
  inWindow: number;
}

const buildCorpus = (): Corpus => {
  const random = rng(0xd16e57);
  const drawTag = zipf(TAGS, random);
  const end = Date.parse(END);
  const entries: Record<string, unknown>[] = [];
  let inWindow = 0;
  for (let n = 0; n < EVENTS; n++) {
    const changed = end - Math.floor(random() * YEAR_MS);
    const changedAt = new Date(changed).toISOString();
    const date = changedAt.slice(0, 10);
    // One in thirty is a correction of an event first published a month earlier.
    const corrected = random() < 1 / 30;
    const publishedAt = corrected ? new Date(changed - 30 * 24 * 60 * 60 * 1000).toISOString() : changedAt;
    const tags = distinct(3 + Math.floor(random() * 3), drawTag).map((k) => ({
      name: tagName(k),
      slug: tagSlug(tagName(k)),
    }));
    const event: NewsEvent = {
      id: `${date.replaceAll('-', '/')}/bench-event-${n}`,
      date,
      headline: `${sentence(random, 8)} (${n})`,
      body: `${sentence(random, 40)}.\n\n${sentence(random, 30)}.`,
      tags,
      sources: [{ name: 'Wire', url: `https://wire.example.org/${n}` }],
      publishedAt,
      updatedAt: changedAt,
      revision: corrected ? 2 : 1,
    };
    if (changed > end - WEEK_MS) inWindow++;
    // The event as stored, and its line in the change log, as the stream handler writes it.
    entries.push(toEventItem(event));
    entries.push({
      ...changeLogKey(changedAt, event.id),
      type: 'change',
      id: event.id,
      revision: event.revision,
      changedAt,
    });
  }
  return { entries, inWindow };
};

const buildSubscribers = (count: number): Record<string, unknown>[] => {
  const random = rng(0x5eed ^ count);
  const drawTag = zipf(TAGS, random);
  const cursor = new Date(Date.parse(END) - WEEK_MS).toISOString();
  return Array.from({ length: count }, (_, n) => {
    const id = `bench${String(n).padStart(8, '0')}`;
    const tags: TagRef[] = distinct(TAGS_PER_SUBSCRIBER, drawTag).map((k) => ({
      slug: tagSlug(tagName(k)),
      name: tagName(k),
    }));
    return {
      ...subscriberKey(id),
      type: 'subscriber',
      id,
      email: `reader${n}@example.org`,
      tags,
      cadence: 'weekly',
      status: 'confirmed',
      createdAt: '2025-01-01T00:00:00.000Z',
      confirmedAt: '2025-01-01T00:00:00.000Z',
      cursor,
      tokenVersion: 0,
      [TABLE.digestIndex.partitionKey]: digestPartition('weekly', digestShardOf(id)),
      [TABLE.digestIndex.sortKey]: id,
    };
  });
};

const load = async (endpoint: string, table: string, items: Record<string, unknown>[]) => {
  const db = createDocumentClient({ endpoint });
  let next = 0;
  const worker = async () => {
    for (;;) {
      const start = next;
      next += 25;
      if (start >= items.length) return;
      let pending = items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } }));
      while (pending.length > 0) {
        const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
        pending = (out.UnprocessedItems?.[table] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  db.destroy();
};

interface Measured {
  /** Wall-clock bounds of the measured work, epoch milliseconds (comparable across processes). */
  startedAt: number;
  endedAt: number;
  digests: number;
  empty: number;
  failed: number;
  seconds: number;
  reads: Record<string, number>;
  topicQueries: number;
  /** Summed over concurrent work, so they may add up to more than the wall time. */
  timing: { topicMs: number; recipientsMs: number; composeMs: number; mimeMs: number; ledgerMs: number };
  bytes: number;
  peakMB: number;
  /** CPU time of the measured work (user and system), milliseconds: unlike wall time, not inflated by other load. */
  cpuMs: number;
}

/**
 * CPU seconds so far of this process's children whose command line holds `script`, from Linux's
 * /proc (clock ticks of 1/100 s); undefined where there is no /proc.
 */
const childCpuSeconds = (script: string): number | undefined => {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined;
  }
  let total = 0;
  for (const entry of entries) {
    try {
      const stat = procStat(entry);
      if (stat?.ppid !== process.pid) continue;
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(script)) continue;
      total += stat.cpuSeconds;
    } catch {
      // the process ended while being read
    }
  }
  return total;
};

/**
 * `--worker <endpoint> <table> <file>`: one process of the digest job, measured. With `plan` as
 * its mode it starts the weekly run and plans every shard, writing the batches it would enqueue to
 * `<file>`; with `send` it handles the batches in `<file>`, as one SQS consumer would.
 */
const worker = async (
  mode: 'plan' | 'send',
  endpoint: string,
  table: string,
  file: string,
): Promise<void> => {
  const db = createDocumentClient({ endpoint });
  const reads: Record<string, number> = {};
  let topicQueries = 0;
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName).replace(/Command$/, '');
      if (['Query', 'BatchGetItem', 'GetItem'].includes(name)) {
        reads[name] = (reads[name] ?? 0) + 1;
        const input = args.input as { ExpressionAttributeValues?: Record<string, unknown> };
        if (String(input.ExpressionAttributeValues?.[':pk'] ?? '').startsWith('CHANGES#')) topicQueries++;
      }
      return next(args);
    },
    { step: 'initialize', name: 'countReads' },
  );
  let bytes = 0;
  const mailer: Mailer = {
    async send(email) {
      const t = performance.now();
      const raw = await composeMessage(email);
      timing.mimeMs += performance.now() - t;
      bytes += raw.length;
      return { messageId: `bench-${bytes}` };
    },
  };
  const now = Date.parse(END) + 60 * 60 * 1000;
  const queue = new LocalDigestQueue();
  const claims = createLowLevelClient({ endpoint });
  const store = makeDigestStore(db, table, claims);
  const timing = { topicMs: 0, recipientsMs: 0, composeMs: 0, mimeMs: 0, ledgerMs: 0 };
  const timed =
    <A extends unknown[], R>(key: keyof typeof timing, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const t = performance.now();
      try {
        return await fn(...args);
      } finally {
        timing[key] += performance.now() - t;
      }
    };
  store.windowChanges = timed('topicMs', store.windowChanges.bind(store));
  store.getRecipients = timed('recipientsMs', store.getRecipients.bind(store));
  store.claimDigest = timed('ledgerMs', store.claimDigest.bind(store));
  store.markDigestSent = timed('ledgerMs', store.markDigestSent.bind(store));
  store.recordCursors = timed('ledgerMs', store.recordCursors.bind(store));
  const deps: DigestDeps = {
    store,
    queue,
    mailer,
    compose: timed(
      'composeMs',
      digestComposer({
        site: SITE,
        from: 'news@example.org',
        tokenSecret: staticTokenSecret(SECRET),
        now: () => now,
      }),
    ),
    schedule: SCHEDULE,
    sendRate: 0,
    now: () => now,
  };
  const startedAt = Date.now();
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  let report: DigestReport;
  if (mode === 'plan') {
    // Planning only: the batches it enqueues are kept for the senders instead of handled here.
    const batches: DigestMessage[] = [];
    const planning = {
      ...deps,
      queue: { send: async (messages: readonly DigestMessage[]) => void batches.push(...messages) },
    };
    await startDigestRun(planning, 'weekly');
    report = emptyDigestReport();
    while (batches[0]?.kind === 'plan') {
      report = addReports(report, await handleDigestMessage(planning, batches.shift() as DigestMessage));
    }
    writeFileSync(file, JSON.stringify(batches));
  } else {
    await queue.send(JSON.parse(readFileSync(file, 'utf8')) as DigestMessage[]);
    report = await queue.drain((message) => handleDigestMessage(deps, message), 2);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  const measured: Measured = {
    startedAt,
    endedAt: Date.now(),
    digests: report.sent,
    empty: report.empty,
    failed: report.failed,
    seconds,
    reads,
    topicQueries,
    bytes,
    peakMB: process.resourceUsage().maxRSS / 1024,
    cpuMs: (cpu.user + cpu.system) / 1000,
    timing,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(measured)}\n`);
  db.destroy();
  claims.destroy();
};

const runWorker = (mode: 'plan' | 'send', endpoint: string, table: string, file: string): Promise<Measured> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []),
        '--import',
        'tsx',
        SELF,
        '--worker',
        mode,
        endpoint,
        table,
        file,
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
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || !line) reject(new Error(`digest worker exited with ${code}; output:\n${stdout}`));
      else resolvePromise(JSON.parse(line.slice(RESULT_PREFIX.length)) as Measured);
    });
  });

export const runDigest = async (args: string[]): Promise<void> => {
  const subscribers = Number(args[0] ?? 10_000);
  if (!Number.isInteger(subscribers) || subscribers < 1)
    throw new Error('SUBSCRIBERS must be a whole number');

  // In memory by default. The store shares this machine's two cores with the workers, where in AWS
  // DynamoDB costs the function nothing; on disk (LevelDB), dynalite spent 1.5-1.8 ms of CPU a
  // digest against 1.0 in memory (measured), most of it in LevelDB's native reads, and loaded no faster.
  const onDisk = process.env.BENCH_DIGEST_DISK === '1';
  const dir = mkdtempSync(join(tmpdir(), 'tidings-digest-bench-'));
  const dynamo = await startDynalite(onDisk ? dir : undefined);
  const table = 'tidings-bench';
  try {
    const db = createDocumentClient({ endpoint: dynamo.endpoint });
    await ensureTable(db, table);
    db.destroy();
    const setup = performance.now();
    const corpus = buildCorpus();
    const people = buildSubscribers(subscribers);
    const followed = new Set(people.flatMap((p) => (p.tags as TagRef[]).map((t) => t.slug))).size;
    console.log(
      `digest: ${subscribers} subscribers × ${TAGS_PER_SUBSCRIBER} tags, ${EVENTS} events over ${TAGS} tags (${corpus.entries.length} items: events and change log), ${corpus.inWindow} events changed in the weekly window; dynalite ${onDisk ? 'on disk (LevelDB)' : 'in memory'}`,
    );
    await load(dynamo.endpoint, table, [...corpus.entries, ...people]);
    console.log(`digest: setup ${((performance.now() - setup) / 1000).toFixed(1)} s (not measured)`);

    // The job as deployed: the schedule plans, then WORKERS consumers of the queue send at once
    // (the digest queue's default concurrency is 2). Each is a process of its own, as each
    // Lambda container is; peak memory is the largest of them.
    const workers = Number(process.env.BENCH_DIGEST_WORKERS ?? 2);
    const planFile = join(dir, 'batches.json');
    const planned = await runWorker('plan', dynamo.endpoint, table, planFile);
    const storeCpuBefore = childCpuSeconds('dynalite-server');
    const batches = JSON.parse(readFileSync(planFile, 'utf8')) as DigestMessage[];
    const shares = Array.from({ length: workers }, (_, w) => batches.filter((_, i) => i % workers === w));
    const sent = await Promise.all(
      shares.map((share, w) => {
        const file = join(dir, `share-${w}.json`);
        writeFileSync(file, JSON.stringify(share));
        return runWorker('send', dynamo.endpoint, table, file);
      }),
    );
    const storeCpuAfter = childCpuSeconds('dynalite-server');
    const all = [planned, ...sent];
    const sum = (f: (x: Measured) => number) => all.reduce((total, x) => total + f(x), 0);
    const reads: Record<string, number> = {};
    for (const x of all)
      for (const [name, n] of Object.entries(x.reads)) reads[name] = (reads[name] ?? 0) + n;
    const m = {
      digests: sum((x) => x.digests),
      empty: sum((x) => x.empty),
      failed: sum((x) => x.failed),
      seconds:
        planned.seconds +
        (Math.max(...sent.map((x) => x.endedAt)) - Math.min(...sent.map((x) => x.startedAt))) / 1000,
      reads,
      topicQueries: sum((x) => x.topicQueries),
      bytes: sum((x) => x.bytes),
      peakMB: Math.max(...all.map((x) => x.peakMB)),
      timing: {
        topicMs: sum((x) => x.timing.topicMs),
        recipientsMs: sum((x) => x.timing.recipientsMs),
        composeMs: sum((x) => x.timing.composeMs),
        mimeMs: sum((x) => x.timing.mimeMs),
        ledgerMs: sum((x) => x.timing.ledgerMs),
      },
    };
    console.log(
      `digest: planned ${batches.length} batches in ${planned.seconds.toFixed(2)} s; ${workers} sending workers, each its own process`,
    );
    const digestsPerSec = m.digests / m.seconds;
    const totalReads = Object.values(m.reads).reduce((a, b) => a + b, 0);
    const readsPerDigest = totalReads / Math.max(1, m.digests);
    const readsLine = Object.entries(m.reads)
      .map(([name, count]) => `${name} ${count}`)
      .join(', ');
    console.log(
      `digest: ${m.digests} digests composed in ${m.seconds.toFixed(2)} s: ${digestsPerSec.toFixed(0)} digests/s (target >= 500); ${m.empty} with nothing new, ${m.failed} failed; ${(m.bytes / 1024 / 1024).toFixed(1)} MB of MIME`,
    );
    console.log(
      `digest: DynamoDB reads ${totalReads} (${readsLine}; ${m.topicQueries} of them change-log queries; ${followed} tags followed): ${readsPerDigest.toFixed(3)} per digest`,
    );
    const t = m.timing;
    console.log(
      `digest: time in change reads ${(t.topicMs / 1000).toFixed(1)} s, subscriber reads ${(t.recipientsMs / 1000).toFixed(1)} s, rendering ${(t.composeMs / 1000).toFixed(1)} s, MIME ${(t.mimeMs / 1000).toFixed(1)} s, ledger and cursor writes ${(t.ledgerMs / 1000).toFixed(1)} s (summed over concurrent work)`,
    );
    const composingSeconds = (t.composeMs + t.mimeMs) / 1000;
    console.log(
      `digest: composing alone (rendering and MIME, ${composingSeconds.toFixed(1)} s in all): ${(m.digests / composingSeconds).toFixed(0)} digests/s on one core`,
    );
    // CPU rather than wall time: what a digest costs whatever else the machine is doing.
    const workerCpuMs = sent.reduce((total, x) => total + x.cpuMs, 0) / Math.max(1, m.digests);
    const storeCpuMs =
      storeCpuBefore !== undefined && storeCpuAfter !== undefined
        ? ((storeCpuAfter - storeCpuBefore) * 1000) / Math.max(1, m.digests)
        : undefined;
    const cores = availableParallelism();
    console.log(
      `digest: CPU per digest: ${workerCpuMs.toFixed(2)} ms in the sending workers` +
        (storeCpuMs === undefined
          ? ''
          : `, ${storeCpuMs.toFixed(2)} ms in dynalite; ${cores} cores sustain ${((cores * 1000) / (workerCpuMs + storeCpuMs)).toFixed(0)} digests/s at that cost when nothing else runs`),
    );
    console.log(`digest: peak memory ${m.peakMB.toFixed(0)} MB (target <= 512)`);
    const path = writeResult('digest', {
      digestsPerSec: Math.round(digestsPerSec),
      readsPerDigest: Number(readsPerDigest.toFixed(4)),
      peakMB: Math.round(m.peakMB),
    });
    console.log(`digest: written to ${path}`);
  } finally {
    await dynamo.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

if (process.argv[1] && resolve(process.argv[1]) === SELF && process.argv[2] === '--worker') {
  const [, , , mode, endpoint, table, file] = process.argv;
  if ((mode !== 'plan' && mode !== 'send') || !endpoint || !table || !file) {
    console.error('usage: node --import tsx bench/digest.ts --worker <plan|send> <endpoint> <table> <file>');
    process.exit(2);
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  await worker(mode, endpoint, table, file);
}
