// The SDK warns that its releases after January 2027 need Node 22; Lambda runs 22, this machine may run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DigestReport } from '../shared/services/digests.js';
import { askServer, localTarget } from './cli.js';

const USAGE = `Usage: npm run digest [-- --now] [-- --cadence daily|weekly]

Sends the digests that are due to the local outbox (.data/outbox, listed at /local/outbox).
Windows end at the latest scheduled time (DIGEST_HOUR UTC, and DIGEST_WEEKDAY for weekly
digests), or at this moment with --now. Talks to a running \`npm start\` (PORT, default 3000),
or opens the data folder itself (TIDINGS_DATA_DIR, default .data) when none is running.`;

const { values } = parseArgs({
  options: {
    now: { type: 'boolean' },
    cadence: { type: 'string', default: 'daily' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.cadence !== 'daily' && values.cadence !== 'weekly') {
  console.error(`--cadence must be daily or weekly (got ${values.cadence})\n\n${USAGE}`);
  process.exit(2);
}
const cadence = values.cadence;
const now = values.now === true;
const { dataDir, url, apiKey } = localTarget();

const started = performance.now();
let report = await askServer<DigestReport>(
  url,
  `/local/digest?cadence=${cadence}${now ? '&now=1' : ''}`,
  apiKey,
);
let outbox = join(dataDir, 'outbox');
if (!report) {
  const { startRuntime } = await import('./runtime.js');
  const runtime = await startRuntime({ dataDir, port: 0, loadSamples: false, publishIntervalMs: 0, apiKey });
  try {
    report = await runtime.digest(cadence, { now });
    outbox = runtime.outboxDir;
  } finally {
    await runtime.stop();
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `${cadence} digests in ${seconds} s: ${report.sent} sent, ${report.empty} with nothing new, ${report.duplicates} already sent, ${report.skipped} not due${report.failed > 0 ? `, ${report.failed} FAILED (retried)` : ''}`,
);
console.log(`outbox: ${outbox}`);
