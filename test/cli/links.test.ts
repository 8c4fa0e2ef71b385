import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkKeysOf } from '../../shared/adapters/token-secret.js';
import { subscriberIdOf, subscriberLinks } from '../../shared/domain/tokens.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { linkIn, mailTo, pathOf, seedTopics, subscriptionsOf } from '../helpers/subscriptions.js';
import { tidings } from './helpers.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tidings-cli-links-'));
let rt: TestRuntime;
beforeAll(async () => {
  rt = await startTestRuntime({ dataDir });
  await seedTopics(rt);
}, 60_000);
afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const secretFile = () => readFileSync(join(dataDir, 'token-secret'), 'utf8');

const confirmLinkFor = async (email: string): Promise<string> => {
  const res = await rt.request('/api/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, tags: ['Syria'], cadence: 'daily' }),
  });
  expect(res.status).toBe(202);
  return linkIn((await mailTo(rt, email)).at(-1) as never, '/api/subscriptions/confirm');
};
const tokenOf = (url: string) => new URL(url).searchParams.get('token') ?? '';
const view = (url: string) => rt.request(pathOf(url), { headers: { accept: 'application/json' } });

describe('tidings links rotate', () => {
  it('adds a key the running server signs with, keeps old links working until --retire, and never changes ids', {
    timeout: 60_000,
  }, async () => {
    const email = 'rotating.reader@example.org';
    const confirm = await confirmLinkFor(email);
    expect(tokenOf(confirm)).toMatch(/^k1\./);
    expect(
      (await rt.request(pathOf(confirm), { method: 'POST', headers: { accept: 'application/json' } })).status,
    ).toBe(200);
    const subs = subscriptionsOf(rt);
    const stored = await subs.subscriber(email);
    subs.close();
    if (!stored) throw new Error('not stored');
    const oldManage = subscriberLinks(
      linkKeysOf(secretFile()),
      rt.url,
      stored,
      Math.floor(Date.now() / 1000),
    ).manage;
    expect((await view(oldManage)).status).toBe(200);

    const rotated = await tidings(dataDir, 'links', 'rotate');
    expect(rotated).toMatchObject({ code: 0, stdout: 'signing with k2; accepted: k2, k1\n' });
    const during = linkKeysOf(secretFile());
    expect(subscriberIdOf(during, email)).toBe(stored.id);
    // The running server took the new key at once: new links carry k2, old ones still work.
    expect(tokenOf(await confirmLinkFor('after.rotation@example.org'))).toMatch(/^k2\./);
    expect((await view(oldManage)).status).toBe(200);
    const newManage = subscriberLinks(during, rt.url, stored, Math.floor(Date.now() / 1000)).manage;
    expect(tokenOf(newManage)).toMatch(/^k2\./);

    const retired = await tidings(dataDir, 'links', 'rotate', '--retire', '--json');
    expect(retired.code).toBe(0);
    expect(JSON.parse(retired.stdout)).toEqual({ current: 'k2', accepted: ['k2'] });
    expect((await view(oldManage)).status).toBe(410);
    expect((await view(newManage)).status).toBe(200);
    expect(subscriberIdOf(linkKeysOf(secretFile()), email)).toBe(stored.id);
  });
});
