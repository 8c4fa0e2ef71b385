import type { Lease } from '../adapters/lease.js';
import { type JobState, type PublishJobs, slicesThrough } from '../adapters/publish-jobs.js';
import { logger } from '../logger.js';
import { RENDER_VERSION } from '../render/version.js';
import { emptyPublishReport, type PublishDeps, type PublishReport } from './publish-output.js';
import { type JobPlan, newJobId, planJob, planKey, readPlan, slicesOf, writePlan } from './publish-plan.js';
import { addReport } from './publish-run.js';
import { runSlice, sliceLabel } from './publish-slices.js';

/*
 * The full publish as a job: a plan (publish-plan.ts) and its slices (publish-slices.ts), phase
 * after phase. `publishAll` runs them in this process; the job's workers run them elsewhere: Lambda
 * functions fed by a queue in AWS (functions/publish-slice.ts), worker processes locally
 * (local/publish-workers.ts).
 */

export interface FullPublishOptions {
  now?: () => Date;
  /** Told of each slice done: how many of how many, and what it was. */
  progress?: (done: number, total: number, label: string) => void;
}

/**
 * Rebuilds everything from the store (`npm run publish -- --full` without workers, and the tests),
 * its plan's slices one after the other in this process; unchanged bytes are still not rewritten.
 * Fails with the first slice that fails (a run again does it all again, writing only what differs).
 */
export const publishAll = async (
  deps: PublishDeps,
  options: FullPublishOptions = {},
): Promise<PublishReport> => {
  const at = options.now?.() ?? new Date();
  const plan = await planJob(deps, newJobId(at), at);
  const report = emptyPublishReport();
  const slices = slicesOf(plan);
  for (const [done, { slice }] of slices.entries()) {
    addReport(report, await runSlice(deps, plan, slice));
    options.progress?.(done + 1, slices.length, sliceLabel(slice));
  }
  return report;
};

/** A slice of a job, as its queue carries it: the job's id and the slice's number in its plan. */
export interface SliceMessage {
  job: string;
  slice: number;
}

/** Where a job's slices wait for a worker: SQS in AWS. */
export interface SliceQueue {
  send(messages: readonly SliceMessage[]): Promise<void>;
}

/** What a job's planner and workers need besides a run's deps. */
export interface JobDeps extends PublishDeps {
  jobs: PublishJobs;
  queue: SliceQueue;
  /** The publisher's lease: a job holds it from its plan to its last slice, so no incremental run overlaps. */
  lease: Lease;
  now?: () => number;
}

/**
 * How long a job holds the publish lease after a slice starts: longer than a slice may take (the
 * worker's timeout is 10 minutes). A stalled job (a slice in the dead-letter queue) lets
 * incremental runs go on after this; `tidings publish --resume` takes the lease back.
 */
export const JOB_LEASE_MS = 20 * 60_000;

/** A job or a run under way stops another from starting: the message says what to do. */
export class PublishBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishBusyError';
  }
}

const clock = (deps: Pick<JobDeps, 'now'>): number => deps.now?.() ?? Date.now();
const iso = (ms: number): string => new Date(ms).toISOString();

const messagesOf = (plan: JobPlan, phase: number): SliceMessage[] =>
  slicesOf(plan)
    .filter((entry) => entry.phase === phase)
    .map((entry) => ({ job: plan.job, slice: entry.number }));

/** What a job is, as the planner started it. */
export interface JobStarted {
  job: string;
  slices: number;
  phases: number[];
  events: number;
}

/**
 * Starts a full publish job: takes the publisher's lease, plans, keeps the plan under `_publish/`,
 * records the job and hands the first phase's slices to the queue; the workers do the rest. Fails
 * (`PublishBusyError`) while a job or another run is under way.
 */
export const startJob = async (deps: JobDeps): Promise<JobStarted> => {
  const running = await deps.jobs.get();
  if (running?.status === 'running')
    throw new PublishBusyError(
      `a full publish is under way (job ${running.job}, ${running.slicesDone} of ${slicesThrough(running, running.phases.length - 1)} slices done): follow it with \`tidings status\`, or \`tidings publish --cancel\``,
    );
  const at = clock(deps);
  const job = newJobId(new Date(at));
  if (!(await deps.lease.take(job, at, at + JOB_LEASE_MS)))
    throw new PublishBusyError(
      'another publish run is under way; ask for the full publish again once it ends',
    );
  try {
    const plan = await planJob(deps, job, new Date(at));
    await writePlan(deps.objects, plan);
    const phases = plan.phases.map((slices) => slices.length);
    if (!(await deps.jobs.start(job, phases, plan.renderVersion, iso(at))))
      throw new PublishBusyError('another full publish started meanwhile: follow it with `tidings status`');
    await deps.queue.send(messagesOf(plan, 0));
    logger.info('full publish planned', { job, events: plan.events, phases });
    return { job, slices: slicesOf(plan).length, phases, events: plan.events };
  } catch (error) {
    await deps.lease.release(job).catch(() => undefined);
    throw error;
  }
};

/** What a worker did with a slice's message. */
export type SliceOutcome =
  | { kind: 'done'; report: PublishReport; finished: boolean }
  | { kind: 'dropped'; reason: string };

/**
 * Plans read by this process, by job: a worker's slices of one job read it once. Kept for the last
 * job only (a few bytes per day, tag and month).
 */
let planCache: { job: string; plan: Promise<JobPlan | undefined> } | undefined;

const planOf = (deps: PublishDeps, job: string): Promise<JobPlan | undefined> => {
  if (planCache?.job !== job) {
    const plan = readPlan(deps.objects, deps.site, job);
    plan.catch(() => undefined);
    planCache = { job, plan };
  }
  return planCache.plan;
};

/** Moves a job on once a phase's last slice is done: the next phase's slices, or the job's end. */
const nextPhase = async (deps: JobDeps, plan: JobPlan, phase: number): Promise<boolean> => {
  if (phase + 1 >= plan.phases.length) {
    const finished = await deps.jobs.finish(plan.job, iso(clock(deps)));
    if (finished) {
      await deps.lease.release(plan.job);
      // Its slices are done: a message delivered late finds the job done and no plan.
      await deps.objects.remove(planKey(plan.job)).catch(() => false);
      logger.info('full publish done', { job: plan.job });
    }
    return finished;
  }
  if (await deps.jobs.advance(plan.job, phase)) await deps.queue.send(messagesOf(plan, phase + 1));
  return false;
};

/**
 * Does one slice of a job (a worker's message), and moves the job on when it was its phase's last.
 * A message of a job that is no longer running (done, cancelled, replaced) is dropped. Fails,
 * for the queue to retry the slice alone, when the slice fails or the lease is another run's.
 */
export const handleSliceMessage = async (deps: JobDeps, message: SliceMessage): Promise<SliceOutcome> => {
  const state = await deps.jobs.get();
  if (!state || state.job !== message.job || state.status !== 'running')
    return { kind: 'dropped', reason: `job ${message.job} is not running` };
  const plan = await planOf(deps, message.job);
  const entry = plan && slicesOf(plan)[message.slice];
  if (!plan || !entry) return { kind: 'dropped', reason: `job ${message.job} has no slice ${message.slice}` };
  if (entry.phase > state.phase)
    throw new Error(`slice ${message.slice} of job ${message.job} came before its phase`);
  const at = clock(deps);
  if (!(await deps.lease.take(plan.job, at, at + JOB_LEASE_MS)))
    throw new PublishBusyError('another publish run holds the lease; the slice is retried');
  const report = await runSlice(deps, plan, entry.slice);
  const done = await deps.jobs.sliceDone(plan.job, entry.number, entry.phase, report, iso(clock(deps)));
  const finished = done?.phaseDone ? await nextPhase(deps, plan, entry.phase) : false;
  return { kind: 'done', report, finished };
};

/**
 * Goes on with a stalled job (a slice in the dead-letter queue, a worker lost): sends again the
 * current phase's slices not counted done (a slice still under way may run twice: it writes the
 * same bytes), or moves on when they all are. Fails when no job is running.
 */
export const resumeJob = async (deps: JobDeps): Promise<{ job: string; resent: number }> => {
  const state = await deps.jobs.get();
  if (state?.status !== 'running') throw new PublishBusyError('no full publish is under way');
  const at = clock(deps);
  if (!(await deps.lease.take(state.job, at, at + JOB_LEASE_MS)))
    throw new PublishBusyError('another publish run is under way; resume once it ends');
  const plan = await planOf(deps, state.job);
  if (!plan) throw new Error(`the plan of job ${state.job} is gone; start a new full publish`);
  const done = await deps.jobs.slicesDone(state.job);
  const left = messagesOf(plan, state.phase).filter((m) => !done.has(m.slice));
  if (left.length === 0) await nextPhase(deps, plan, state.phase);
  else await deps.queue.send(left);
  return { job: state.job, resent: left.length };
};

/** Cancels the job under way: its slices left are dropped by the workers, the lease given back. */
export const cancelJob = async (
  deps: Pick<JobDeps, 'jobs' | 'lease' | 'now'>,
): Promise<JobState | undefined> => {
  const state = await deps.jobs.cancel(iso(clock(deps)));
  if (state) await deps.lease.release(state.job);
  return state;
};

/**
 * Whether the scheduled publisher starts a full publish instead of an incremental run: no job has
 * been started with the code's render version (a deploy changed how pages or feeds are rendered,
 * or this is the first deploy). A job of this version that was cancelled is not started again.
 */
export const renderChanged = (state: JobState | undefined): boolean =>
  state === undefined || state.renderVersion !== RENDER_VERSION;
