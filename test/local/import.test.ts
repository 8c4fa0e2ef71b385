import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from '../../local/dynamodb.js';
import { ImportError, importEvents } from '../../local/import-events.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'local/import.ts');

let runtime: TestRuntime;
let dir: string;

beforeAll(async () => {
  runtime = await startTestRuntime();
  dir = mkdtempSync(join(tmpdir(), 'tidings-import-'));
});

afterAll(async () => {
  await runtime?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ndjson = (name: string, lines: string[]): string => {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
};

const event = (date: string, headline: string, extra: Record<string, unknown> = {}) => ({
  date,
  headline,
  tags: ['Import'],
  ...extra,
});

/** Valid, duplicate and invalid events; `tag` keeps each test's events apart. */
const mixedEvents = (tag: string) => {
  const first = event('2016-11-16', `${tag} first event happens`);
  return [
    first,
    event('2016-11-17', `${tag} second event happens`, { body: 'Something happened.' }),
    first, // the same event again: unchanged
    event('2016-11-16', 'x'.repeat(612)),
    event('2016-11-16', `${tag} first event happens`, { body: 'Different content, same id.' }),
    event('2016-02-30', `${tag} impossible day`),
    event('2016-11-18', `${tag} unknown field`, { bogus: true }),
  ];
};

const run = (
  args: string[],
  env: Record<string, string> = {},
  cwd = dir,
): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolveRun, reject) => {
    const child = spawn(TSX, [CLI, ...args], {
      cwd,
      env: { ...process.env, TIDINGS_API_KEY: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });

describe('importEvents', () => {
  it('imports NDJSON: exact counts, reasons naming the line and the field', async () => {
    const [a, b, dup, long, conflict, badDate, unknown] = mixedEvents('ndjson').map((e) => JSON.stringify(e));
    const file = ndjson('mixed.ndjson', [
      a as string,
      b as string,
      '',
      dup as string,
      long as string,
      '{"date": "2016-11-16", "headline": ',
      conflict as string,
      '   ',
      badDate as string,
      unknown as string,
    ]);

    const progress: number[] = [];
    const result = await importEvents({
      file,
      url: runtime.url,
      apiKey: runtime.apiKey,
      onProgress: (p) => progress.push(p.bytesDone / p.totalBytes),
    });

    expect(result.imported).toBe(2);
    expect(result.unchanged).toBe(1);
    expect(result.rejected.map((r) => r.location)).toEqual([
      'line 5',
      'line 6',
      'line 7',
      'line 9',
      'line 10',
    ]);
    const reasons = Object.fromEntries(result.rejected.map((r) => [r.location, r.reason]));
    expect(reasons['line 5']).toBe('headline: must be at most 500 characters (got 612)');
    expect(reasons['line 6']).toMatch(/^not valid JSON: /);
    expect(reasons['line 7']).toMatch(
      /^event 2016\/11\/16\/ndjson-first-event-happens already exists with different content/,
    );
    expect(reasons['line 9']).toBe('date: must be a real calendar date (2016-02-30 does not exist)');
    expect(reasons['line 10']).toMatch(/^bogus: is not a known field/);
    expect(progress.at(-1)).toBe(1);

    const stored = await runtime.request('/api/events/2016/11/17/ndjson-second-event-happens');
    expect(stored.status).toBe(200);
    expect(((await stored.json()) as { body: string }).body).toBe('Something happened.');
  });

  it('imports a JSON array the same way, with item numbers', async () => {
    const file = join(dir, 'mixed.json');
    const events = mixedEvents('array');
    // Pretty-printed over many lines, with a byte order mark: locations are items, not lines.
    writeFileSync(file, `\uFEFF\n${JSON.stringify(events, null, 2)}\n`);

    const result = await importEvents({ file, url: runtime.url, apiKey: runtime.apiKey });

    expect(result.imported).toBe(2);
    expect(result.unchanged).toBe(1);
    expect(result.rejected).toEqual([
      { location: 'item 4', reason: 'headline: must be at most 500 characters (got 612)' },
      { location: 'item 5', reason: expect.stringMatching(/already exists with different content/) },
      { location: 'item 6', reason: 'date: must be a real calendar date (2016-02-30 does not exist)' },
      { location: 'item 7', reason: expect.stringMatching(/^bogus: is not a known field/) },
    ]);
  });

  it('refuses a broken JSON array before sending any of it, naming the line and column', async () => {
    const file = join(dir, 'broken.json');
    const [a, b] = mixedEvents('broken').map((e) => JSON.stringify(e));
    writeFileSync(file, `[${a},\n${b},\n{"date": tru}, ${a}]`);

    await expect(importEvents({ file, url: runtime.url, apiKey: runtime.apiKey })).rejects.toMatchObject({
      kind: 'file',
      message: expect.stringMatching(
        /broken\.json: not valid JSON at line 3, column 10: .*nothing was imported$/,
      ),
    });
    expect((await runtime.request('/api/events/2016/11/16/broken-first-event-happens')).status).toBe(404);
  });

  it('re-importing the same file changes nothing', async () => {
    const file = ndjson(
      'again.ndjson',
      Array.from({ length: 250 }, (_, i) => JSON.stringify(event('2016-10-01', `Again event ${i}`))),
    );

    const first = await importEvents({ file, url: runtime.url, apiKey: runtime.apiKey });
    const second = await importEvents({ file, url: runtime.url, apiKey: runtime.apiKey });

    expect(first).toEqual({ imported: 250, unchanged: 0, rejected: [] });
    expect(second).toEqual({ imported: 0, unchanged: 250, rejected: [] });
  });

  it('splits a batch over 256 KB until the API takes it', async () => {
    const file = ndjson(
      'large.ndjson',
      Array.from({ length: 100 }, (_, i) =>
        JSON.stringify(event('2016-09-01', `Large event ${i}`, { body: `${i} `.padEnd(15_000, 'x') })),
      ),
    );
    const statuses: number[] = [];
    const realFetch = globalThis.fetch;
    const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (...args) => {
      const response = await realFetch(...args);
      statuses.push(response.status);
      return response;
    });
    try {
      const result = await importEvents({ file, url: runtime.url, apiKey: runtime.apiKey });
      expect(result).toEqual({ imported: 100, unchanged: 0, rejected: [] });
    } finally {
      spy.mockRestore();
    }
    // 100 events of ~15 KB: the whole batch, then its halves and quarters are too large.
    expect(statuses.filter((s) => s === 413).length).toBeGreaterThanOrEqual(7);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(8);

    const stored = await runtime.request('/api/events/2016/09/01/large-event-99');
    expect(((await stored.json()) as { body: string }).body).toHaveLength(15_000);
  });

  it('refuses a wrong key, a missing file and a dead server with an ImportError', async () => {
    const file = ndjson('one.ndjson', [JSON.stringify(event('2016-08-01', 'Key test'))]);

    await expect(
      importEvents({ file, url: runtime.url, apiKey: 'tdg_not-a-key-that-exists-anywhere' }),
    ).rejects.toMatchObject({ kind: 'auth', message: expect.stringMatching(/refused the API key/) });
    await expect(
      importEvents({ file: join(dir, 'missing.ndjson'), url: runtime.url, apiKey: runtime.apiKey }),
    ).rejects.toMatchObject({ kind: 'file', message: expect.stringMatching(/no such file/) });

    const port = await freePort();
    const dead = importEvents({ file, url: `http://127.0.0.1:${port}`, apiKey: 'x', retryDelayMs: 1 });
    await expect(dead).rejects.toBeInstanceOf(ImportError);
    await expect(dead).rejects.toMatchObject({
      kind: 'server',
      message: expect.stringMatching(/4 attempts/),
    });
  });
});

describe('npm run import (the CLI)', () => {
  it('prints the summary, lists 20 rejections, writes all of them to a file and exits 1', {
    timeout: 90_000,
  }, async () => {
    const cwd = mkdtempSync(join(dir, 'cli-'));
    const lines = [
      ...Array.from({ length: 3 }, (_, i) => JSON.stringify(event('2016-07-01', `CLI event ${i}`))),
      ...Array.from({ length: 22 }, (_, i) => JSON.stringify(event('2016-07-01', `CLI bad ${i}`, { x: i }))),
    ];
    const file = ndjson('cli.ndjson', lines);

    const { code, stdout, stderr } = await run(
      [file, '--url', runtime.url, '--key', runtime.apiKey],
      {},
      cwd,
    );

    expect(stderr).toMatch(/importing 100%/);
    expect(code).toBe(1);
    const out = stdout.trimEnd().split('\n');
    expect(out[0]).toBe('imported 3, unchanged 0, rejected 22');
    expect(out[1]).toBe(
      '  line 4: x: is not a known field (allowed: id, date, headline, body, topic, tags, sources, image)',
    );
    expect(out.filter((l) => /^ {2}line \d+: /.test(l))).toHaveLength(20);
    expect(out.at(-1)).toMatch(/and 2 more; all 22 rejections are in .*import-rejected\.ndjson$/);
    const written = readFileSync(join(cwd, 'import-rejected.ndjson'), 'utf8').trim().split('\n');
    expect(written).toHaveLength(22);
    expect(JSON.parse(written[21] as string)).toMatchObject({ location: 'line 25' });
  });

  it('exits 0 when everything is imported or unchanged, 1 on a refused key or a missing file, 2 on a usage mistake', {
    timeout: 90_000,
  }, async () => {
    const file = ndjson('cli-ok.ndjson', [JSON.stringify(event('2016-07-02', 'CLI fine'))]);

    const ok = await run([file, `--url=${runtime.url}`, '--key', runtime.apiKey]);
    expect(ok).toMatchObject({ code: 0, stdout: 'imported 1, unchanged 0, rejected 0\n' });

    const refused = await run([file, '--url', runtime.url], {
      TIDINGS_API_KEY: 'tdg_wrong-key-for-this-test-0000',
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^tidings: .*refused the API key/m);

    const missing = await run([join(dir, 'nope.ndjson'), '--url', runtime.url, '--key', runtime.apiKey]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.ndjson: cannot read it \(no such file\)/);

    const usage = await run([]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/Usage: tidings import FILE/);
  });

  it('without --url and with no server, imports through a local runtime of its own', {
    timeout: 90_000,
  }, async () => {
    const dataDir = mkdtempSync(join(dir, 'data-'));
    const file = ndjson('cli-local.ndjson', [
      JSON.stringify(event('2016-07-03', 'Local one', { tags: ['Local'] })),
      JSON.stringify(event('2016-07-03', 'Local two', { tags: ['Local'] })),
    ]);
    const env = { PORT: String(await freePort()), TIDINGS_DATA_DIR: dataDir };

    const first = await run([file], env);
    expect(first.stderr).toMatch(/No server running on .*; importing through a local runtime/);
    expect(first).toMatchObject({ code: 0, stdout: 'imported 2, unchanged 0, rejected 0\n' });
    // The key it created is kept, and the events (and their listings) are in the data folder.
    expect(existsSync(join(dataDir, 'api-key'))).toBe(true);
    const second = await run([file], env);
    expect(second).toMatchObject({ code: 0, stdout: 'imported 0, unchanged 2, rejected 0\n' });

    const local = await startTestRuntime({ dataDir });
    try {
      const tag = await local.request('/api/events?tag=local');
      expect(tag.status).toBe(200);
      expect(((await tag.json()) as { events: unknown[] }).events).toHaveLength(2);
    } finally {
      await local.dispose();
    }
  });
});

describe('a 100,000-line file', () => {
  let endpoint: Server | undefined;
  afterAll(() => new Promise<void>((resolve) => (endpoint ? endpoint.close(() => resolve()) : resolve())));

  /**
   * The property under test is the importer's: it streams the file and keeps a bounded number of
   * batches in flight. The endpoint here answers like POST /api/events/batch without a store
   * behind it, so the test measures the importer and not dynalite (100,000 events through the
   * real runtime take minutes; the other tests cover that path).
   */
  it('imports with flat memory', { timeout: 180_000 }, async () => {
    const file = join(dir, 'big.ndjson');
    const out = createWriteStream(file);
    for (let i = 0; i < 100_000; i++) {
      const month = String((i % 12) + 1).padStart(2, '0');
      const day = String((i % 28) + 1).padStart(2, '0');
      const line = `${JSON.stringify(event(`2015-${month}-${day}`, `Bulk event ${i}`, { tags: [`Tag ${i % 10}`] }))}\n`;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');

    let received = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    endpoint = createServer(async (req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const { events } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: unknown[] };
      received += events.length;
      const ok =
        req.url === '/api/events/batch' && req.headers.authorization === 'Bearer tdg_import-memory-test-key';
      res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          summary: { created: events.length, unchanged: 0, rejected: 0 },
          results: events.map((_, index) => ({
            index,
            status: 201,
            id: `x/${index}`,
            revision: 1,
            result: 'created',
          })),
        }),
      );
      inFlight--;
    });
    await new Promise<void>((resolve) => endpoint?.listen(0, '127.0.0.1', () => resolve()));
    const address = endpoint.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const startedAt = performance.now();
    let result: Awaited<ReturnType<typeof importEvents>>;
    try {
      result = await importEvents({ file, url, apiKey: 'tdg_import-memory-test-key' });
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const growthMb = (peak - baseline) / 1024 / 1024;
    console.log(
      `100,000 lines: ${seconds.toFixed(1)} s (${Math.round(100_000 / seconds)} events/s), ` +
        `rss ${Math.round(baseline / 1024 / 1024)} MB → peak ${Math.round(peak / 1024 / 1024)} MB (+${growthMb.toFixed(0)} MB)`,
    );

    expect(result.rejected).toEqual([]);
    expect(result.imported).toBe(100_000);
    expect(received).toBe(100_000);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    // The file is 6.9 MB of JSON; held whole as objects it would be several times that.
    expect(growthMb).toBeLessThan(100);
  });
});
