// The SDK warns that its releases after January 2027 need Node 22; Lambda runs 22, this machine may run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The functions log JSON for CloudWatch; when the runtime runs in this process, only warnings matter.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import { loopbackUrl } from './cli.js';
import {
  ImportError,
  type ImportProgress,
  type ImportResult,
  importEvents,
  inspectFile,
} from './import-events.js';
import type { Runtime } from './runtime.js';

const USAGE = `Usage: npm run import -- FILE [--url URL] [--key KEY]

Imports a JSON array or NDJSON file of events through the API's batch endpoint.

  FILE        a JSON array of events, or one event per line (NDJSON)
  --url URL   the API (default http://127.0.0.1:$PORT, PORT defaulting to 3000); without --url,
              when nothing answers there, the local runtime is started in this process
  --key KEY   the API key (default $TIDINGS_API_KEY, else \${TIDINGS_DATA_DIR:-.data}/api-key)

Exit code: 0 all imported or unchanged, 1 some events rejected, 2 the import could not run or
finish (the summary then counts what was done), 130 interrupted.`;

/** How many rejections the summary lists; with more, all go to REJECTED_FILE. */
const SHOWN_REJECTIONS = 20;
const REJECTED_FILE = 'import-rejected.ndjson';

class UsageError extends Error {}

const exit = (code: number): Promise<never> =>
  new Promise(() => process.stdout.write('', () => process.exit(code)));

const fail = async (message: string, code = 2): Promise<never> => {
  console.error(`import: ${message}`);
  return exit(code);
};

const parse = () => {
  try {
    const { values, positionals } = parseArgs({
      options: {
        url: { type: 'string' },
        key: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
    if (values.help) {
      console.log(USAGE);
      return undefined;
    }
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length === 0 ? 'no FILE given' : 'give exactly one FILE');
    }
    return { file: positionals[0] as string, url: values.url, key: values.key };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
};

/** True when an HTTP server answers at the URL (any status). */
const answers = async (url: string): Promise<boolean> => {
  try {
    await (await fetch(`${url}/api/tags`, { signal: AbortSignal.timeout(3000) })).arrayBuffer();
    return true;
  } catch {
    return false;
  }
};

const storedKey = (dataDir: string): string | undefined => {
  const file = join(dataDir, 'api-key');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
};

const count = (n: number): string => n.toLocaleString('en-US');

/** A bar on a terminal; elsewhere (CI, a pipe) a plain line every 10%. */
const progressReporter = () => {
  const started = Date.now();
  const rate = (p: ImportProgress) => Math.round(p.done / Math.max(0.001, (Date.now() - started) / 1000));
  if (process.stderr.isTTY) {
    const bar = new SingleBar(
      {
        format: 'importing {bar} {percentage}% | {done} events | {rate}/s | {rejected} rejected',
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: false,
      },
      Presets.shades_classic,
    );
    let shown = false;
    return {
      update(p: ImportProgress) {
        const payload = { done: count(p.done), rate: count(rate(p)), rejected: count(p.rejected) };
        if (!shown) {
          bar.start(Math.max(1, p.totalBytes), 0, payload);
          shown = true;
        }
        bar.update(p.bytesDone, payload);
      },
      stop: () => shown && bar.stop(),
    };
  }
  let lastTenth = 0;
  return {
    update(p: ImportProgress) {
      const tenth = p.totalBytes > 0 ? Math.floor((p.bytesDone / p.totalBytes) * 10) : 10;
      if (tenth <= lastTenth) return;
      lastTenth = tenth;
      console.error(`importing ${tenth * 10}% | ${count(p.done)} events | ${count(rate(p))}/s`);
    },
    stop: () => undefined,
  };
};

/**
 * The local change capture keeps its backlog in memory and its consumer loses the race against a
 * bulk import's writes; holding the import back while the backlog is long keeps memory flat.
 */
const BACKLOG_HIGH = 2000;
const BACKLOG_LOW = 500;
const captureCatchUp = (runtime: Runtime) => async (): Promise<void> => {
  if (runtime.capture.pending < BACKLOG_HIGH) return;
  while (runtime.capture.pending > BACKLOG_LOW) await new Promise((r) => setTimeout(r, 50));
};

/** Waits for the change capture to finish, saying how much is left every few seconds. */
const drainCapture = async (runtime: Runtime): Promise<void> => {
  if (runtime.capture.pending === 0) return runtime.capture.idle();
  const say = () => console.error(`updating the listings: ${count(runtime.capture.pending)} changes pending`);
  say();
  const timer = setInterval(say, 5000);
  try {
    await runtime.capture.idle();
  } finally {
    clearInterval(timer);
  }
};

const printSummary = (result: ImportResult): void => {
  const { imported, unchanged, rejected } = result;
  const lines = [`imported ${imported}, unchanged ${unchanged}, rejected ${rejected.length}`];
  for (const r of rejected.slice(0, SHOWN_REJECTIONS)) lines.push(`  ${r.location}: ${r.reason}`);
  if (rejected.length > SHOWN_REJECTIONS) {
    const path = resolve(REJECTED_FILE);
    writeFileSync(path, rejected.map((r) => `${JSON.stringify(r)}\n`).join(''));
    lines.push(
      `  … and ${rejected.length - SHOWN_REJECTIONS} more; all ${rejected.length} rejections are in ${path}`,
    );
  }
  console.log(lines.join('\n'));
};

const main = async (): Promise<never> => {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (!args) return exit(0);

  try {
    await inspectFile(args.file);
  } catch (error) {
    return fail((error as Error).message);
  }

  const dataDir = resolve(process.env.TIDINGS_DATA_DIR ?? '.data');
  const url = (args.url ?? loopbackUrl(process.env.PORT || 3000)).replace(/\/+$/, '');
  let runtime: Runtime | undefined;
  let apiKey = args.key ?? (process.env.TIDINGS_API_KEY || undefined);

  if (!(await answers(url))) {
    if (args.url) return fail(`nothing answers at ${url}; is the API running there?`);
    console.error(`No server at ${url}; importing through a local runtime on ${dataDir}.`);
    try {
      const { startRuntime } = await import('./runtime.js');
      runtime = await startRuntime({ dataDir, port: 0, loadSamples: false, apiKey });
    } catch (error) {
      return fail(
        `could not start the local runtime on ${dataDir} (${(error as Error).message}); if \`npm start\` is running on another port, pass --url`,
      );
    }
    apiKey = runtime.apiKey;
  }
  apiKey ??= storedKey(dataDir);
  if (!apiKey) {
    return fail(
      `no API key: pass --key, set TIDINGS_API_KEY, or keep the key in ${join(dataDir, 'api-key')}`,
    );
  }

  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error('\nstopping after the batches in flight (Ctrl-C again to quit now)…');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const progress = progressReporter();
  let result: ImportResult | undefined;
  let failure: ImportError | undefined;
  try {
    result = await importEvents({
      file: args.file,
      url: runtime?.loopbackUrl ?? url,
      apiKey,
      onProgress: (p) => progress.update(p),
      signal: controller.signal,
      ...(runtime ? { pace: captureCatchUp(runtime) } : {}),
    });
  } catch (error) {
    if (!(error instanceof ImportError)) throw error;
    failure = error;
    result = error.partial;
  } finally {
    progress.stop();
    if (runtime) {
      // Let the change stream catch up so the listings are complete before the data is closed.
      await drainCapture(runtime);
      await runtime.stop();
    }
  }

  if (result) printSummary(result);
  if (failure) return fail(failure.message);
  if (result?.interrupted) return fail('interrupted before the end of the file', 130);
  return exit(result && result.rejected.length > 0 ? 1 : 0);
};

try {
  await main();
} catch (error) {
  console.error(error);
  await exit(2);
}
