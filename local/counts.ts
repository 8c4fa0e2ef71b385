// The SDK warns that its releases after January 2027 need Node 22; Lambda runs 22, this machine may run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

import { parseArgs } from 'node:util';
import { createDocumentClient } from '../shared/adapters/dynamodb.js';
import { makeEventStore } from '../shared/adapters/event-store.js';
import { ENV } from '../shared/config.js';
import { auditCounts, type CountsReport, type TagAudit } from '../shared/services/counts.js';
import { localTarget } from './cli.js';

const USAGE = `Usage: npm run counts -- (--check | --repair) [--tag SLUG]... [--table NAME [--region REGION] [--endpoint URL]]

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
  --tag SLUG        only this tag (repeatable)`;

const { values } = parseArgs({
  options: {
    check: { type: 'boolean' },
    repair: { type: 'boolean' },
    tag: { type: 'string', multiple: true },
    table: { type: 'string' },
    region: { type: 'string' },
    endpoint: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help || values.check === values.repair) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}

const repair = values.repair === true;
const print = ({ slug, shards }: TagAudit): void => {
  for (const s of shards) {
    if (s.inFlight > 0) console.log(`${slug} shard ${s.shard}: ${s.inFlight} op(s) in flight, left alone`);
    else if (s.entries !== s.counted)
      console.log(
        `${slug} shard ${s.shard}: counter ${s.counted}, entries ${s.entries}${s.repaired ? ' (repaired)' : ''}`,
      );
  }
};
const options = { repair, onTag: print, ...(values.tag ? { slugs: values.tag } : {}) };

const tableName = values.table ?? process.env[ENV.tableName];
let report: CountsReport;
if (tableName) {
  const db = createDocumentClient({
    ...(values.endpoint ? { endpoint: values.endpoint } : {}),
    ...(values.region ? { region: values.region } : {}),
  });
  try {
    report = await auditCounts(makeEventStore(db, tableName), options);
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
    console.error(`counts: a server answers at ${url}; stop \`npm start\` first (it holds the data folder)`);
    process.exit(2);
  }
  const { LOCAL_TABLE, startRuntime } = await import('./runtime.js');
  const runtime = await startRuntime({ dataDir, port: 0, loadSamples: false, publishIntervalMs: 0 });
  const db = createDocumentClient({ endpoint: runtime.dynamodbEndpoint });
  try {
    await runtime.capture.idle();
    report = await auditCounts(makeEventStore(db, LOCAL_TABLE), options);
  } finally {
    db.destroy();
    await runtime.stop();
  }
}
console.log(
  `${report.tags} tags: ${report.wrong} counter shard(s) wrong${repair ? `, ${report.repaired} repaired` : ''}${report.inFlight > 0 ? `, ${report.inFlight} in flight` : ''}`,
);
process.exit(!repair && report.wrong > 0 ? 1 : 0);
