import { runAlerts } from './alerts.js';
import { runBundles } from './bundles.js';
import { runCost } from './cost.js';
import { runDigest } from './digest.js';
import { runFanout } from './fanout.js';
import { runIngest } from './ingest.js';
import { runPublish } from './publish.js';
import { runStream } from './stream.js';

// The SDK warns that its releases after January 2027 need Node 22; Lambda runs 22, this machine may run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

const BENCHMARKS: Record<string, (args: string[]) => Promise<void>> = {
  ingest: runIngest,
  fanout: runFanout,
  publish: runPublish,
  bundles: runBundles,
  digest: runDigest,
  cost: runCost,
  alerts: runAlerts,
  stream: runStream,
};

const [name, ...args] = process.argv.slice(2);
const run = name ? BENCHMARKS[name] : undefined;
if (!run) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}>`);
  process.exit(2);
}
await run(args);
