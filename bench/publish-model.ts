/**
 * The full publish in AWS, modelled (`npm run bench -- publish` runs it in a process of its own,
 * after the measured runs): the plan and a sample of its slices run here against the benchmark's
 * store and an empty folder, every request made to wait as long as AWS would take
 * (bench/aws-model.ts), each slice a cold worker (no tag listing read before). Every slice of
 * the plan is then given the time its kind took per event (or per tag) in the sample, and the
 * phases are scheduled on W workers. Larger archives are extrapolated the same way: the days'
 * events multiplied, the months cut into slices as the planner would, never run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeFolderObjectStore } from '../local/site-folder.js';
import { createDocumentClient } from '../shared/adapters/dynamodb.js';
import { makeEventStore } from '../shared/adapters/event-store.js';
import type { SiteConfig } from '../shared/domain/site.js';
import type { PublishDeps } from '../shared/services/publish-output.js';
import {
  type JobPlan,
  monthSlices,
  planJob,
  planText,
  type Slice,
  sliceSize,
} from '../shared/services/publish-plan.js';
import { runSlice } from '../shared/services/publish-slices.js';
import {
  extrapolate,
  type KindFit,
  lambdaSeconds,
  modelDocumentClient,
  modelObjectStore,
  scheduleJob,
} from './aws-model.js';

/** The slice worker's memory (infra/constructs/publisher.ts): one vCPU. */
export const WORKER_MEMORY_MB = 1769;

export interface ModelledSlice {
  kind: string;
  label: string;
  size: number;
  wallSeconds: number;
  cpuSeconds: number;
  /** In a Lambda of WORKER_MEMORY_MB. */
  seconds: number;
  requests: Record<string, number>;
}

export interface ModelledJob {
  slices: number;
  /** The plan's read of every summary, then the phases on the workers. */
  seconds: number;
  planSeconds: number;
  perPhase: number[];
  longestSlice: number;
}

export interface ModelResult {
  workers: number;
  /** The plan as kept (JSON bytes): the compact index every slice reads. */
  planBytes: number;
  /** Distinct events among the tags' newest, which the plan keeps as summaries. */
  headEvents: number;
  measured: ModelledSlice[];
  fits: Record<string, KindFit>;
  job: ModelledJob;
  /** The same corpus with every day's events multiplied by `scale`. */
  projected: ModelledJob & { events: number; scale: number };
}

/** A slice's kind for the model: a month's pages and archive together, or one of them. */
const kindOf = (slice: Slice): string =>
  slice.kind !== 'month'
    ? slice.kind
    : slice.pages && slice.archive
      ? 'month'
      : slice.pages
        ? 'month-pages'
        : 'month-archive';

const measure = async <T>(
  work: () => Promise<T>,
): Promise<{ value: T; wallSeconds: number; cpuSeconds: number }> => {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await work();
  const used = process.cpuUsage(cpu);
  return {
    value,
    wallSeconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
  };
};

/** The months of a plan, cut as the planner cuts them, with every day's events multiplied by `scale`. */
const scaledMonths = (plan: Pick<JobPlan, 'counts'>, scale: number): Slice[] => {
  const byMonth = new Map<string, [string, number][]>();
  for (const day of Object.keys(plan.counts.days).sort().reverse()) {
    const days = byMonth.get(day.slice(0, 7)) ?? [];
    byMonth.set(day.slice(0, 7), days);
    days.push([day, (plan.counts.days[day] as number) * scale]);
  }
  return [...byMonth.entries()].flatMap(([month, days]) => monthSlices(month, days));
};

export const modelFullPublish = async (options: {
  endpoint: string;
  tableName: string;
  site: SiteConfig;
  /** An empty folder: each sample slice writes into a folder of its own in it, so every object is new. */
  dir: string;
  workers?: number;
  scale?: number;
  log?: (line: string) => void;
}): Promise<ModelResult> => {
  const workers = options.workers ?? 20;
  const scale = options.scale ?? 10;
  const log = options.log ?? (() => undefined);
  const raw = createDocumentClient({ endpoint: options.endpoint });
  const depsFor = (name: string) => {
    const db = modelDocumentClient(raw);
    const folder = join(options.dir, name);
    mkdirSync(folder, { recursive: true });
    const objects = modelObjectStore(makeFolderObjectStore(folder));
    const deps: PublishDeps = {
      store: makeEventStore(db.db, options.tableName),
      objects: objects.objects,
      site: options.site,
    };
    return { deps, requests: () => ({ ...db.stats().requests, ...objects.stats().requests }) };
  };

  const planned = depsFor('plan');
  const planRun = await measure(() => planJob(planned.deps, 'model', new Date()));
  const plan = planRun.value;
  const planSeconds = lambdaSeconds(planRun, WORKER_MEMORY_MB);
  log(`plan of ${plan.events} events: ${planSeconds.toFixed(1)} s (${planRun.cpuSeconds.toFixed(1)} s CPU)`);

  // The sample: the smallest, the middle and the largest month whole; the middle month's pages and
  // archive apart (a busy month's slices); the first and last tags slices; the site.
  const months = [...(plan.phases[0] ?? [])]
    .filter((s): s is Extract<Slice, { kind: 'month' }> => s.kind === 'month')
    .sort((a, b) => sliceSize(plan, a) - sliceSize(plan, b));
  const middle = months[Math.floor(months.length / 2)];
  const tags = plan.phases[1] ?? [];
  const days = (month: string) =>
    Object.keys(plan.counts.days)
      .filter((d) => d.startsWith(month))
      .sort();
  const sample: Slice[] = [
    ...new Set([months[0], middle, months.at(-1)].filter((s) => s !== undefined)),
    ...(middle
      ? [
          {
            ...middle,
            from: days(middle.month)[0] as string,
            to: days(middle.month).at(-1) as string,
            archive: false,
          },
          { ...middle, pages: false },
        ]
      : []),
    ...new Set([tags[0], tags.at(-1)].filter((s) => s !== undefined)),
    { kind: 'site' },
  ];
  const measured: ModelledSlice[] = [];
  for (const [i, slice] of sample.entries()) {
    const { deps, requests } = depsFor(`slice-${i}`);
    const run = await measure(() => runSlice(deps, plan, slice));
    const entry: ModelledSlice = {
      kind: kindOf(slice),
      label:
        `${kindOf(slice)} ${slice.kind === 'month' ? slice.month : slice.kind === 'tags' ? `${slice.slugs[0]}..` : ''}`.trim(),
      size: sliceSize(plan, slice),
      wallSeconds: run.wallSeconds,
      cpuSeconds: run.cpuSeconds,
      seconds: lambdaSeconds(run, WORKER_MEMORY_MB),
      requests: requests(),
    };
    measured.push(entry);
    log(
      `slice ${entry.label} (${entry.size} ${entry.kind === 'tags' ? 'tags' : 'events'}): ${entry.seconds.toFixed(1)} s modelled ` +
        `(${entry.cpuSeconds.toFixed(1)} s CPU); requests ${Object.entries(entry.requests)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
    );
  }

  const schedule = (phases: Slice[][], ofPlan: Pick<JobPlan, 'counts'>) => {
    const planned = phases.map((slices) =>
      slices.map((slice) => ({ kind: kindOf(slice), size: sliceSize(ofPlan, slice) })),
    );
    const { fits, slices } = extrapolate(measured, planned.flat());
    let at = 0;
    const durations = planned.map((phase) => phase.map(() => (slices[at++] as { seconds: number }).seconds));
    return { fits, run: scheduleJob(durations, workers), count: at };
  };
  const now = schedule(plan.phases, plan);
  const scaledCounts = {
    ...plan.counts,
    days: Object.fromEntries(Object.entries(plan.counts.days).map(([d, n]) => [d, n * scale])),
  };
  const bigger = schedule([scaledMonths(plan, scale), plan.phases[1] ?? [], [{ kind: 'site' }]], {
    counts: scaledCounts,
  });
  // The plan reads every summary: as many more requests and as much more work as events.
  const biggerPlanSeconds = planSeconds * scale;
  return {
    workers,
    planBytes: Buffer.byteLength(planText(plan)),
    headEvents: plan.headEvents.length,
    measured,
    fits: now.fits,
    job: {
      slices: now.count,
      planSeconds,
      seconds: planSeconds + now.run.seconds,
      perPhase: now.run.perPhase,
      longestSlice: now.run.longestSlice,
    },
    projected: {
      events: plan.events * scale,
      scale,
      slices: bigger.count,
      planSeconds: biggerPlanSeconds,
      seconds: biggerPlanSeconds + bigger.run.seconds,
      perPhase: bigger.run.perPhase,
      longestSlice: bigger.run.longestSlice,
    },
  };
};
