import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findServer } from '../../cli/local/target.js';
import { freePort } from '../../local/dynamodb.js';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { linkKeysOf } from '../../shared/adapters/token-secret.js';
import { subscriberIdOf } from '../../shared/domain/tokens.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime } from '../helpers/runtime.js';
import { makeSubscriber, putSubscriber } from '../helpers/subscribers.js';
import { ROOT, tidings, tidingsProcess } from './helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-cli-server-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a running npm start, found from its data folder whatever its port', () => {
  it('`tidings digest --now` sends through the server on a random port (it used to crash with ECONNREFUSED)', {
    timeout: 180_000,
  }, async () => {
    const dataDir = tempDir();
    const rt = await startTestRuntime({ dataDir });
    try {
      const email = 'found.server@example.org';
      const confirmedAt = new Date(Date.now() - 60 * 60 * 1000).toISOString();
      const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
      await putSubscriber(
        db,
        LOCAL_TABLE,
        makeSubscriber(1, {
          id: subscriberIdOf(linkKeysOf(rt.tokenSecret), email),
          email,
          tags: [{ slug: 'syria', name: 'Syria' }],
          confirmedAt,
          cursor: confirmedAt,
        }),
      );
      db.destroy();
      expect((await rt.write('POST', '/api/events', makeEventInput({ tags: ['Syria'] }))).status).toBe(201);
      await rt.capture.idle();

      // PORT names a port nothing listens on: the command must not look there.
      const env = { TIDINGS_DATA_DIR: dataDir, PORT: String(await freePort()) };
      const digest = await tidingsProcess(env, 'digest', '--now');
      expect(digest.stderr).toBe('');
      expect(digest).toMatchObject({ code: 0 });
      expect(digest.stdout).toMatch(/^daily digests in [\d.]+ s: 1 sent, 0 with nothing new/);
      // Sent by the server (the data folder stayed its own: a second process could not have opened it).
      expect(readdirSync(rt.outboxDir).filter((f) => f.endsWith('.eml'))).toHaveLength(1);

      const status = await tidingsProcess(env, 'status', '--json');
      expect(status.code).toBe(0);
      const report = JSON.parse(status.stdout);
      expect(report.target).toEqual({ kind: 'local', dataDir, url: rt.loopbackUrl });
      expect(report.counts).toEqual({ events: 1, tags: 1, subscribers: 1 });

      // The old alias, as people type it.
      const publish = await tidingsProcess(env, 'publish');
      expect(publish.code).toBe(0);
      expect(publish.stdout).toMatch(/^published in [\d.]+ s: \d+ written/);
    } finally {
      await rt.stop();
    }
  });

  it('import goes through the running server with the stored key; migrate refuses to open its folder', {
    timeout: 60_000,
  }, async () => {
    const dataDir = tempDir();
    const rt = await startTestRuntime({ dataDir });
    try {
      const file = join(dataDir, 'events.ndjson');
      writeFileSync(
        file,
        `${JSON.stringify(makeEventInput({ headline: 'Imported through the server', tags: ['Imports'] }))}\n`,
      );
      const imported = await tidings(dataDir, 'import', file);
      expect(imported).toMatchObject({ code: 0, stdout: 'imported 1, unchanged 0, rejected 0\n' });
      await rt.capture.idle();
      expect((await rt.request('/api/events?tag=imports')).status).toBe(200);
      const json = await tidings(dataDir, 'import', file, '--json');
      expect(JSON.parse(json.stdout)).toMatchObject({ imported: 0, unchanged: 1, rejected: [] });

      const migrate = await tidings(dataDir, 'migrate');
      expect(migrate.code).toBe(2);
      expect(migrate.stderr).toMatch(/npm start` runs on .* stop it first/);
    } finally {
      await rt.stop();
    }
  });

  it('npm run publish|digest keep their flags as aliases of tidings', { timeout: 120_000 }, async () => {
    const dataDir = tempDir();
    const npm = (...args: string[]) =>
      new Promise<{ code: number; stdout: string }>((done) =>
        execFile(
          'npm',
          ['run', '--silent', ...args],
          { cwd: ROOT, env: { ...process.env, TIDINGS_DATA_DIR: dataDir }, timeout: 60_000 },
          (error, stdout) =>
            done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout }),
        ),
      );
    const publish = await npm('publish', '--', '--full');
    expect(publish).toMatchObject({ code: 0 });
    expect(publish.stdout).toMatch(/^published everything in [\d.]+ s: /);
    const digest = await npm('digest', '--', '--now', '--cadence', 'weekly');
    expect(digest.code).toBe(0);
    expect(digest.stdout).toMatch(/^weekly digests in [\d.]+ s: 0 sent/);
  });

  it('records the server owner-only, answers the admin token only (not the API key), and forgets it on stop', async () => {
    const dataDir = tempDir();
    const rt = await startTestRuntime({ dataDir });
    const serverFile = join(dataDir, 'server.json');
    const tokenFile = join(dataDir, 'admin-token');
    try {
      expect(statSync(serverFile).mode & 0o777).toBe(0o600);
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(serverFile, 'utf8'))).toMatchObject({
        url: rt.loopbackUrl,
        pid: process.pid,
      });
      const server = await findServer(dataDir);
      expect(server?.url).toBe(rt.loopbackUrl);

      const post = (authorization: string) =>
        fetch(`${rt.loopbackUrl}/local/admin/keys.list`, { method: 'POST', headers: { authorization } });
      expect((await post(`Bearer ${rt.apiKey}`)).status).toBe(403);
      expect((await post('Bearer not-the-token')).status).toBe(403);
      const ok = await post(`Bearer ${readFileSync(tokenFile, 'utf8').trim()}`);
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { result: { name: string }[] }).result.map((k) => k.name)).toEqual([
        'local',
      ]);
    } finally {
      await rt.stop();
    }
    expect(existsSync(serverFile)).toBe(false);
    expect(await findServer(dataDir)).toBeUndefined();
  });

  it('ignores a record left by a server that died, and opens the data folder itself', {
    timeout: 120_000,
  }, async () => {
    const dataDir = tempDir();
    const rt = await startTestRuntime({ dataDir });
    await rt.stop();
    // As a killed server leaves it: a pid that no longer runs, a port nothing listens on.
    writeFileSync(
      join(dataDir, 'server.json'),
      JSON.stringify({ url: 'http://127.0.0.1:1', port: 1, pid: 2 ** 22 + 7, startedAt: 'then' }),
    );
    expect(await findServer(dataDir)).toBeUndefined();
    const status = await tidingsProcess({ TIDINGS_DATA_DIR: dataDir }, 'status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).target).toEqual({ kind: 'local', dataDir });

    // A live process that does not answer (starting, hung) still holds the store: refused in one line.
    writeFileSync(
      join(dataDir, 'server.json'),
      JSON.stringify({ url: 'http://127.0.0.1:1', port: 1, pid: process.pid, startedAt: 'now' }),
    );
    const held = await tidingsProcess({ TIDINGS_DATA_DIR: dataDir }, 'keys', 'list');
    expect(held.code).toBe(1);
    expect(held.stderr).toBe(
      `tidings: the data folder ${dataDir} is held by process ${process.pid} (port 1), which does not answer; wait until it has started, or stop it (if no Tidings runs there, delete ${join(dataDir, 'server.json')})\n`,
    );
  });
});
