import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Globals } from '../cli/command.js';
import { type Io, processIo } from '../cli/io.js';
import { ENV } from '../shared/config.js';
import { auditCounts, type CountsReport, type TagAudit } from '../shared/services/counts.js';
import { onLocalFolder, onTable } from './event-store-target.js';

const USAGE = `Usage: tidings counts (--check | --repair) [--tag SLUG]... [--table NAME [--region REGION] [--endpoint URL]]

Compares each tag's count (its counter shards) with its entries, one shard at a time, and prints
every shard that differs. --repair sets those shards from their entries (each guarded by its
version, so a change landing meanwhile is not lost) and rewrites the tag's summary. A shard with a
change in flight (an op its entry does not show yet) is left alone: run again once the stream has
caught up. Exits 1 when --check finds a count wrong.

  without --table   the local runtime's data folder (TIDINGS_DATA_DIR, default .data); stop
                    \`npm start\` first
  --table NAME      a deployed table (default $${ENV.tableName}), with the operator's credentials and
                    region (AWS_PROFILE, AWS_REGION) or --region
  --endpoint URL    a DynamoDB-compatible endpoint instead of AWS (dynalite)
  --tag SLUG        only this tag (repeatable)

(or: npm run counts -- …)`;

/** `tidings counts`: exit code 0 counts right (or repaired), 1 --check found one wrong, 2 usage. */
export const runCounts = async (argv: string[], io: Io, globals: Globals): Promise<number> => {
  let values: {
    check?: boolean;
    repair?: boolean;
    tag?: string[];
    table?: string;
    region?: string;
    endpoint?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        check: { type: 'boolean' },
        repair: { type: 'boolean' },
        tag: { type: 'string', multiple: true },
        table: { type: 'string' },
        region: { type: 'string' },
        endpoint: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.err(`tidings: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  if (values.check === values.repair) {
    io.err(`tidings: counts needs exactly one of --check and --repair\n\n${USAGE}\n`);
    return 2;
  }
  if (globals.stack) {
    io.err(
      "tidings: against a deployed stack, name its table: --table <the stack's table name> (with --region)\n",
    );
    return 2;
  }
  // Under --json the shards found wrong go to stderr, so stdout holds only the result.
  const note = (line: string) => (globals.json ? io.err(`${line}\n`) : io.out(`${line}\n`));
  const repair = values.repair === true;
  const print = ({ slug, shards }: TagAudit): void => {
    for (const s of shards) {
      if (s.inFlight > 0) note(`${slug} shard ${s.shard}: ${s.inFlight} op(s) in flight, left alone`);
      else if (s.entries !== s.counted)
        note(
          `${slug} shard ${s.shard}: counter ${s.counted}, entries ${s.entries}${s.repaired ? ' (repaired)' : ''}`,
        );
    }
  };
  const options = { repair, onTag: print, ...(values.tag ? { slugs: values.tag } : {}) };

  const table = values.table ?? io.env[ENV.tableName];
  const report: CountsReport | undefined = table
    ? await onTable({ table, region: values.region, endpoint: values.endpoint }, (store) =>
        auditCounts(store, options),
      )
    : await onLocalFolder(io, 'tidings', async (runtime, store) => {
        await runtime.capture.idle();
        return auditCounts(store, options);
      });
  if (!report) return 2;
  if (globals.json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else
    io.out(
      `${report.tags} tags: ${report.wrong} counter shard(s) wrong${repair ? `, ${report.repaired} repaired` : ''}${report.inFlight > 0 ? `, ${report.inFlight} in flight` : ''}\n`,
    );
  return !repair && report.wrong > 0 ? 1 : 0;
};

// `tsx local/counts.ts` runs it as a script.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const code = await runCounts(process.argv.slice(2), processIo(), { json: false, verbose: false });
  process.stdout.write('', () => process.exit(code));
}
