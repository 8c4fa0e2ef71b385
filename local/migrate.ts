// The SDK warns that its releases after January 2027 need Node 22; Lambda runs 22, this machine may run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

import { parseArgs } from 'node:util';
import { createDocumentClient } from '../shared/adapters/dynamodb.js';
import { makeEventStore } from '../shared/adapters/event-store.js';
import { ENV } from '../shared/config.js';
import {
  type LayoutProgress,
  type MigrationProgress,
  migrateDerivedLayout,
  migrateReservedSlugs,
} from '../shared/services/migrations.js';
import { localTarget } from './cli.js';

const USAGE = `Usage: npm run migrate -- [--table NAME [--region REGION] [--endpoint URL]] [--cursor C] [--dry-run]

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

const { values } = parseArgs({
  options: {
    table: { type: 'string' },
    region: { type: 'string' },
    endpoint: { type: 'string' },
    cursor: { type: 'string' },
    'dry-run': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const now = () => new Date().toISOString();
const reportLayout = (p: LayoutProgress): void => {
  console.log(
    `layout: scanned ${p.scanned} old items: ${p.entries} tag entries and ${p.marks} marks moved; ${p.tags} tags counted, ${p.repaired} counter shards set${p.inFlight > 0 ? `, ${p.inFlight} in flight (run again)` : ''}`,
  );
};
const layoutOptions = { dryRun: values['dry-run'] === true, onPage: reportLayout };
const report = (p: MigrationProgress): void => {
  console.log(
    `scanned ${p.scanned}: ${p.moved} moved, ${p.retagged} retagged, ${p.skipped.length} skipped${p.cursor ? `; resume with --cursor ${p.cursor}` : ''}`,
  );
};
const options = {
  ...(values.cursor ? { cursor: values.cursor } : {}),
  dryRun: values['dry-run'] === true,
  onPage: report,
};

const tableName = values.table ?? process.env[ENV.tableName];
let result: MigrationProgress;
if (tableName) {
  const db = createDocumentClient({
    ...(values.endpoint ? { endpoint: values.endpoint } : {}),
    ...(values.region ? { region: values.region } : {}),
  });
  try {
    const store = makeEventStore(db, tableName);
    await migrateDerivedLayout({ store }, layoutOptions);
    result = await migrateReservedSlugs({ store, now }, options);
  } finally {
    db.destroy();
  }
} else {
  const { dataDir, url } = localTarget();
  const running = await fetch(`${url}/api/tags`, { signal: AbortSignal.timeout(3000) }).then(
    () => true,
    () => false,
  );
  if (running) {
    console.error(`migrate: a server answers at ${url}; stop \`npm start\` first (it holds the data folder)`);
    process.exit(2);
  }
  const { LOCAL_TABLE, startRuntime } = await import('./runtime.js');
  const runtime = await startRuntime({ dataDir, port: 0, loadSamples: false, publishIntervalMs: 0 });
  const db = createDocumentClient({ endpoint: runtime.dynamodbEndpoint });
  try {
    // Derived items are rewritten directly; event moves go through the runtime's change capture,
    // which stands in for the stream that projects each move.
    await migrateDerivedLayout({ store: makeEventStore(db, LOCAL_TABLE) }, layoutOptions);
    const store = runtime.capture.wrap(makeEventStore(db, LOCAL_TABLE));
    result = await migrateReservedSlugs({ store, now }, options);
    await runtime.capture.idle();
    if (!options.dryRun) await runtime.publish();
  } finally {
    db.destroy();
    await runtime.stop();
  }
}
for (const line of result.skipped) console.log(`skipped ${line}`);
console.log(
  `${options.dryRun ? 'would migrate' : 'migrated'}: ${result.moved} events moved, ${result.retagged} retagged, ${result.skipped.length} skipped, of ${result.scanned} scanned`,
);
process.exit(result.skipped.length > 0 ? 1 : 0);
