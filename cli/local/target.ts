import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ADMIN_TOKEN_FILE, SERVER_FILE, type ServerRecord } from '../../local/runtime.js';
import { CliError } from '../errors.js';

/** The data folder the local commands act on: TIDINGS_DATA_DIR, else `.data`. */
export const localDataDir = (env: Record<string, string | undefined>): string =>
  resolve(env.TIDINGS_DATA_DIR || '.data');

export interface RunningServer {
  url: string;
  port: number;
  pid: number;
  /** Authorises `/local/admin/…` (not the API key). */
  adminToken: string;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it lives, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * The `npm start` running on this data folder, whatever its port, from what it records there
 * (`server.json`, `admin-token`): undefined when none is recorded, its process is gone, or it does
 * not answer as this folder's server (a stale record whose pid was reused).
 */
export const findServer = async (dataDir: string): Promise<RunningServer | undefined> => {
  const recordFile = join(dataDir, SERVER_FILE);
  const tokenFile = join(dataDir, ADMIN_TOKEN_FILE);
  if (!existsSync(recordFile) || !existsSync(tokenFile)) return undefined;
  let record: ServerRecord;
  try {
    record = JSON.parse(readFileSync(recordFile, 'utf8')) as ServerRecord;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(record.pid) || !Number.isInteger(record.port) || !alive(record.pid)) return undefined;
  const adminToken = readFileSync(tokenFile, 'utf8').trim();
  const url = `http://127.0.0.1:${record.port}`;
  try {
    const res = await fetch(`${url}/local/admin/ping`, {
      headers: { authorization: `Bearer ${adminToken}` },
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    if (!res.ok) return undefined;
  } catch {
    return undefined;
  }
  return { url, port: record.port, pid: record.pid, adminToken };
};

/**
 * Before opening the data folder in this process: a recorded server whose process lives but does
 * not answer (starting, hung, or a pid reused since a crash) still holds the store, and LevelDB
 * would refuse this process with nothing but a crash of the store's child process.
 */
export const assertFolderFree = (dataDir: string): void => {
  const recordFile = join(dataDir, SERVER_FILE);
  if (!existsSync(recordFile)) return;
  let record: ServerRecord;
  try {
    record = JSON.parse(readFileSync(recordFile, 'utf8')) as ServerRecord;
  } catch {
    return;
  }
  if (Number.isInteger(record.pid) && alive(record.pid)) {
    throw new CliError(
      `the data folder ${dataDir} is held by process ${record.pid} (port ${record.port}), which does not answer; wait until it has started, or stop it (if no Tidings runs there, delete ${recordFile})`,
    );
  }
};

/** A data folder's store is held by one process at a time: say so, instead of the store's words. */
export const folderInUse = (dataDir: string, cause: unknown): CliError | undefined => {
  const message = String((cause as Error)?.message ?? cause);
  if (!/lock|ECONNREFUSED|Database is closed|dynalite exited/i.test(message)) return undefined;
  return new CliError(
    `could not open the data folder ${dataDir} (${message}): is another process using it? Stop it, or start \`npm start\` and run the command again`,
    { cause },
  );
};
