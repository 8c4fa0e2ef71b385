import type { Command } from '../command.js';
import { CliError } from '../errors.js';

export const publishCommands: Command[] = [
  {
    name: 'publish',
    summary: 'rebuild the site and feeds (what changed, or everything with --full)',
    usage: 'publish [--full] [--wait]',
    help: `Rebuilds the pages and feeds of what changed since the last run, or everything with --full.

  --full   rebuild everything
  --wait   in AWS, wait for the run and print its report (locally it always waits)`,
    options: { full: { type: 'boolean' }, wait: { type: 'boolean' } },
    async run(ctx) {
      const full = ctx.values.full === true;
      const started = performance.now();
      const report = await (await ctx.backend()).publish(
        { full, wait: ctx.values.wait === true },
        ctx.progress,
      );
      if ('started' in report) return { result: report, text: `publish${full ? ' --full' : ''} started` };
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
