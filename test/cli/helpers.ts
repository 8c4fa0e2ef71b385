import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { memoryIo } from '../../cli/io.js';
import { main } from '../../cli/tidings.js';

export const ROOT = resolve(import.meta.dirname, '../..');

/** `tidings …` in this process, on a data folder: exit code and what it printed. */
export const tidings = async (dataDir: string, ...argv: string[]) => {
  const io = memoryIo({ TIDINGS_DATA_DIR: dataDir });
  const code = await main(argv, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
};

/** The real `node bin/tidings.mjs …` process, as an operator runs it. */
export const tidingsProcess = (
  env: Record<string, string>,
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((done) => {
    execFile(
      process.execPath,
      [resolve(ROOT, 'bin/tidings.mjs'), ...argv],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) =>
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
