import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../cli/backend.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { tidings } from './helpers.js';

/** What the AWS backend answers here: a stack whose API is the test runtime's, or one without apiUrl. */
const stacks: Record<string, Partial<Backend>> = {};
const opened: unknown[] = [];
vi.mock('../../cli/aws/backend.js', () => ({
  createAwsBackend: async (options: { stack: string; region?: string }) => {
    opened.push(options);
    return { close: async () => undefined, ...stacks[options.stack] };
  },
}));

const dir = mkdtempSync(join(tmpdir(), 'tidings-cli-import-stack-'));
let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime({ dataDir: join(dir, 'stack') });
  stacks.deployed = { apiUrl: async () => `${rt.url}/` };
  stacks.older = {};
});
afterAll(async () => {
  await rt?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('tidings import --stack', () => {
  it('writes through the API of the stack the AWS backend names, with the key given', async () => {
    const file = join(dir, 'events.ndjson');
    writeFileSync(file, `${JSON.stringify(makeEventInput({ headline: 'Into the stack' }))}\n`);
    // Another data folder: nothing local is involved.
    const local = join(dir, 'local');

    const out = await tidings(
      local,
      'import',
      file,
      '--stack',
      'deployed',
      '--region',
      'eu-west-1',
      '--key',
      rt.apiKey,
    );
    expect(out).toMatchObject({ code: 0, stdout: 'imported 1, unchanged 0, rejected 0\n' });
    expect(opened).toContainEqual({ stack: 'deployed', region: 'eu-west-1' });

    const noKey = await tidings(local, 'import', file, '--stack', 'deployed');
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/into stack deployed: pass --key/);

    const older = await tidings(local, 'import', file, '--stack', 'older', '--key', rt.apiKey);
    expect(older.code).toBe(2);
    expect(older.stderr).toMatch(/pass its API: --url <the stack's ApiUrl output> --key/);
  });
});
