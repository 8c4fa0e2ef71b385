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

/** A data folder's store is held by one process at a time: say which, instead of LevelDB's words. */
export const folderInUse = (dataDir: string, cause: unknown): CliError | undefined => {
  const message = String((cause as Error)?.message ?? cause);
  if (!/lock|LOCK|already held|Resource temporarily unavailable/.test(message)) return undefined;
  let holder = '';
  try {
    const record = JSON.parse(readFileSync(join(dataDir, SERVER_FILE), 'utf8')) as ServerRecord;
    holder = ` (process ${record.pid}, port ${record.port}, which does not answer)`;
  } catch {
    // no record: say what is known
  }
  return new CliError(
    `the data folder ${dataDir} is in use by another process${holder}; stop it and try again`,
    {
      cause,
    },
  );
};
