// The SDK warns that its releases after January 2027 need Node 22; Lambda runs 22, this machine may run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { resolve } from 'node:path';
import { startRuntime } from './runtime.js';

const port = Number(process.env.PORT ?? 3000);
const dataDir = resolve(process.env.TIDINGS_DATA_DIR ?? '.data');
// The functions log JSON for CloudWatch; locally only warnings and errors are worth showing.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

console.log(
  `Starting Tidings on ${dataDir} (the first start loads the sample events and publishes the site: allow ~20 s)…`,
);
const runtime = await startRuntime({
  dataDir,
  port,
  apiKey: process.env.TIDINGS_API_KEY || undefined,
  log: process.env.TIDINGS_VERBOSE
    ? (line) => console.log(line)
    : (line) => line.startsWith('local server error') && console.error(line),
});

console.log(`
Tidings is running locally.

  Site       ${runtime.url}/   (feeds: ${runtime.url}/feeds/all.rss, .atom, .json)
  API        ${runtime.url}/api/events   (try: curl ${runtime.url}/api/tags)
  API key    ${runtime.apiKey}
  Outbox     ${runtime.url}/local/outbox   (emails sent locally, as .eml files in ${runtime.outboxDir})
  Data       ${runtime.dataDir}${runtime.fresh ? `\n  Samples    ${runtime.samplesLoaded} sample events loaded` : ''}

Post an event:
  curl -X POST ${runtime.url}/api/events \\
    -H 'authorization: Bearer ${runtime.apiKey}' -H 'content-type: application/json' \\
    -d '{"date":"2016-11-16","headline":"Something happened","tags":["Example"]}'

Subscribe with the form on any tag page, confirm from the outbox, then send the digests now:
  npm run digest -- --now

Press Ctrl-C to stop.
`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping…`);
  await runtime.stop();
  console.log('Stopped. Data kept in', runtime.dataDir);
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
