import { makePublishJobs } from '../../shared/adapters/publish-jobs.js';
import type { PublishReport } from '../../shared/services/publish.js';
import type { JobStarted } from '../../shared/services/publish-job.js';
import { fullPublishView, type Progress, type PublishOptions, type PublishStarted } from '../backend.js';
import { CliError } from '../errors.js';
import type { AwsContext } from './context.js';
import { invokeAndWait, invokeLater } from './invoke.js';

/** How often `publish --full --wait` looks at the job's progress. */
const POLL_MS = 5_000;
/**
 * A job with no slice done for this long is stalled (a slice in the dead-letter queue, or throttled
 * workers): longer than a slice may take (the worker's timeout is 10 minutes).
 */
const STALLED_MS = 20 * 60_000;

type Outcome = PublishReport & {
  started?: true;
  cancelled?: Parameters<typeof fullPublishView>[0] | null;
  resumed?: { job: string; resent: number };
} & Partial<JobStarted>;

/** Follows a job until it ends, a bar of its slices on the terminal; its totals as a report. */
const follow = async (ctx: AwsContext, job: string, progress: Progress): Promise<PublishReport> => {
  const jobs = makePublishJobs(ctx.clients.db, ctx.outputs.get('TableName'));
  for (;;) {
    const state = await jobs.get();
    if (!state || state.job !== job) throw new CliError(`the full publish ${job} was replaced by another`);
    const view = fullPublishView(state);
    progress.update(view.slicesDone);
    if (state.status === 'done')
      return {
        written: state.written,
        unchanged: state.unchanged,
        removed: state.removed,
        marksCleared: 0,
        marksKept: 0,
        marksDeferred: 0,
        failed: 0,
      };
    if (state.status === 'cancelled') throw new CliError(`the full publish ${job} was cancelled`);
    if (ctx.now() - Date.parse(state.updatedAt) > STALLED_MS)
      throw new CliError(
        `the full publish ${job} has done no slice since ${state.updatedAt} (${view.slicesDone} of ${view.slices}): a slice may be in the dead-letter queue; \`tidings publish --resume\` sends the slices not done again`,
      );
    await ctx.sleep(POLL_MS);
  }
};

/**
 * Invokes the publisher. `{"full": true}` starts a full publish job (the function plans it and
 * returns; its slice workers do the rest) and, with --wait, follows it to its end; an incremental
 * run is invoked and left to run unless --wait. `--cancel` and `--resume` act on the job under way.
 */
export const publish = async (
  ctx: AwsContext,
  options: PublishOptions,
  progress: Progress,
): Promise<PublishReport | PublishStarted> => {
  const fn = ctx.outputs.get('PublishFunction');
  if (options.cancel) {
    const { cancelled } = (await invokeAndWait(ctx, fn, { cancel: true })) as Outcome;
    return { cancelled: cancelled ? fullPublishView(cancelled) : null };
  }
  if (options.resume) {
    const { resumed } = (await invokeAndWait(ctx, fn, { resume: true })) as Outcome;
    return { resumed: resumed ?? { job: '', resent: 0 } };
  }
  if (options.full) {
    progress.start(1, 'planning the full publish');
    try {
      const outcome = (await invokeAndWait(ctx, fn, { full: true })) as Outcome;
      // A publisher that did the run itself (deployed before jobs) answers with its report.
      if (outcome.started !== true || outcome.job === undefined) return outcome;
      const slices = (outcome.phases ?? []).reduce((sum, n) => sum + n, 0);
      if (!options.wait) {
        const at = new Date(ctx.now()).toISOString();
        return {
          started: true,
          job: {
            job: outcome.job,
            status: 'running',
            phase: 1,
            phases: outcome.phases?.length ?? 0,
            slicesDone: 0,
            slices,
            startedAt: at,
            updatedAt: at,
            written: 0,
            unchanged: 0,
            removed: 0,
          },
        };
      }
      progress.start(slices, 'publishing slices');
      return await follow(ctx, outcome.job, progress);
    } finally {
      progress.stop();
    }
  }
  if (!options.wait) {
    await invokeLater(ctx, fn, {});
    return { started: true };
  }
  progress.start(1, 'publishing what changed');
  try {
    return (await invokeAndWait(ctx, fn, {})) as PublishReport;
  } finally {
    progress.update(1);
    progress.stop();
  }
};
