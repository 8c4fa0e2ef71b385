import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import {
  linkKeysOf,
  newTokenSecret,
  parseTokenSecret,
  SECRET_MAX_AGE_MS,
  secretsManagerString,
  secretsManagerTokenSecret,
  staticTokenSecret,
} from '../../../shared/adapters/token-secret.js';
import { signToken, subscriberIdOf, verifyToken } from '../../../shared/domain/tokens.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('parseTokenSecret', () => {
  it('reads a plain string as the format every deployment made before key ids holds', () => {
    expect(parseTokenSecret(`  ${A}\n`)).toEqual({
      id: A,
      legacyIds: true,
      legacyLinks: true,
      signing: [{ kid: 'k1', secret: A }],
    });
  });

  it('reads the JSON format, the current signing key first', () => {
    const raw = JSON.stringify({
      id: A,
      signing: [
        { kid: 'k2', secret: B },
        { kid: 'k1', secret: A },
      ],
    });
    expect(parseTokenSecret(raw)).toEqual({
      id: A,
      legacyIds: false,
      legacyLinks: false,
      signing: [
        { kid: 'k2', secret: B },
        { kid: 'k1', secret: A },
      ],
    });
  });

  it.each([
    ['a short plain string', 'short', 'the secret must be a string of at least 32 characters'],
    ['bad JSON', '{"id":', 'is not valid JSON'],
    ['a JSON list', '[1]', 'must be a JSON object with id and signing'],
    ['no signing keys', JSON.stringify({ id: A, signing: [] }), 'signing must be a list of {kid, secret}'],
    [
      'a short id',
      JSON.stringify({ id: 'x', signing: [{ kid: 'k1', secret: A }] }),
      'id must be a string of at least 32',
    ],
    [
      'a short signing secret',
      JSON.stringify({ id: A, signing: [{ kid: 'k1', secret: 'x' }] }),
      'signing[0].secret must be a string of at least 32',
    ],
    [
      'a kid with a dot',
      JSON.stringify({ id: A, signing: [{ kid: 'k.1', secret: A }] }),
      'signing[0].kid must be 1 to 16 letters',
    ],
    [
      'a kid twice',
      JSON.stringify({
        id: A,
        signing: [
          { kid: 'k1', secret: A },
          { kid: 'k1', secret: B },
        ],
      }),
      'signing lists kid k1 twice',
    ],
    [
      'an unknown field',
      JSON.stringify({ id: A, signing: [{ kid: 'k1', secret: A }], rotate: true }),
      'rotate is not a known field',
    ],
    [
      'a flag that is not a boolean',
      JSON.stringify({ id: A, legacyIds: 'yes', signing: [{ kid: 'k1', secret: A }] }),
      'legacyIds must be true or false',
    ],
  ])('refuses %s, naming the field and the rule (never the value)', (_, raw, message) => {
    let error: Error | undefined;
    try {
      parseTokenSecret(raw);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toContain(message);
    expect(error?.message).not.toContain(A);
  });

  it('makes new secrets in the JSON format, ids derived with HKDF', () => {
    const spec = parseTokenSecret(newTokenSecret());
    expect(spec.legacyIds).toBe(false);
    expect(spec.legacyLinks).toBe(false);
    expect(spec.signing.map((s) => s.kid)).toEqual(['k1']);
    expect(parseTokenSecret(newTokenSecret()).id).not.toBe(spec.id);
  });
});

/** A Secrets Manager client answering each read with the next value (the last one repeats). */
const fakeClient = (values: (string | undefined | Error)[]) => {
  let calls = 0;
  return {
    calls: () => calls,
    async send(_command: GetSecretValueCommand) {
      const value = values[Math.min(calls++, values.length - 1)];
      if (value instanceof Error) throw value;
      return { SecretString: value };
    },
  };
};

describe('secretsManagerTokenSecret', () => {
  it('reads the secret again after SECRET_MAX_AGE_MS, so a rotation reaches every container', async () => {
    let now = 0;
    const before = JSON.stringify({ id: A, signing: [{ kid: 'k1', secret: A }] });
    const during = JSON.stringify({
      id: A,
      signing: [
        { kid: 'k2', secret: B },
        { kid: 'k1', secret: A },
      ],
    });
    const client = fakeClient([before, during]);
    const keys = secretsManagerTokenSecret(client, 'arn', { now: () => now });
    expect((await keys()).signing[0].kid).toBe('k1');
    now = SECRET_MAX_AGE_MS - 1;
    expect((await keys()).signing[0].kid).toBe('k1');
    expect(client.calls()).toBe(1);
    now = SECRET_MAX_AGE_MS;
    const rotated = await keys();
    expect(rotated.signing.map((k) => k.kid)).toEqual(['k2', 'k1']);
    expect(client.calls()).toBe(2);
    // The id key did not move.
    expect(subscriberIdOf(rotated, 'r@example.org')).toBe(
      subscriberIdOf(linkKeysOf(before), 'r@example.org'),
    );
  });

  it('does not keep a failed read: the next call tries again', async () => {
    const client = fakeClient([new Error('throttled'), A]);
    const keys = secretsManagerTokenSecret(client, 'arn');
    await expect(keys()).rejects.toThrow('throttled');
    const got = await keys();
    expect(
      verifyToken(
        got,
        signToken(got, { sub: 'a'.repeat(32), purpose: 'manage', v: 0, iat: 0, exp: 10 }),
        'manage',
        1,
      ).ok,
    ).toBe(true);
    expect(client.calls()).toBe(2);
  });

  it('refuses a malformed secret without showing it', async () => {
    await expect(secretsManagerTokenSecret(fakeClient(['short']), 'arn')()).rejects.toThrow(
      'at least 32 characters',
    );
    expect(() => staticTokenSecret('short')).toThrow('at least 32 characters');
  });
});

describe('secretsManagerString', () => {
  it('reads the string once per container', async () => {
    const client = fakeClient(['origin-proof-value']);
    const read = secretsManagerString(client, 'arn:origin');
    expect(await read()).toBe('origin-proof-value');
    expect(await read()).toBe('origin-proof-value');
    expect(client.calls()).toBe(1);
  });

  it('does not keep a failed or empty read: the next call tries again', async () => {
    const client = fakeClient([new Error('throttled'), undefined, 'origin-proof-value']);
    const read = secretsManagerString(client, 'arn:origin');
    await expect(read()).rejects.toThrow('throttled');
    await expect(read()).rejects.toThrow('holds no string');
    expect(await read()).toBe('origin-proof-value');
    expect(client.calls()).toBe(3);
  });
});
