import type { DigestStarted, Progress } from '../backend.js';
import type { AwsContext } from './context.js';
import { invokeAndWait } from './invoke.js';

/**
 * Starts a digest run with plan-digests, as the schedule does (`now` ends the window now rather
 * than at the scheduled hour). The planner answers at once; send-digests works through the queue.
 */
export const digest = async (
  ctx: AwsContext,
  options: { now: boolean; cadence: 'daily' | 'weekly' },
  _progress: Progress,
): Promise<DigestStarted> => {
  const out = (await invokeAndWait(ctx, ctx.outputs.get('PlanDigestsFunction'), {
    cadence: options.cadence,
    now: options.now,
  })) as { cadence?: 'daily' | 'weekly'; end?: string } | undefined;
  return {
    started: true,
    cadence: out?.cadence ?? options.cadence,
    ...(out?.end ? { windowEnd: out.end } : {}),
  };
};
