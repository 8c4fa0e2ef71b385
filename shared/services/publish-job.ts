import { emptyPublishReport, type PublishDeps, type PublishReport } from './publish-output.js';
import { newJobId, planJob, slicesOf } from './publish-plan.js';
import { addReport } from './publish-run.js';
import { runSlice, type SliceCache, sliceLabel } from './publish-slices.js';

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
  const cache: SliceCache = { job: plan.job, tags: new Map() };
  const report = emptyPublishReport();
  const slices = slicesOf(plan);
  for (const [done, { slice }] of slices.entries()) {
    addReport(report, await runSlice(deps, plan, slice, cache));
    options.progress?.(done + 1, slices.length, sliceLabel(slice));
  }
  return report;
};
