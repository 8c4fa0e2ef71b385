import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminOp, LocalAdmin } from '../../local/admin.js';
import { LAST_PUBLISH_FILE, type LastPublish, type Runtime } from '../../local/runtime.js';
import { type Backend, lastPublishSummary, type StatusReport } from '../backend.js';
import { CliError } from '../errors.js';
import { assertFolderFree, findServer, folderInUse, type RunningServer } from './target.js';

type Call = <K extends AdminOp>(op: K, ...args: Parameters<LocalAdmin[K]>) => ReturnType<LocalAdmin[K]>;

/** Changes the journal holds that were written but not yet handled or parked. */
export const journalLag = (path: string): number => {
  if (!existsSync(path)) return 0;
  const owed = new Set<number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let entry: { t?: string; seq?: number };
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof entry.seq !== 'number') continue;
    if (entry.t === 'done') owed.add(entry.seq);
    else if (entry.t === 'ack' || entry.t === 'dead' || entry.t === 'failed') owed.delete(entry.seq);
  }
  return owed.size;
};

const countLines = (path: string): number =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim()).length
    : 0;

export interface LocalBackendOptions {
  dataDir: string;
  /** Says where the work happens ("using the server at …", "opening the data folder…"); stderr. */
  note?: (line: string) => void;
}

/**
 * The local runtime as a Backend. With a server running on the data folder, every operation is
 * sent to it (`/local/admin/<op>`, the admin token); without, the data folder is opened in this
 * process, once, and closed by `close()`. Never both: dynalite's store admits one process.
 */
export const createLocalBackend = (options: LocalBackendOptions): Backend & { where(): Promise<string> } => {
  const { dataDir } = options;
  let connection: Promise<{ call: Call; server?: RunningServer; runtime?: Runtime }> | undefined;
  // Where a full publish in this process tells of its slices, while `publish` waits for it.
  let publishProgress: ((done: number, total: number) => void) | undefined;

  const connect = () => {
    connection ??= (async () => {
      const server = await findServer(dataDir);
      if (server) {
        const call = (async (op: AdminOp, ...args: unknown[]) => {
          let res: Response;
          try {
            res = await fetch(`${server.url}/local/admin/${op}`, {
              method: 'POST',
              headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
              body: JSON.stringify(args),
            });
          } catch (error) {
            throw new CliError(
              `the server at ${server.url} stopped answering (${(error as Error).message})`,
              {
                cause: error,
              },
            );
          }
          const body = (await res.json().catch(() => ({}))) as {
            result?: unknown;
            error?: string;
            usage?: boolean;
          };
          if (res.ok) return body.result;
          throw new CliError(`${body.error ?? `the server at ${server.url} answered ${res.status}`}`, {
            usage: body.usage === true,
          });
        }) as Call;
        return { call, server };
      }
      assertFolderFree(dataDir);
      const { startRuntime } = await import('../../local/runtime.js');
      let runtime: Runtime;
      try {
        runtime = await startRuntime({
          dataDir,
          port: 0,
          loadSamples: false,
          publishIntervalMs: 0,
          publishProgress: (done, total) => publishProgress?.(done, total),
        });
      } catch (error) {
        throw folderInUse(dataDir, error) ?? error;
      }
      const admin = runtime.admin;
      const call = ((op: AdminOp, ...args: unknown[]) =>
        (admin[op] as (...a: unknown[]) => Promise<unknown>)(...args)) as Call;
      return { call, runtime };
    })();
    return connection;
  };
  const call: Call = (async (op: AdminOp, ...args: unknown[]) =>
    ((await connect()).call as (op: AdminOp, ...a: unknown[]) => Promise<unknown>)(op, ...args)) as Call;

  return {
    async where() {
      const c = await connect();
      return c.server ? `the server at ${c.server.url} (pid ${c.server.pid})` : `the data folder ${dataDir}`;
    },
    keys: {
      create: (name) => call('keys.create', name),
      list: () => call('keys.list'),
      revoke: (nameOrId) => call('keys.revoke', nameOrId),
    },
    async publish(options, progress) {
      if (options.cancel || options.resume)
        throw new CliError(
          'a local full publish runs while the command waits: stop it with Ctrl-C (the next full publish does it all again)',
          { usage: true },
        );
      progress.start(1, 'publishing');
      // A full publish in this process tells of its slices as its workers end them.
      let total = 0;
      publishProgress = (done, of) => {
        if (of !== total) progress.start(of, 'publishing slices');
        total = of;
        progress.update(done);
      };
      try {
        return await call('publish', options.full);
      } finally {
        publishProgress = undefined;
        progress.stop();
      }
    },
    async digest(options) {
      return call('digest', options.cadence, options.now);
    },
    async status() {
      // Read before the folder is opened here: opening it replays the journal and would hide the lag.
      const pending = journalLag(join(dataDir, 'changes.ndjson'));
      const deadLetterFile = join(dataDir, 'dead-letter.ndjson');
      const parked = countLines(deadLetterFile);
      const lastFile = join(dataDir, LAST_PUBLISH_FILE);
      const last = existsSync(lastFile)
        ? (JSON.parse(readFileSync(lastFile, 'utf8')) as LastPublish)
        : undefined;
      const c = await connect();
      const counts = await c.call('counts');
      const report: StatusReport = {
        target: { kind: 'local', dataDir, ...(c.server ? { url: c.server.url } : {}) },
        counts,
        changeLag: { pending },
        deadLetters: [{ name: 'changes (dead letters)', url: deadLetterFile, visible: parked, inFlight: 0 }],
        parkedChanges: parked,
        ...(last ? { lastPublish: lastPublishSummary(last) } : {}),
      };
      return report;
    },
    async redrive(progress) {
      progress.start(1, 'redriving');
      try {
        const changes = await call('redrive');
        return { changes, queues: [] };
      } finally {
        progress.stop();
      }
    },
    subscribers: {
      count: () => call('subscribers.count'),
      export: () => call('subscribers.export'),
      forget: (email) => call('subscribers.forget', email),
    },
    webhooks: {
      list: () => call('webhooks.list'),
      delete: (id) => call('webhooks.delete', id),
    },
    websub: {
      view: () => call('websub.view'),
    },
    links: {
      rotate: (o) => call('links.rotate', o.retireOld),
    },
    async close() {
      const c = await connection?.catch(() => undefined);
      connection = undefined;
      await c?.runtime?.stop();
    },
  };
};
