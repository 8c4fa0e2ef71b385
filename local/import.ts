// The SDK warns that its releases after January 2027 need Node 22; Lambda runs 22, this machine may run 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The functions log JSON for CloudWatch; when the runtime runs in this process, only warnings matter.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import type { Globals } from '../cli/command.js';
import { type Io, processIo } from '../cli/io.js';
import { assertFolderFree, findServer, folderInUse, localDataDir } from '../cli/local/target.js';
import {
  ImportError,
  type ImportProgress,
  type ImportResult,
  importEvents,
  inspectFile,
} from './import-events.js';
import type { Runtime } from './runtime.js';

const USAGE = `Usage: tidings import FILE [--url URL] [--key KEY] [--json]   (or: npm run import -- FILE …)

Imports a JSON array or NDJSON file of events through the API's batch endpoint.

  FILE        a JSON array of events, or one event per line (NDJSON)
  --url URL   the API (a deployed stack's ApiUrl, for example); without it, the \`npm start\`
              running on the data folder (TIDINGS_DATA_DIR, default .data), found whatever its
              port, or, when none runs, the local runtime started in this process
  --key KEY   the API key (default $TIDINGS_API_KEY, else \${TIDINGS_DATA_DIR:-.data}/api-key)
  --json      print the summary as JSON on stdout, and no progress

Exit code: 0 all imported or unchanged, 1 some events rejected, 2 the import could not run or
finish (the summary then counts what was done), 130 interrupted.`;

/** How many rejections the summary lists; with more, all go to REJECTED_FILE. */
const SHOWN_REJECTIONS = 20;
const REJECTED_FILE = 'import-rejected.ndjson';

class UsageError extends Error {}

const parse = (args: string[], io: Io) => {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: {
        url: { type: 'string' },
        key: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
    if (values.help) {
      io.out(`${USAGE}\n`);
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

/** A bar on a terminal; elsewhere (CI, a pipe) a plain line every 10%; nothing under --json. */
const progressReporter = (io: Io, json: boolean) => {
  const started = Date.now();
  const rate = (p: ImportProgress) => Math.round(p.done / Math.max(0.001, (Date.now() - started) / 1000));
  if (json) return { update: (_: ImportProgress) => undefined, stop: () => undefined };
  if (io.isTTY && io.progressStream) {
    const bar = new SingleBar(
      {
        format: 'importing {bar} {percentage}% | {done} events | {rate}/s | {rejected} rejected',
        stream: io.progressStream,
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
      io.err(`importing ${tenth * 10}% | ${count(p.done)} events | ${count(rate(p))}/s\n`);
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
const drainCapture = async (runtime: Runtime, io: Io): Promise<void> => {
  if (runtime.capture.pending === 0) return runtime.capture.idle();
  const say = () => io.err(`updating the listings: ${count(runtime.capture.pending)} changes pending\n`);
  say();
  const timer = setInterval(say, 5000);
  try {
    await runtime.capture.idle();
  } finally {
    clearInterval(timer);
  }
};

const summary = (result: ImportResult): string => {
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
  return lines.join('\n');
};

/**
 * `tidings import`, with the exit codes of every command: 0 all imported or unchanged, 1 failed
 * (some events rejected, the file unreadable, the key refused, no API answering), 2 a mistake in
 * the command line (a missing argument or flag), 130 interrupted.
 */
const USAGE_ERROR = 2;
export const runImport = async (argv: string[], io: Io, globals: Globals): Promise<number> => {
  const fail = (message: string, code = 1): number => {
    io.err(`tidings: ${message}\n`);
    return code;
  };
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv, io);
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${USAGE}`, USAGE_ERROR);
  }
  if (!args) return 0;
  if (globals.stack && !args.url) {
    // The stack's API from its outputs, when the AWS backend reads them.
    const { createAwsBackend } = await import('../cli/aws/backend.js');
    const backend = await createAwsBackend({
      stack: globals.stack,
      ...(globals.region ? { region: globals.region } : {}),
      ...(globals.profile ? { profile: globals.profile } : {}),
    });
    try {
      if (!backend.apiUrl) {
        return fail(
          `into a deployed stack, pass its API: --url <the stack's ApiUrl output> --key <a key from \`tidings keys create --stack ${globals.stack}\`>`,
          USAGE_ERROR,
        );
      }
      args.url = await backend.apiUrl();
    } finally {
      await backend.close();
    }
    if (!args.key && !io.env.TIDINGS_API_KEY) {
      return fail(
        `into stack ${globals.stack}: pass --key <a key from \`tidings keys create --stack ${globals.stack}\`> (or set TIDINGS_API_KEY)`,
        USAGE_ERROR,
      );
    }
  }

  try {
    await inspectFile(args.file);
  } catch (error) {
    return fail((error as Error).message);
  }

  const dataDir = localDataDir(io.env);
  let runtime: Runtime | undefined;
  let apiKey = args.key ?? (io.env.TIDINGS_API_KEY || undefined);
  let url: string;
  if (args.url) {
    url = args.url.replace(/\/+$/, '');
    if (!(await answers(url))) return fail(`nothing answers at ${url}; is the API running there?`);
  } else {
    const server = await findServer(dataDir);
    if (server) {
      url = server.url;
    } else {
      io.err(`No server running on ${dataDir}; importing through a local runtime in this process.\n`);
      try {
        assertFolderFree(dataDir);
        const { startRuntime } = await import('./runtime.js');
        runtime = await startRuntime({ dataDir, port: 0, loadSamples: false, apiKey });
      } catch (error) {
        return fail((folderInUse(dataDir, error) ?? (error as Error)).message);
      }
      apiKey = runtime.apiKey;
      url = runtime.loopbackUrl;
    }
  }
  apiKey ??= storedKey(dataDir);
  if (!apiKey) {
    await runtime?.stop();
    return fail(
      `no API key: pass --key, set TIDINGS_API_KEY, or keep the key in ${join(dataDir, 'api-key')}`,
      USAGE_ERROR,
    );
  }

  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    io.err('\nstopping after the batches in flight (Ctrl-C again to quit now)…\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const progress = progressReporter(io, globals.json);
  let result: ImportResult | undefined;
  let failure: ImportError | undefined;
  try {
    result = await importEvents({
      file: args.file,
      url,
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
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    progress.stop();
    if (runtime) {
      // Let the change stream catch up so the listings are complete before the data is closed.
      await drainCapture(runtime, io);
      await runtime.stop();
    }
  }

  if (result) {
    if (globals.json)
      io.out(`${JSON.stringify({ ...result, ...(failure ? { error: failure.message } : {}) }, null, 2)}\n`);
    else io.out(`${summary(result)}\n`);
  }
  if (failure) return fail(failure.message);
  if (result?.interrupted) return fail('interrupted before the end of the file', 130);
  return result && result.rejected.length > 0 ? 1 : 0;
};

// `npm run import` (tsx local/import.ts) runs it as a script.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const code = await runImport(process.argv.slice(2), processIo(), { json: false, verbose: false }).catch(
    (error: unknown) => {
      console.error(error);
      return 2;
    },
  );
  process.stdout.write('', () => process.exit(code));
}
