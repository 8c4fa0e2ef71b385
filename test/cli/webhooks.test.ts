import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { tidings } from './helpers.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tidings-cli-webhooks-'));
let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime({ dataDir });
});
afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('tidings webhooks', () => {
  it('lists every webhook with its owning key (without the query string), and deletes one', async () => {
    const other = JSON.parse(
      (await tidings(dataDir, 'keys', 'create', '--name', 'other', '--json')).stdout,
    ) as {
      key: string;
      id: string;
    };
    const mine = await rt.write('POST', '/api/webhooks', {
      url: 'https://hooks.example.org/mine?secret=s3cr3t',
    });
    expect(mine.status).toBe(201);
    const theirs = await fetch(`${rt.url}/api/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://hooks.example.org/other', tags: ['syria'] }),
    });
    expect(theirs.status).toBe(201);
    const theirId = ((await theirs.json()) as { id: string }).id;

    const list = await tidings(dataDir, 'webhooks', 'list', '--json');
    expect(list.code).toBe(0);
    const hooks = JSON.parse(list.stdout) as { id: string; url: string; owner?: { keyName: string } }[];
    expect(hooks.map((h) => [h.url, h.owner?.keyName]).sort()).toEqual([
      ['https://hooks.example.org/mine', 'local'],
      ['https://hooks.example.org/other', 'other'],
    ]);
    expect(list.stdout).not.toContain('s3cr3t');

    expect(await tidings(dataDir, 'webhooks', 'delete', theirId)).toMatchObject({
      code: 0,
      stdout: `webhook ${theirId} deleted\n`,
    });
    const after = JSON.parse((await tidings(dataDir, 'webhooks', 'list', '--json')).stdout) as {
      id: string;
    }[];
    expect(after.map((h) => h.id)).not.toContain(theirId);
    // Gone for its key too: its list is empty, and its quota counts it no more.
    const theirList = await fetch(`${rt.url}/api/webhooks`, {
      headers: { authorization: `Bearer ${other.key}` },
    });
    expect(((await theirList.json()) as { webhooks: unknown[] }).webhooks).toEqual([]);
  });
});
