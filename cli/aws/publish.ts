import type { PublishReport } from '../../shared/services/publish.js';
import type { Progress } from '../backend.js';
import type { AwsContext } from './context.js';
import { invokeAndWait, invokeLater } from './invoke.js';

/** Invokes the publisher: `{"full": true}` rebuilds everything; without --wait it runs on its own. */
export const publish = async (
  ctx: AwsContext,
  options: { full: boolean; wait: boolean },
  progress: Progress,
): Promise<PublishReport | { started: true }> => {
  const fn = ctx.outputs.get('PublishFunction');
  const payload = options.full ? { full: true } : {};
  if (!options.wait) {
    await invokeLater(ctx, fn, payload);
    return { started: true };
  }
  progress.start(1, options.full ? 'publishing the whole site' : 'publishing what changed');
  try {
    return (await invokeAndWait(ctx, fn, payload)) as PublishReport;
  } finally {
    progress.update(1);
    progress.stop();
  }
};
