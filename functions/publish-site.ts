import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { sleep } from '../shared/adapters/items.js';
import type { JobState } from '../shared/adapters/publish-jobs.js';
import { logger } from '../shared/logger.js';
import { flushMetrics, METRIC } from '../shared/metrics.js';
import { RENDER_VERSION } from '../shared/render/version.js';
import { lazy } from '../shared/services/deps.js';
import {
  emptyPublishReport,
  type PublishReport,
  publishAll,
  publishMarked,
} from '../shared/services/publish.js';
import { type PublishFunctionDeps, publishDeps } from '../shared/services/publish-deps.js';
import {
  cancelJob,
  type JobDeps,
  type JobStarted,
  PublishBusyError,
  renderChanged,
  resumeJob,
  startJob,
} from '../shared/services/publish-job.js';
import { feedsChanged, watchFeedWrites } from '../shared/services/websub.js';

/**
 * Invoked by the schedule (incremental) or by hand: `{"full": true}` starts a full publish job,
 * `{"cancel": true}` cancels the one under way, `{"resume": true}` sends a stalled one's slices again.
 */
export type PublishTrigger = Partial<ScheduledEvent> & { full?: boolean; cancel?: boolean; resume?: boolean };

/**
 * A run's report; `skipped` when another run was under way and this one left its work to the
 * next; or the full publish job it started (its workers do the rest).
 */
export type PublishOutcome = PublishReport & {
  skipped?: true;
  /** What `{"cancel": true}` cancelled (null: no job was under way). */
  cancelled?: JobState | null;
  /** What `{"resume": true}` sent again. */
  resumed?: { job: string; resent: number };
} & ({ started?: never } | (JobStarted & { started: true }));

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = { now: () => Date.now(), sleep };

/** A run holds the lease until the function's timeout and this much more: no run outlives it. */
const LEASE_SLACK_MS = 60_000;
/** A full run asked for while another runs waits this long for it, asking every `LEASE_POLL_MS`. */
const FULL_RUN_WAITS_MS = 60_000;
const LEASE_POLL_MS = 2_000;
/**
 * How long before its timeout an incremental run stops taking new work: the time to finish what it
 * took (up to 32 rebuilds under way, each a few reads and writes, or a month's archive), clear their
 * marks, give back the lease and record the report. A run that stops early only leaves more to the
 * next; one its timeout kills mid-write fails, and keeps the lease until it runs out.
 */
const FINISH_MARGIN_MS = 120_000;
/** Lambda's longest timeout: a run's lease when the context does not say how long it has. */
const LONGEST_INVOCATION_MS = 15 * 60_000;

/**
 * When an incremental run stops taking new work: its remaining time less the margin (a quarter of
 * it for a function given less than 8 minutes). None when the context does not say (the publisher
 * then takes its default budget).
 */
export const runDeadline = (now: number, remainingMs: unknown): number | undefined => {
  if (typeof remainingMs !== 'number' || !Number.isFinite(remainingMs) || remainingMs <= 0) return undefined;
  return now + remainingMs - Math.min(FINISH_MARGIN_MS, remainingMs / 4);
};

/**
 * A full publish as a job, when one is asked for, or when the scheduled run finds that no job has
 * rendered the site with the code's render version; undefined when the run goes on as an
 * incremental one (which finds the lease held while a job is under way, and leaves the marks to
 * the runs after it). A full run asked for while a job is under way fails, saying so.
 */
const fullJob = async (deps: JobDeps, full: boolean, clock: Clock): Promise<PublishOutcome | undefined> => {
  const state = await deps.jobs.get();
  if (!full) {
    // A job under way holds the lease, and the incremental run finds it held; a stalled job's
    // lease runs out, and the scheduled runs go on while it waits to be resumed.
    if (!renderChanged(state)) return undefined;
    logger.info('the site was rendered with another render version: a full publish starts', {
      was: state?.renderedVersion,
      now: RENDER_VERSION,
    });
  }
  for (let waited = 0; ; waited += LEASE_POLL_MS) {
    try {
      return { ...emptyPublishReport(), ...(await startJob(deps)), started: true };
    } catch (error) {
      // A scheduled run that finds another run under way leaves the job to the next.
      if (!(error instanceof PublishBusyError)) throw error;
      if (!full) return { ...emptyPublishReport(), skipped: true };
      if (state?.status === 'running' || waited >= FULL_RUN_WAITS_MS) throw error;
    }
    await clock.sleep(LEASE_POLL_MS);
  }
};

/**
 * The publisher: rebuilds the pages and feeds the change stream marked, writing only objects
 * whose bytes changed. Fails the invocation (for alarms) when any rebuild failed. An incremental
 * run stops taking new work `FINISH_MARGIN_MS` before its timeout and leaves the rest marked
 * (`marksDeferred`): not a failure, the next scheduled run goes on with it.
 *
 * One run at a time, through a lease in the table: two runs side by side could write what they
 * read in either order, and the older could land last after the newer cleared the marks that
 * would have fixed it (a run longer than the schedule's rate, or a full run asked for by hand). A
 * scheduled run that finds the lease held leaves the marks to the next; a full run waits a minute
 * for it, then fails.
 */
export const makeHandler = (
  deps: PublishFunctionDeps | (() => PublishFunctionDeps) = publishDeps,
  clock: Clock = realClock,
) => {
  const get = lazy(deps);
  const invocation = middy<PublishTrigger, PublishOutcome>().handler(async (event, context: Context) => {
    const { lease, lastRun, metrics, hubQueue, jobs, sliceQueue, ...deps } = get();
    // The feeds whose bytes this run changed: the WebSub hub pushes them to their subscribers.
    const changedFeeds = new Set<string>();
    const run = hubQueue
      ? { ...deps, objects: watchFeedWrites(deps.objects, (path) => changedFeeds.add(path)) }
      : deps;
    const started = clock.now();
    const full = event.full === true;
    if (event.cancel === true || event.resume === true) {
      if (!jobs || !sliceQueue) throw new Error('this publisher runs no full publish jobs');
      const job: JobDeps = { ...run, jobs, lease, queue: sliceQueue, now: () => clock.now() };
      return event.cancel === true
        ? { ...emptyPublishReport(), cancelled: (await cancelJob(job)) ?? null }
        : { ...emptyPublishReport(), resumed: await resumeJob(job) };
    }
    if (jobs && sliceQueue) {
      const job = await fullJob(
        { ...run, jobs, lease, queue: sliceQueue, now: () => clock.now() },
        full,
        clock,
      );
      if (job) return job;
    }
    const holder = context.awsRequestId;
    const remaining = context.getRemainingTimeInMillis?.();
    const take = () => {
      const now = clock.now();
      const left =
        typeof remaining === 'number' && Number.isFinite(remaining) && remaining > 0
          ? context.getRemainingTimeInMillis()
          : LONGEST_INVOCATION_MS;
      return lease.take(holder, now, now + left + LEASE_SLACK_MS);
    };
    let taken = await take();
    for (let waited = 0; !taken && full && waited < FULL_RUN_WAITS_MS; waited += LEASE_POLL_MS) {
      await clock.sleep(LEASE_POLL_MS);
      taken = await take();
    }
    if (!taken) {
      if (full)
        throw new Error('another publish run is under way; ask for the full publish again once it ends');
      logger.info('another publish run is under way; its marks wait for the next run');
      return { ...emptyPublishReport(), skipped: true };
    }
    let report: PublishReport;
    try {
      report = full
        ? await publishAll(run)
        : await publishMarked(run, {
            deadline: runDeadline(clock.now(), context.getRemainingTimeInMillis?.()),
            now: () => clock.now(),
          });
    } finally {
      await lease.release(holder).catch((error: unknown) =>
        // It runs out on its own: the next run after that goes ahead.
        logger.warn('could not give back the publish lease', { error: error as Error }),
      );
    }
    logger.info('published', { ...report, full });
    if (hubQueue && changedFeeds.size > 0)
      await feedsChanged(hubQueue, changedFeeds).catch((error: unknown) =>
        // The feeds are written; readers who poll see them, only the push is lost.
        logger.error('could not hand the changed feeds to the WebSub hub', { error: error as Error }),
      );
    const ended = clock.now();
    await lastRun
      ?.recordPublish({
        ...report,
        full,
        at: new Date(ended).toISOString(),
        seconds: (ended - started) / 1000,
      })
      .catch((error: unknown) =>
        // The run's work is done; only `tidings status` misses it.
        logger.warn('could not record the publish report', { error: error as Error }),
      );
    // A run with nothing to do records nothing: an idle site costs no custom metric.
    if (report.written + report.unchanged + report.removed + report.failed > 0) {
      metrics?.count(METRIC.objectsWritten, report.written);
      metrics?.count(METRIC.objectsUnchanged, report.unchanged);
      metrics?.duration(METRIC.publishDuration, ended - started);
    }
    if (report.failed > 0)
      throw new Error(`${report.failed} rebuilds failed; their marks stay for the next run`);
    return report;
  });
  return invocation.use(flushMetrics());
};

export const handler = makeHandler();
