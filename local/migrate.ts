// The SDK warns that its releases after January 2027 need Node 22; Lambda runs 22, this machine may run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Globals } from '../cli/command.js';
import { type Io, processIo } from '../cli/io.js';
import { ENV } from '../shared/config.js';
import {
  type LayoutProgress,
  type MigrationProgress,
  migrateDerivedLayout,
  migrateReservedSlugs,
} from '../shared/services/migrations.js';
import { onLocalFolder, onTable } from './event-store-target.js';

const USAGE = `Usage: tidings migrate [--table NAME [--region REGION] [--endpoint URL]] [--cursor C] [--dry-run]
       (or: npm run migrate -- …)

First rewrites the derived items of the layout before slim, sharded tag entries (whole-event tag
entries, one-key marks) in the new layout and sets every tag's counter shards from its entries:
each item is moved by a conditional write, then deleted, so running again finishes an interrupted
run and a finished one finds nothing (this step rescans; --cursor is for the next one).

Then Moves events and tags stored under a name the site keeps for its own pages (an event headlined
"Index" stored as YYYY/MM/DD/index, a tag "Index" with the slug "index") to their new slugs
("index-1"): the event is written at its new id and its old id becomes a tombstone; tags are
corrected. Safe to run again: what is done is skipped. Prints its progress and, after each page,
the cursor to resume from (--cursor) if it is interrupted.

  without --table   the local runtime's data folder (TIDINGS_DATA_DIR, default .data); stop
                    \`npm start\` first: the runtime is started in this process so its change
                    capture projects the moves, then the site is published
  --table NAME      a deployed table (default $${ENV.tableName}), with the credentials and region of
                    the environment (AWS_PROFILE, AWS_REGION) or --region; its stream projects the
                    moves and the next publish run rewrites the pages
  --endpoint URL    a DynamoDB-compatible endpoint instead of AWS (dynalite)
  --cursor C        resume the scan where a previous run said
  --dry-run         count what would change; write nothing`;

/** `tidings migrate`: exit code 0 done, 1 some items skipped, 2 usage or a server holds the folder. */
export const runMigrate = async (argv: string[], io: Io, globals: Globals): Promise<number> => {
  let values: {
    table?: string;
    region?: string;
    endpoint?: string;
    cursor?: string;
    'dry-run'?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        table: { type: 'string' },
        region: { type: 'string' },
        endpoint: { type: 'string' },
        cursor: { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    io.err(`migrate: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  if (globals.stack) {
    io.err(
      `migrate: against a deployed stack, name its table: --table <the stack's table name> (with --region)\n`,
    );
    return 2;
  }
  // Pages are reported as they go: under --json, on stderr, so stdout holds only the result.
  const note = (line: string) => (globals.json ? io.err(`${line}\n`) : io.out(`${line}\n`));
  const now = () => new Date().toISOString();
  const report = (p: MigrationProgress): void => {
    note(
      `scanned ${p.scanned}: ${p.moved} moved, ${p.retagged} retagged, ${p.skipped.length} skipped${p.cursor ? `; resume with --cursor ${p.cursor}` : ''}`,
    );
  };
  const reportLayout = (p: LayoutProgress): void => {
    note(
      `layout: scanned ${p.scanned} old items: ${p.entries} tag entries, ${p.marks} marks and ${p.days} events' day entries moved; ${p.tags} tags counted, ${p.repaired} counter shards set${p.inFlight > 0 ? `, ${p.inFlight} in flight (run again)` : ''}`,
    );
  };
  const layoutOptions = { dryRun: values['dry-run'] === true, onPage: reportLayout };
  const options = {
    ...(values.cursor ? { cursor: values.cursor } : {}),
    dryRun: values['dry-run'] === true,
    onPage: report,
  };

  const table = values.table ?? io.env[ENV.tableName];
  const result: MigrationProgress | undefined = table
    ? await onTable(
        { table, region: values.region, endpoint: values.endpoint },
        async (store, topicLabels) => {
          await migrateDerivedLayout({ store }, layoutOptions);
          return migrateReservedSlugs({ store, now, topicLabels }, options);
        },
      )
    : await onLocalFolder(io, 'migrate', async (runtime, store, topicLabels) => {
        // Derived items are rewritten directly; event moves go through the runtime's change capture,
        // which stands in for the stream that projects each move.
        await migrateDerivedLayout({ store }, layoutOptions);
        const moved = await migrateReservedSlugs(
          { store: runtime.capture.wrap(store), now, topicLabels },
          options,
        );
        await runtime.capture.idle();
        if (!options.dryRun) await runtime.publish();
        return moved;
      });
  if (!result) return 2;
  if (globals.json) {
    io.out(`${JSON.stringify({ dryRun: options.dryRun, ...result }, null, 2)}\n`);
  } else {
    for (const line of result.skipped) io.out(`skipped ${line}\n`);
    io.out(
      `${options.dryRun ? 'would migrate' : 'migrated'}: ${result.moved} events moved, ${result.retagged} retagged, ${result.skipped.length} skipped, of ${result.scanned} scanned\n`,
    );
  }
  return result.skipped.length > 0 ? 1 : 0;
};

// `npm run migrate` (tsx local/migrate.ts) runs it as a script.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const code = await runMigrate(process.argv.slice(2), processIo(), { json: false, verbose: false });
  process.stdout.write('', () => process.exit(code));
}
