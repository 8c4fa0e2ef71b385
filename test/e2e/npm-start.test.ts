import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const dataDir = mkdtempSync(join(tmpdir(), 'tidings-e2e-'));
const API_KEY = 'tdg_e2e-test-key-0123456789abcdef';
const NEW_KEY = 'tdg_e2e-replacing-key-fedcba9876543210';

interface Started {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
}

/** Runs `npm start` as a user would, with the documented environment variables. */
const start = (apiKey = API_KEY): Promise<Started> =>
  new Promise((resolveStart, reject) => {
    // Its own process group, so Ctrl-C can be sent the way a terminal sends it: to npm and its children.
    const child = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, PORT: '0', TIDINGS_DATA_DIR: dataDir, TIDINGS_API_KEY: apiKey },
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`npm start did not print its URL:\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /API\s+(http:\/\/localhost:\d+)\/api\/events/.exec(out);
      if (m?.[1] && out.includes('Press Ctrl-C to stop')) {
        clearTimeout(timer);
        resolveStart({ child, url: m[1], output: () => out });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
  });

/**
 * Ctrl-C: SIGINT to the whole process group; resolves once npm has exited and its output is read
 * ('close': 'exit' can come before the last of the output).
 */
const stop = (started: Started): Promise<void> =>
  new Promise((resolveStop) => {
    started.child.removeAllListeners('exit');
    started.child.on('close', () => resolveStop());
    if (started.child.pid) process.kill(-started.child.pid, 'SIGINT');
  });

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The status of a GET sent with this Host header (fetch will not send a forged one). */
const statusWithHost = (url: string, path: string, host: string) =>
  new Promise<number>((resolveStatus, reject) => {
    const { port } = new URL(url);
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });

const post = (url: string, key: string, headline: string) =>
  fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ date: '2016-11-18', headline, tags: ['End To End'] }),
  });

describe('npm start', () => {
  it('serves the API with sample data, takes a post, and keeps it across a restart', async () => {
    const first = await start();
    expect(first.output()).toContain(`API key    ${API_KEY}`);
    expect(first.output()).toContain(`Data       ${dataDir}`);
    expect(first.output()).toMatch(/Samples\s+\d+ sample events loaded/);

    const tags = (await (await fetch(`${first.url}/api/tags`)).json()) as {
      tags: { slug: string; count: number }[];
    };
    expect(tags.tags.length).toBeGreaterThanOrEqual(25);
    expect(tags.tags.find((t) => t.slug === 'vladimir-putin')?.count).toBeGreaterThanOrEqual(6);

    const seedId =
      '2016/11/16/russian-president-vladimir-putin-signs-a-symbolic-order-to-withdraw-russia-s-signature-from-the-rome-statute-of-the-international-criminal-c';
    const seed = await fetch(`${first.url}/api/events/${seedId}`);
    expect(seed.status).toBe(200);
    expect(((await seed.json()) as { topic: string }).topic).toBe('Russian President');

    const posted = await fetch(`${first.url}/api/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        date: '2016-11-17',
        headline: 'End to end: an event posted over HTTP',
        tags: ['End To End'],
      }),
    });
    expect(posted.status).toBe(201);
    expect(posted.headers.get('location')).toBe(
      '/api/events/2016/11/17/end-to-end-an-event-posted-over-http',
    );

    const unauthorized = await fetch(`${first.url}/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(unauthorized.status).toBe(401);

    // Tag listings follow through the local change capture.
    let listed: { events: { id: string }[] } = { events: [] };
    for (let i = 0; i < 50 && listed.events.length === 0; i++) {
      const res = await fetch(`${first.url}/api/events?tag=end-to-end`);
      if (res.status === 200) listed = (await res.json()) as typeof listed;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(listed.events.map((e) => e.id)).toEqual(['2016/11/17/end-to-end-an-event-posted-over-http']);

    // Only this machine's names: a page that pointed its own name here (DNS rebinding) gets nothing.
    const port = new URL(first.url).port;
    expect(await statusWithHost(first.url, '/local/outbox', `evil.example:${port}`)).toBe(421);
    expect(await statusWithHost(first.url, '/local/outbox', `127.0.0.1:${port}`)).toBe(200);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);

    await stop(first);
    expect(first.output()).toContain('SIGINT: stopping');
    expect(first.output()).toContain(`Stopped. Data kept in ${dataDir}`);

    // Restarted with another key: the replaced one stops working.
    const second = await start(NEW_KEY);
    expect(second.output()).not.toContain('sample events loaded');
    expect((await post(second.url, API_KEY, 'Posted with the replaced key')).status).toBe(403);
    expect((await post(second.url, NEW_KEY, 'Posted with the new key')).status).toBe(201);
    const again = await fetch(`${second.url}/api/events/2016/11/17/end-to-end-an-event-posted-over-http`);
    expect(again.status).toBe(200);
    await stop(second);
    expect(second.output()).toContain('Stopped.');
    expect(existsSync(join(dataDir, 'dynamodb'))).toBe(true);
    expect(readFileSync(join(dataDir, 'changes.ndjson'), 'utf8')).toContain('"t":"base"');
  }, 120_000);
});
