import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createDocumentClient } from '../shared/adapters/dynamodb.js';
import { makeEventStore } from '../shared/adapters/event-store.js';
import { SLICE_WORKER_NODE_FLAGS } from '../shared/config.js';
import type { SiteConfig } from '../shared/domain/site.js';
import {
  emptyPublishReport,
  type PublishDeps,
  type PublishReport,
} from '../shared/services/publish-output.js';
import {
  type JobPlan,
  newJobId,
  planJob,
  planKey,
  readPlan,
  sliceSize,
  slicesOf,
  writePlan,
} from '../shared/services/publish-plan.js';
import { addReport } from '../shared/services/publish-run.js';
import { runSlice, sliceLabel } from '../shared/services/publish-slices.js';
import { watchFeedWrites } from '../shared/services/websub.js';
import { makeFolderObjectStore } from './site-folder.js';

/*
 * The full publish on this machine: the job's plan, made here, and its slices done by worker
 * processes (one per core by default), phase after phase, as the slice workers do them in AWS.
 */

const WORKER_SCRIPT = fileURLToPath(new URL('./publish-worker.ts', import.meta.url));

/** What a worker is told when it starts: where the store and the site folder are. */
interface WorkerSetup {
  endpoint: string;
  tableName: string;
  siteDir: string;
  site: SiteConfig;
}

type ToWorker = { kind: 'slice'; job: string; slice: number } | { kind: 'stop' };
type FromWorker =
  | {
      kind: 'done';
      slice: number;
      report: PublishReport;
      feeds: string[];
      seconds: number;
      cpuSeconds: number;
    }
  | { kind: 'failed'; slice: number; error: string }
  | { kind: 'stats'; peakMB: number; cpuSeconds: number };

/** A worker process as the parent sees it, after it stopped. */
export interface WorkerFigures {
  pid: number;
  slices: number;
  peakMB: number;
  cpuSeconds: number;
}

/** A slice as a worker did it: for the benchmark's model of AWS. */
export interface SliceFigures {
  slice: number;
  label: string;
  kind: 'month' | 'tags' | 'site';
  /** Events of a month slice (its pages, or its month for its archive), tags of a tags slice. */
  size: number;
  seconds: number;
  cpuSeconds: number;
}

export interface WorkerPoolOptions extends WorkerSetup {
  /** Worker processes (default: one per core). */
  workers?: number;
  /** Node options of the worker processes, besides loading tsx (default: the slice worker's in AWS). */
  nodeFlags?: string[];
  progress?: (done: number, total: number, label: string) => void;
  /** The feeds whose bytes a slice changed (for the WebSub hub). */
  feedChanged?: (path: string) => void;
  now?: () => Date;
}

export interface PoolReport extends PublishReport {
  workers: WorkerFigures[];
  slices: SliceFigures[];
  /** The plan's part: reading every event's summary. */
  planSeconds: number;
}

/** Times a slice is tried before the run fails: a slice that failed once is tried again alone. */
const SLICE_ATTEMPTS = 2;

const startWorker = (setup: WorkerSetup, flags: readonly string[]): ChildProcess =>
  fork(WORKER_SCRIPT, [], {
    // The sources are TypeScript: tsx compiles them as they are imported, as under `npm start`.
    execArgv: [...flags, '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, TIDINGS_PUBLISH_WORKER: JSON.stringify(setup) },
  });

/**
 * Plans a full publish and has `workers` processes do its slices, phase after phase (event pages,
 * then tags, then the site, which link to them), each worker a slice at a time. A slice that fails
 * is tried once more, alone; failing again, the run stops and fails. The plan is removed at the end.
 */
export const publishWithWorkers = async (
  deps: PublishDeps,
  options: WorkerPoolOptions,
): Promise<PoolReport> => {
  const at = options.now?.() ?? new Date();
  const planStarted = performance.now();
  const plan = await planJob(deps, newJobId(at), at);
  const planSeconds = (performance.now() - planStarted) / 1000;
  await writePlan(deps.objects, plan);
  const entries = slicesOf(plan);
  const count = Math.max(1, Math.min(options.workers ?? availableParallelism(), entries.length));
  const setup: WorkerSetup = {
    endpoint: options.endpoint,
    tableName: options.tableName,
    siteDir: options.siteDir,
    site: options.site,
  };
  const children = Array.from({ length: count }, () =>
    startWorker(setup, options.nodeFlags ?? SLICE_WORKER_NODE_FLAGS),
  );
  const report: PoolReport = { ...emptyPublishReport(), workers: [], slices: [], planSeconds };
  const sliceCounts = new Map<ChildProcess, number>();
  let done = 0;
  let failure: Error | undefined;
  try {
    for (let phase = 0; phase < plan.phases.length && !failure; phase++) {
      const waiting = entries.filter((e) => e.phase === phase).map((e) => e.number);
      const tries = new Map<number, number>();
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve, reject) => {
              const next = () => {
                const slice = failure ? undefined : waiting.shift();
                if (slice === undefined) {
                  child.off('message', answer);
                  child.off('exit', exited);
                  resolve();
                  return;
                }
                tries.set(slice, (tries.get(slice) ?? 0) + 1);
                child.send({ kind: 'slice', job: plan.job, slice } satisfies ToWorker);
              };
              const answer = (message: FromWorker) => {
                if (message.kind === 'done') {
                  addReport(report, message.report);
                  for (const path of message.feeds) options.feedChanged?.(path);
                  const entry = entries[message.slice];
                  const label = entry ? sliceLabel(entry.slice) : String(message.slice);
                  report.slices.push({
                    slice: message.slice,
                    label,
                    kind: entry?.slice.kind ?? 'site',
                    size: entry ? sliceSize(plan, entry.slice) : 0,
                    seconds: message.seconds,
                    cpuSeconds: message.cpuSeconds,
                  });
                  sliceCounts.set(child, (sliceCounts.get(child) ?? 0) + 1);
                  done++;
                  options.progress?.(done, entries.length, label);
                } else if (message.kind === 'failed') {
                  if ((tries.get(message.slice) ?? 0) < SLICE_ATTEMPTS) waiting.push(message.slice);
                  else
                    failure ??= new Error(
                      `slice ${message.slice} of the full publish failed: ${message.error}`,
                    );
                }
                if (message.kind !== 'stats') next();
              };
              const exited = (code: number | null) =>
                reject(new Error(`a publish worker stopped (exit code ${code}) during the full publish`));
              child.on('message', answer);
              child.once('exit', exited);
              next();
            }),
        ),
      );
    }
    if (failure) throw failure;
  } finally {
    report.workers = await Promise.all(
      children.map(
        (child) =>
          new Promise<WorkerFigures>((resolve) => {
            const figures: WorkerFigures = {
              pid: child.pid ?? 0,
              slices: sliceCounts.get(child) ?? 0,
              peakMB: 0,
              cpuSeconds: 0,
            };
            if (child.exitCode !== null) return resolve(figures);
            child.on('message', (message: FromWorker) => {
              if (message.kind !== 'stats') return;
              figures.peakMB = message.peakMB;
              figures.cpuSeconds = message.cpuSeconds;
            });
            child.once('exit', () => resolve(figures));
            child.send({ kind: 'stop' } satisfies ToWorker);
          }),
      ),
    );
    await deps.objects.remove(planKey(plan.job)).catch(() => false);
  }
  return report;
};

/** A worker process's loop (local/publish-worker.ts): a slice per message, until told to stop. */
export const runWorker = async (): Promise<void> => {
  const setup = JSON.parse(process.env.TIDINGS_PUBLISH_WORKER ?? '{}') as WorkerSetup;
  const db = createDocumentClient({ endpoint: setup.endpoint });
  const folder = makeFolderObjectStore(setup.siteDir);
  const store = makeEventStore(db, setup.tableName);
  let plan: { job: string; plan: Promise<JobPlan | undefined> } | undefined;
  const send = (message: FromWorker, then: () => void = () => undefined) => process.send?.(message, then);
  let working = Promise.resolve();
  process.on('message', (message: ToWorker) => {
    working = working.then(async () => {
      if (message.kind === 'stop') {
        const usage = process.resourceUsage();
        send(
          {
            kind: 'stats',
            peakMB: usage.maxRSS / 1024,
            cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
          },
          () => process.exit(0),
        );
        return;
      }
      const feeds = new Set<string>();
      const objects = watchFeedWrites(folder, (path) => feeds.add(path));
      const deps: PublishDeps = { store, objects, site: setup.site };
      try {
        if (plan?.job !== message.job)
          plan = { job: message.job, plan: readPlan(folder, setup.site, message.job) };
        const read = await plan.plan;
        const entry = read && slicesOf(read)[message.slice];
        if (!read || !entry) throw new Error(`job ${message.job} has no slice ${message.slice}`);
        const started = performance.now();
        const cpu = process.cpuUsage();
        const report = await runSlice(deps, read, entry.slice);
        const used = process.cpuUsage(cpu);
        send({
          kind: 'done',
          slice: message.slice,
          report,
          feeds: [...feeds],
          seconds: (performance.now() - started) / 1000,
          cpuSeconds: (used.user + used.system) / 1e6,
        });
      } catch (error) {
        send({ kind: 'failed', slice: message.slice, error: (error as Error).message });
      }
    });
  });
};
