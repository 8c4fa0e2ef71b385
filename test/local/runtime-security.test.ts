import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRuntime } from '../../local/runtime.js';
import { isLocalHost } from '../../local/server.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/** A GET over real HTTP with the Host header as given (fetch does not let a caller forge it). */
const get = (url: string, path: string, host: string | undefined) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = request(
      {
        host: hostname === 'localhost' ? '127.0.0.1' : hostname,
        port,
        path,
        method: 'GET',
        setHost: false,
        headers: host === undefined ? {} : { host },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });

describe('the local server answers only to its own names (DNS rebinding)', () => {
  let rt: TestRuntime;
  let port: number;
  beforeAll(async () => {
    rt = await startTestRuntime();
    port = Number(new URL(rt.url).port);
    await rt.write('POST', '/api/events', makeEventInput({ headline: 'Served only locally' }));
    await rt.capture.idle();
    await rt.publish();
  });
  afterAll(() => rt.dispose());

  const paths = ['/', '/api/tags', '/local/outbox', '/api/webhooks'];

  it.each(paths)('answers %s for localhost, 127.0.0.1 and [::1] with its port', async (path) => {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `LocalHost:${port}`]) {
      const res = await get(rt.url, path, host);
      // The webhook list needs a key: 401 is the API answering, not the Host rule.
      expect(res.status).toBe(path === '/api/webhooks' ? 401 : 200);
    }
  });

  it.each(paths)('refuses %s with 421 when Host names another site or port', async (path) => {
    for (const host of [
      `evil.example:${port}`,
      'evil.example',
      `localhost.evil.example:${port}`,
      `localhost:${port + 1}`,
      'localhost',
      `127.0.0.2:${port}`,
      '',
    ]) {
      const res = await get(rt.url, path, host);
      expect(res.status, `Host: ${host}`).toBe(421);
      expect(res.body).toContain('Misdirected Request');
      expect(res.body).not.toContain('Served only locally');
    }
    // No Host at all: Node's HTTP/1.1 parser refuses it before the server sees it.
    expect((await get(rt.url, path, undefined)).status).toBe(400);
  });

  it('accepts the bare name only on port 80, where browsers leave the port out', () => {
    expect(isLocalHost('localhost', 80)).toBe(true);
    expect(isLocalHost('127.0.0.1', 80)).toBe(true);
    expect(isLocalHost('localhost', 3000)).toBe(false);
    expect(isLocalHost('localhost:80', 80)).toBe(true);
  });
});

/** Every folder and file under `dir`, with its permission bits. */
const modesUnder = (dir: string): { path: string; dir: boolean; mode: number }[] => [
  { path: dir, dir: true, mode: statSync(dir).mode & 0o777 },
  ...readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((name) => {
    const info = statSync(join(dir, name));
    return { path: name, dir: info.isDirectory(), mode: info.mode & 0o777 };
  }),
];

describe('the data folder is owner-only', () => {
  let parent: string;
  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'tidings-modes-'));
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('creates every folder 0700 and every file 0600, the store, site and outbox included', async () => {
    const dataDir = join(parent, 'fresh');
    const rt = await startTestRuntime({ dataDir });
    try {
      // Something in every file the runtime writes: an event (journal, store, site), a webhook
      // (subscriptions.json), an email (outbox).
      const hook = { url: 'http://127.0.0.1:9/hook', changeTypes: ['deleted'] };
      expect((await rt.write('POST', '/api/webhooks', hook)).status).toBe(201);
      const res = await rt.write('POST', '/api/events', makeEventInput({ headline: 'Kept private' }));
      expect(res.status).toBe(201);
      await rt.capture.idle();
      await rt.publish();
      await rt.mailer.send({
        from: 'Tidings <tidings@localhost>',
        to: 'reader@example.com',
        subject: 'Private',
        text: 'token',
        html: '<p>token</p>',
      });
    } finally {
      await rt.stop();
    }
    const entries = modesUnder(dataDir);
    const names = entries.map((e) => e.path);
    for (const name of [
      'api-key',
      'api-key.sha256',
      'token-secret',
      'changes.ndjson',
      'subscriptions.json',
    ]) {
      expect(names).toContain(name);
    }
    expect(names.some((n) => n.startsWith('outbox/') && n.endsWith('.eml'))).toBe(true);
    expect(names.some((n) => n.startsWith('site/') && n.endsWith('.html'))).toBe(true);
    // LevelDB's own files, written by the store's process.
    expect(names.some((n) => n.startsWith('dynamodb/') && /CURRENT|\.log$|\.ldb$/.test(n))).toBe(true);
    expect(entries.filter((e) => e.dir && e.mode !== 0o700)).toEqual([]);
    expect(entries.filter((e) => !e.dir && e.mode !== 0o600)).toEqual([]);
  });

  it('tightens a data folder and files an earlier run left open to others', async () => {
    const dataDir = join(parent, 'open');
    const first = await startTestRuntime({ dataDir });
    await first.stop();
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'dynamodb'), 0o755);
    chmodSync(join(dataDir, 'api-key'), 0o644);
    chmodSync(join(dataDir, 'token-secret'), 0o644);
    const second = await startTestRuntime({ dataDir });
    await second.stop();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'dynamodb')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'api-key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'token-secret')).mode & 0o777).toBe(0o600);
  });
});

describe('a key replaced through TIDINGS_API_KEY stops working', () => {
  const keyA = 'tdg_replaced-key-aaaaaaaaaaaaaaaaaaaa';
  const keyB = 'tdg_replacing-key-bbbbbbbbbbbbbbbbbbb';
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'tidings-keys-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const post = (rt: TestRuntime, key: string, headline: string) =>
    rt.write('POST', '/api/events', makeEventInput({ headline }), { authorization: `Bearer ${key}` });

  it('start with key A, restart with key B: A gets 403, B writes', async () => {
    const first = await startTestRuntime({ dataDir, apiKey: keyA });
    expect((await post(first, keyA, 'Written with A')).status).toBe(201);
    await first.stop();

    const second = await startTestRuntime({ dataDir, apiKey: keyB });
    try {
      expect((await post(second, keyA, 'A again')).status).toBe(403);
      expect((await post(second, keyB, 'Written with B')).status).toBe(201);
    } finally {
      await second.stop();
    }
  });

  it('the generated key in <data>/api-key stops working when another is given, and the file goes', async () => {
    const dir = join(dataDir, 'generated');
    const first = await startTestRuntime({ dataDir: dir });
    const generated = first.apiKey;
    await first.stop();
    expect(readdirSync(dir)).toContain('api-key');

    const second = await startTestRuntime({ dataDir: dir, apiKey: keyB });
    try {
      expect((await post(second, generated, 'Generated again')).status).toBe(403);
      expect((await post(second, keyB, 'Given')).status).toBe(201);
      // No local command picks up the dead key.
      expect(readdirSync(dir)).not.toContain('api-key');
    } finally {
      await second.stop();
    }
  });
});

describe('the local commands talk to 127.0.0.1', () => {
  it('find a running server by address, not by the name localhost', async () => {
    const { findServer } = await import('../../cli/local/target.js');
    const dir = mkdtempSync(join(tmpdir(), 'tidings-loopback-'));
    const rt = await startRuntime({ dataDir: dir, port: 0, loadSamples: false, publishIntervalMs: 0 });
    try {
      const server = await findServer(dir);
      expect(server?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await rt.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
