import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { putSuppression } from '../helpers/subscribers.js';
import { linkIn, mailTo, pathOf, seedTopics, subscriptionsOf } from '../helpers/subscriptions.js';
import { tidings } from './helpers.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tidings-cli-subscribers-'));
let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime({ dataDir });
  await seedTopics(rt);
}, 60_000);
afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const signUp = async (email: string, confirm: boolean) => {
  const res = await rt.request('/api/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, tags: ['Syria'], cadence: 'daily' }),
  });
  expect(res.status).toBe(202);
  if (!confirm) return;
  const link = linkIn((await mailTo(rt, email)).at(-1) as never, '/api/subscriptions/confirm');
  const confirmed = await rt.request(pathOf(link), {
    method: 'POST',
    headers: { accept: 'application/json' },
  });
  expect(confirmed.status).toBe(200);
};

const tableText = async (): Promise<string> => {
  const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
  try {
    return JSON.stringify(
      (await db.send(new ScanCommand({ TableName: LOCAL_TABLE }))).Items ?? [],
    ).toLowerCase();
  } finally {
    db.destroy();
  }
};

describe('tidings subscribers', () => {
  it('counts by status and exports as JSON lines and CSV', async () => {
    await signUp('Count.One@example.org', true);
    await signUp('count.two@example.org', false);

    const count = await tidings(dataDir, 'subscribers', 'count');
    expect(count).toMatchObject({ code: 0, stdout: '2 subscribers: 1 confirmed, 1 pending\n' });
    expect(JSON.parse((await tidings(dataDir, 'subscribers', 'count', '--json')).stdout)).toEqual({
      total: 2,
      byStatus: { confirmed: 1, pending: 1 },
    });

    const jsonl = await tidings(dataDir, 'subscribers', 'export');
    const rows = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.status === 'confirmed')).toMatchObject({
      email: 'Count.One@example.org',
      tags: ['syria'],
      topics: [],
      cadence: 'daily',
      confirmedAt: expect.any(String),
    });

    const csv = await tidings(dataDir, 'subscribers', 'export', '--format', 'csv');
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('email,status,tags,topics,cadence,createdAt,confirmedAt');
    expect(lines.slice(1).sort()[0]).toMatch(/^Count\.One@example\.org,confirmed,syria,,daily,\S+,\S+$/);

    expect((await tidings(dataDir, 'subscribers', 'export', '--format', 'xml')).code).toBe(2);
  });

  it('forget deletes the subscriber, cursor and ledger: the address is nowhere in the table, the suppression and limits stay', {
    timeout: 60_000,
  }, async () => {
    const email = 'Forget.Me@example.org';
    await signUp(email, true);
    // A digest, so a ledger item and a cursor exist for them.
    expect(
      (await rt.write('POST', '/api/events', makeEventInput({ headline: 'For the digest', tags: ['Syria'] })))
        .status,
    ).toBe(201);
    await rt.capture.idle();
    expect(JSON.parse((await tidings(dataDir, 'digest', '--now', '--json')).stdout)).toMatchObject({
      sent: 2,
    });
    const subs = subscriptionsOf(rt);
    const id = subs.idOf(email);
    const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
    await putSuppression(db, LOCAL_TABLE, id);
    const partition = async () =>
      ((await db.send(new ScanCommand({ TableName: LOCAL_TABLE }))).Items ?? [])
        .filter((i) => i.PK === `SUBSCRIBER#${id}`)
        .map((i) => String(i.SK))
        .sort();
    const before = await partition();
    expect(before).toEqual(expect.arrayContaining(['DIGEST_CURSOR', 'SUBSCRIBER', 'SUPPRESSED']));
    expect(before.some((sk) => sk.startsWith('DIGEST#daily#'))).toBe(true);
    const limitsBefore = ((await db.send(new ScanCommand({ TableName: LOCAL_TABLE }))).Items ?? []).filter(
      (i) => String(i.PK).startsWith('LIMIT#'),
    ).length;
    expect(limitsBefore).toBeGreaterThan(0);
    expect(await tableText()).toContain(email.toLowerCase());

    const forget = await tidings(dataDir, 'subscribers', 'forget', email.toUpperCase(), '--json');
    expect(forget.code).toBe(0);
    const report = JSON.parse(forget.stdout) as { deleted: number; kept: string[] };
    expect(report.deleted).toBe(before.length - 1);
    expect(report.kept.join(' ')).toMatch(/suppression[\s\S]*rate-limit/);

    expect(await partition()).toEqual(['SUPPRESSED']);
    expect(await tableText()).not.toContain(email.toLowerCase());
    expect(await tableText()).not.toContain('forget.me');
    expect(
      ((await db.send(new ScanCommand({ TableName: LOCAL_TABLE }))).Items ?? []).filter((i) =>
        String(i.PK).startsWith('LIMIT#'),
      ).length,
    ).toBe(limitsBefore);
    db.destroy();
    subs.close();

    // Forgetting again finds only the suppression, which stays.
    const again = await tidings(dataDir, 'subscribers', 'forget', email);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^forgotten: 0 items deleted; kept suppression/);
    expect(await tidings(dataDir, 'subscribers', 'forget', 'nobody@example.org')).toMatchObject({
      code: 1,
      stderr: 'tidings: no subscriber has this address\n',
    });
  });
});
