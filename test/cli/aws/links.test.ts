import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMOTE_AFTER_MS } from '../../../cli/aws/links.js';
import { linkKeysOf } from '../../../shared/adapters/token-secret.js';
import { signToken, subscriberIdOf, verifyToken } from '../../../shared/domain/tokens.js';
import { type FakeStack, fakeStack, outputsOf } from './fake-stack.js';

// Secrets Manager faked with state: each put makes a new current version, dated by the test's clock.

let stack: FakeStack;
const outputs = outputsOf('');
const PLAIN = 'p1ainStringSecretOfAtLeastThirtyTwoCharacters';
let current: { SecretString: string; VersionId: string; CreatedDate: Date };
const versions: string[] = [];

const stored = () =>
  JSON.parse(current.SecretString) as Record<string, unknown> & { signing: { kid: string }[] };
const kids = () => stored().signing.map((s) => s.kid);
const claims = (nowSeconds: number) => ({
  sub: 'a'.repeat(32),
  purpose: 'unsubscribe' as const,
  v: 1,
  exp: nowSeconds + 3600,
});

beforeAll(async () => {
  stack = await fakeStack();
  current = { SecretString: PLAIN, VersionId: 'v0', CreatedDate: new Date(stack.clock.now - 86_400_000) };
  stack.fakes.secrets
    .on(GetSecretValueCommand, { SecretId: outputs.TokenSecretArn })
    .callsFake(() => ({ ...current }));
  stack.fakes.secrets.on(PutSecretValueCommand).callsFake((input: PutSecretValueCommandInput) => {
    if (input.SecretId !== outputs.TokenSecretArn) throw new Error(`no secret ${input.SecretId}`);
    versions.push(input.SecretString ?? '');
    current = {
      SecretString: input.SecretString ?? '',
      VersionId: `v${versions.length}`,
      CreatedDate: new Date(stack.clock.now),
    };
    return { ARN: input.SecretId, VersionId: current.VersionId };
  });
});
afterAll(() => stack.close());

describe('links rotate against a deployed stack', () => {
  it('adds a new key second, turning a plain string into its JSON, and says when to run again', async () => {
    const idBefore = subscriberIdOf(linkKeysOf(PLAIN), 'ada@example.org');
    const out = await stack.backend.links.rotate({ retireOld: false, wait: false });
    expect(out).toEqual({
      current: 'k1',
      accepted: ['k1', 'k2'],
      pending: { kid: 'k2', after: new Date(stack.clock.now + PROMOTE_AFTER_MS).toISOString() },
      steps: ['added'],
    });
    expect(stored()).toMatchObject({ id: PLAIN, legacyIds: true, legacyLinks: true });
    expect(stored().signing[0]).toEqual({ kid: 'k1', secret: PLAIN });
    // Subscriber ids never move.
    expect(subscriberIdOf(linkKeysOf(current.SecretString), 'ada@example.org')).toBe(idBefore);
  });

  it('run again too early: changes nothing and says when', async () => {
    stack.clock.now += 60_000;
    const out = await stack.backend.links.rotate({ retireOld: false, wait: false });
    expect(out).toMatchObject({ current: 'k1', steps: ['nothing'], pending: { kid: 'k2' } });
    expect(versions).toHaveLength(1);
  });

  it('run again once every function has re-read the secret: the new key signs, the old one still verifies', async () => {
    const before = linkKeysOf(current.SecretString);
    const nowSeconds = Math.floor(stack.clock.now / 1000);
    const oldLink = signToken(before, claims(nowSeconds));
    stack.clock.now += PROMOTE_AFTER_MS;
    const out = await stack.backend.links.rotate({ retireOld: false, wait: false });
    expect(out).toEqual({ current: 'k2', accepted: ['k2', 'k1'], steps: ['promoted'] });
    const after = linkKeysOf(current.SecretString);
    expect(verifyToken(after, oldLink, 'unsubscribe', nowSeconds)).toMatchObject({ ok: true });
    expect(signToken(after, claims(nowSeconds)).startsWith('k2.')).toBe(true);
  });

  it('--retire waits for the functions by itself, then promotes the next key and drops the others', async () => {
    const idBefore = subscriberIdOf(linkKeysOf(current.SecretString), 'ada@example.org');
    const nowSeconds = Math.floor(stack.clock.now / 1000);
    const k2Link = signToken(linkKeysOf(current.SecretString), claims(nowSeconds));
    stack.slept.length = 0;
    const out = await stack.backend.links.rotate({ retireOld: true });
    expect(out).toEqual({ current: 'k3', accepted: ['k3'], steps: ['added', 'promoted', 'retired'] });
    expect(stack.slept.reduce((a, b) => a + b, 0)).toBe(PROMOTE_AFTER_MS);
    expect(kids()).toEqual(['k3']);
    expect(stored().legacyLinks).toBeUndefined();
    expect(stored().legacyIds).toBe(true);
    const keys = linkKeysOf(current.SecretString);
    expect(subscriberIdOf(keys, 'ada@example.org')).toBe(idBefore);
    expect(verifyToken(keys, k2Link, 'unsubscribe', nowSeconds)).toEqual({
      ok: false,
      reason: 'retired key',
    });
  });

  it('a --retire run stopped while waiting, run again, finishes that rotation', async () => {
    const first = await stack.backend.links.rotate({ retireOld: true, wait: false });
    expect(first).toMatchObject({
      current: 'k3',
      accepted: ['k3', 'k4'],
      steps: ['added'],
      pending: { kid: 'k4' },
    });
    stack.clock.now += PROMOTE_AFTER_MS;
    const again = await stack.backend.links.rotate({ retireOld: true, wait: false });
    expect(again).toEqual({ current: 'k4', accepted: ['k4'], steps: ['promoted', 'retired'] });
  });

  it('says in one line when the stored secret cannot be read', async () => {
    current = { ...current, SecretString: '{"id": "short"}' };
    await expect(stack.backend.links.rotate({ retireOld: false, wait: false })).rejects.toThrow(
      /^the stored token secret cannot be read: token secret: signing must be a list/,
    );
  });
});
