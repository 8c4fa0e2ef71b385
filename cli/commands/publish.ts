import type { Command } from '../command.js';
import { CliError } from '../errors.js';

export const publishCommands: Command[] = [
  {
    name: 'publish',
    summary: 'rebuild the site and feeds (what changed, or everything with --full)',
    usage: 'publish [--full] [--wait] | publish --cancel | publish --resume',
    help: `Rebuilds the pages and feeds of what changed since the last run, or everything with --full.

  --full     rebuild everything: locally on worker processes (one per core, TIDINGS_PUBLISH_WORKERS),
             in AWS as a job whose slices the slice workers do (follow it with \`tidings status\`)
  --wait     in AWS, wait for the run (with --full, for the whole job) and print its report
             (locally it always waits)
  --cancel   in AWS, cancel the full publish job under way
  --resume   in AWS, send the slices of a stalled job (one in the dead-letter queue) again`,
    options: {
      full: { type: 'boolean' },
      wait: { type: 'boolean' },
      cancel: { type: 'boolean' },
      resume: { type: 'boolean' },
    },
    async run(ctx) {
      const full = ctx.values.full === true;
      const cancel = ctx.values.cancel === true;
      const resume = ctx.values.resume === true;
      if ([full, cancel, resume].filter(Boolean).length > 1)
        throw new CliError('--full, --cancel and --resume go alone', { usage: true });
      const started = performance.now();
      const report = await (await ctx.backend()).publish(
        { full, wait: ctx.values.wait === true, cancel, resume },
        ctx.progress,
      );
      if ('cancelled' in report)
        return {
          result: report,
          text: report.cancelled
            ? `cancelled the full publish ${report.cancelled.job} at ${report.cancelled.slicesDone} of ${report.cancelled.slices} slices; its pages are a mix of old and new until the next full publish`
            : 'no full publish was under way',
        };
      if ('resumed' in report)
        return {
          result: report,
          text:
            report.resumed.resent > 0
              ? `resumed the full publish ${report.resumed.job}: ${report.resumed.resent} slices sent again`
              : `the full publish ${report.resumed.job} had every slice of its phase done: moved on`,
        };
      if ('started' in report)
        return {
          result: report,
          text: report.job
            ? `full publish ${report.job.job} started: ${report.job.slices} slices in ${report.job.phases} phases; follow it with \`tidings status\`, cancel it with \`tidings publish --cancel\``
            : `publish${full ? ' --full' : ''} started`,
        };
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      return {
        result: report,
        text: `published${full ? ' everything' : ''} in ${seconds} s: ${report.written} written, ${report.unchanged} unchanged, ${report.removed} removed, ${report.marksCleared} marks cleared${report.marksDeferred > 0 ? `, ${report.marksDeferred} left for the next run (its time budget)` : ''}${report.archive ? `; the archive ${report.archive.documents} feed documents and ${report.archive.pages} pages in ${(report.archive.milliseconds / 1000).toFixed(1)} s` : ''}${report.failed > 0 ? `, ${report.failed} FAILED` : ''}`,
        exitCode: report.failed > 0 ? 1 : 0,
      };
    },
  },
  {
    name: 'digest',
    summary: 'send the digests that are due',
    usage: 'digest [--now] [--cadence daily|weekly]',
    help: `Sends the digests that are due (locally to the outbox, <data>/outbox, listed at /local/outbox).
Each window ends at its subscriber's latest delivery time in their zone (their own, or
DIGEST_HOUR and DIGEST_WEEKDAY in DEFAULT_TIME_ZONE), or at this moment with --now.

  --now                      windows end now
  --cadence daily|weekly     which digests (default daily)`,
    options: { now: { type: 'boolean' }, cadence: { type: 'string', default: 'daily' } },
    async run(ctx) {
      const cadence = ctx.values.cadence;
      if (cadence !== 'daily' && cadence !== 'weekly') {
        throw new CliError(`--cadence must be daily or weekly (got ${String(cadence)})`, { usage: true });
      }
      const started = performance.now();
      const report = await (await ctx.backend()).digest(
        { now: ctx.values.now === true, cadence },
        ctx.progress,
      );
      if ('started' in report) return { result: report, text: `${cadence} digests started` };
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      return {
        result: report,
        text: `${cadence} digests in ${seconds} s: ${report.sent} sent, ${report.empty} with nothing new, ${report.duplicates} already sent, ${report.skipped} not due${report.failed > 0 ? `, ${report.failed} FAILED (retried)` : ''}`,
        exitCode: report.failed > 0 ? 1 : 0,
      };
    },
  },
];
