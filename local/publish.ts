// The SDK warns that its releases after January 2027 need Node 22; Lambda runs 22, this machine may run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PublishReport } from '../shared/services/publish.js';
import { askServer, localTarget } from './cli.js';

const USAGE = `Usage: npm run publish [-- --full]

Rebuilds the local site and feeds: what changed since the last run, or everything with --full.
Talks to a running \`npm start\` (PORT, default 3000), or opens the data folder itself
(TIDINGS_DATA_DIR, default .data) when none is running.`;

const { values } = parseArgs({
  options: { full: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const full = values.full === true;
const { dataDir, url, apiKey } = localTarget();

const started = performance.now();
let report = await askServer<PublishReport>(url, `/local/publish${full ? '?full=1' : ''}`, apiKey);
let siteDir = join(dataDir, 'site');
if (!report) {
  const { startRuntime } = await import('./runtime.js');
  const runtime = await startRuntime({ dataDir, port: 0, loadSamples: false, publishIntervalMs: 0, apiKey });
  try {
    await runtime.capture.idle();
    report = await runtime.publish(full);
    siteDir = runtime.siteDir;
  } finally {
    await runtime.stop();
  }
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `published${full ? ' everything' : ''} in ${seconds} s: ${report.written} written, ${report.unchanged} unchanged, ${report.removed} removed, ${report.marksCleared} marks cleared${report.failed > 0 ? `, ${report.failed} FAILED` : ''}`,
);
console.log(`site folder: ${siteDir}`);
process.exit(report.failed > 0 ? 1 : 0);
