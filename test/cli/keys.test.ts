import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { tidings } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tidings-cli-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let posted = 0;
/** A new event each time (the same one again would answer 200, unchanged). */
const post = (rt: TestRuntime, key: string) =>
  fetch(`${rt.url}/api/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(makeEventInput({ headline: `Key check ${++posted}` })),
  });

describe('tidings keys, with npm start running', () => {
  let rt: TestRuntime;
  const dataDir = join(dir, 'running');
  beforeAll(async () => {
    rt = await startTestRuntime({ dataDir });
  });
  afterAll(() => rt?.stop());

  it('creates a key that works, shows it once and stores only its hash', async () => {
    const created = await tidings(dataDir, 'keys', 'create', '--name', 'integrator', '--json');
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const key = JSON.parse(created.stdout) as { key: string; id: string; name: string; revoked: boolean };
    expect(key).toMatchObject({ name: 'integrator', revoked: false });
    expect(key.key).toMatch(/^tdg_/);
    expect((await post(rt, key.key)).status).toBe(201);

    // Nowhere in the table: only its hash.
    const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
    const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
    const items = (await db.send(new ScanCommand({ TableName: LOCAL_TABLE }))).Items ?? [];
    db.destroy();
    expect(JSON.stringify(items)).not.toContain(key.key);

    const list = await tidings(dataDir, 'keys', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^integrator +${key.id} +\\S+ +active$`, 'm'));
    expect(list.stdout).not.toContain(key.key);
  });

  it('revokes by name: the next write with the key is refused at once', async () => {
    const created = await tidings(dataDir, 'keys', 'create', '--name', 'leaked', '--json');
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
    expect((await post(rt, key)).status).toBe(201);

    const revoked = await tidings(dataDir, 'keys', 'revoke', 'leaked');
    expect(revoked).toMatchObject({ code: 0, stdout: `API key "leaked" (id ${id}) revoked\n` });
    expect((await post(rt, key)).status).toBe(403);

    const list = JSON.parse((await tidings(dataDir, 'keys', 'list', '--json')).stdout) as {
      id: string;
      revoked: boolean;
    }[];
    expect(list.find((k) => k.id === id)?.revoked).toBe(true);
    // The runtime's own key is untouched.
    expect((await post(rt, rt.apiKey)).status).toBe(201);
  });

  it('revokes by id, and says in one line when no key matches', async () => {
    const { key, id } = JSON.parse(
      (await tidings(dataDir, 'keys', 'create', '--name', 'by-id', '--json')).stdout,
    );
    expect((await tidings(dataDir, 'keys', 'revoke', id)).code).toBe(0);
    expect((await post(rt, key)).status).toBe(403);

    const none = await tidings(dataDir, 'keys', 'revoke', 'no-such-key');
    expect(none).toEqual({
      code: 1,
      stdout: '',
      stderr: 'tidings: no API key named or with id "no-such-key"\n',
    });
  });

  it('refuses a second live key of the same name, and a missing --name is a usage error', async () => {
    const again = await tidings(dataDir, 'keys', 'create', '--name', 'integrator');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^tidings: a key named "integrator" exists/);
    const missing = await tidings(dataDir, 'keys', 'create');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--name is required[\s\S]*Usage: tidings keys create --name NAME/);
  });
});

describe('tidings keys, with no server running', () => {
  it('opens the data folder itself; the key works once npm start runs', { timeout: 60_000 }, async () => {
    const dataDir = join(dir, 'stopped');
    const created = await tidings(dataDir, 'keys', 'create', '--name', 'offline', '--json');
    expect(created.code).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const rt = await startTestRuntime({ dataDir });
    try {
      expect((await post(rt, key)).status).toBe(201);
    } finally {
      await rt.stop();
    }
    // Revoked while stopped, refused after the next start.
    expect((await tidings(dataDir, 'keys', 'revoke', 'offline')).code).toBe(0);
    const again = await startTestRuntime({ dataDir });
    try {
      expect((await post(again, key)).status).toBe(403);
    } finally {
      await again.stop();
    }
  });

  it("revoking the runtime's own key makes the next start use a new one", { timeout: 60_000 }, async () => {
    const dataDir = join(dir, 'own');
    const first = await startTestRuntime({ dataDir });
    const old = first.apiKey;
    await first.stop();
    expect((await tidings(dataDir, 'keys', 'revoke', 'local')).code).toBe(0);
    const second = await startTestRuntime({ dataDir });
    try {
      expect(second.apiKey).not.toBe(old);
      expect((await post(second, second.apiKey)).status).toBe(201);
      expect((await post(second, old)).status).toBe(403);
    } finally {
      await second.stop();
    }
  });
});
