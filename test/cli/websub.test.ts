import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { makeWebSubStore } from '../../shared/adapters/websub-store.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { tidings } from './helpers.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tidings-cli-websub-'));
let rt: TestRuntime;
let reader: Server;
let base: string;

beforeAll(async () => {
  // A feed reader on this machine that confirms every verification.
  reader = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.end(url.searchParams.get('hub.challenge') ?? '');
  });
  await new Promise<void>((r) => reader.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(reader.address() as AddressInfo).port}`;
  rt = await startTestRuntime({ dataDir });
  expect((await rt.write('POST', '/api/events', makeEventInput())).status).toBe(201);
  await rt.capture.idle();
  await rt.publish();
});
afterAll(async () => {
  await rt?.stop();
  await new Promise<void>((r) => reader.close(() => r()));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('tidings websub', () => {
  it('list: the live subscriptions, their callbacks without the query, never a secret', async () => {
    expect((await tidings(dataDir, 'websub', 'list')).stdout).toBe('no WebSub subscriptions\n');
    const res = await fetch(`${rt.url}/api/websub`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        'hub.mode': 'subscribe',
        'hub.topic': `${rt.url}/feeds/all.atom`,
        'hub.callback': `${base}/reader?key=private`,
        'hub.secret': 'never-shown',
      }).toString(),
    });
    expect(res.status).toBe(202);
    await rt.hub.drain();
    const list = await tidings(dataDir, 'websub', 'list', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({
        topic: 'feeds/all.atom',
        callback: `${base}/reader`,
        state: 'active',
        signed: true,
      }),
    ]);
    expect(list.stdout).not.toContain('never-shown');
    expect(list.stdout).not.toContain('private');
    const text = await tidings(dataDir, 'websub', 'list');
    expect(text.stdout).toMatch(
      new RegExp(`^feeds/all\\.atom  ${base}/reader  active  until \\S+Z  signed\\n$`),
    );
  });

  it('failed: the deliveries the hub gave up on', async () => {
    expect((await tidings(dataDir, 'websub', 'failed')).stdout).toBe('no failed WebSub deliveries\n');
    const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
    await makeWebSubStore(db, 'tidings').recordFailure(
      {
        at: new Date().toISOString(),
        topic: 'feeds/tags/russia.rss',
        callback: 'https://reader.example/cb?token=private',
        attempts: 7,
        reason: 'answered 503',
      },
      Math.floor(Date.now() / 1000),
    );
    db.destroy();
    const failed = await tidings(dataDir, 'websub', 'failed');
    expect(failed.stdout).toMatch(
      /feeds\/tags\/russia\.rss {2}https:\/\/reader\.example\/cb {2}7 attempts {2}answered 503\n$/,
    );
    expect(failed.stdout).not.toContain('private');
  });
});
