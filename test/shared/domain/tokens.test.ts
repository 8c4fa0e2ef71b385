import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONFIRM_TOKEN_SECONDS,
  confirmLink,
  isCurrentToken,
  LINK_TOKEN_SECONDS,
  signToken,
  subscriberIdOf,
  subscriberLinks,
  type TokenClaims,
  verifyToken,
} from '../../../shared/domain/tokens.js';

const SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz';
const NOW = 1_800_000_000;
const ID = subscriberIdOf(SECRET, 'reader@example.org');

const claims = (overrides: Partial<TokenClaims> = {}): TokenClaims => ({
  sub: ID,
  purpose: 'manage',
  v: 0,
  exp: NOW + 60,
  ...overrides,
});

const tokenOf = (url: string): string => new URL(url).searchParams.get('token') ?? '';

/** The payload segment re-encoded with different claims, the signature kept. */
const withPayload = (token: string, next: unknown): string =>
  `${Buffer.from(JSON.stringify(next)).toString('base64url')}.${token.split('.')[1]}`;

describe('subscriberIdOf', () => {
  it('is 32 hex characters of an HMAC of the trimmed, lowercased address', () => {
    expect(ID).toMatch(/^[0-9a-f]{32}$/);
    expect(subscriberIdOf(SECRET, '  Reader@Example.ORG ')).toBe(ID);
    expect(subscriberIdOf(SECRET, 'other@example.org')).not.toBe(ID);
    expect(subscriberIdOf(`${SECRET}x`, 'reader@example.org')).not.toBe(ID);
  });
});

describe('signToken and verifyToken', () => {
  it('round-trips the claims', () => {
    const c = claims({ purpose: 'unsubscribe', topic: 'syria' });
    expect(verifyToken(SECRET, signToken(SECRET, c), 'unsubscribe', NOW)).toEqual({ ok: true, claims: c });
  });

  it('refuses a token whose payload was changed, as an invalid signature', () => {
    const token = signToken(SECRET, claims());
    const longer = withPayload(token, { ...claims(), exp: NOW + 10 * LINK_TOKEN_SECONDS });
    const other = withPayload(token, { ...claims(), sub: subscriberIdOf(SECRET, 'victim@example.org') });
    expect(verifyToken(SECRET, longer, 'manage', NOW)).toEqual({ ok: false, reason: 'invalid signature' });
    expect(verifyToken(SECRET, other, 'manage', NOW)).toEqual({ ok: false, reason: 'invalid signature' });
  });

  it('refuses a token with a changed or truncated signature, or signed with another secret', () => {
    const token = signToken(SECRET, claims());
    const [payload, signature = ''] = token.split('.');
    const flipped = `${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    expect(verifyToken(SECRET, flipped, 'manage', NOW)).toEqual({ ok: false, reason: 'invalid signature' });
    expect(verifyToken(SECRET, `${payload}.${signature.slice(0, 20)}`, 'manage', NOW)).toEqual({
      ok: false,
      reason: 'invalid signature',
    });
    expect(verifyToken(SECRET, signToken(`${SECRET}!`, claims()), 'manage', NOW)).toEqual({
      ok: false,
      reason: 'invalid signature',
    });
  });

  it('refuses any single-character change anywhere in the token', () => {
    const token = signToken(
      SECRET,
      claims({ purpose: 'confirm', topics: ['syria'], cadence: 'daily', iat: NOW }),
    );
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.constantFrom(...alphabet), (at, char) => {
        fc.pre(token[at] !== char);
        const changed = `${token.slice(0, at)}${char}${token.slice(at + 1)}`;
        // Base64url can encode the same bytes two ways only in a final character's unused bits.
        const check = verifyToken(SECRET, changed, 'confirm', NOW);
        if (check.ok)
          expect(Buffer.from(changed.split('.')[1] ?? '', 'base64url')).toEqual(
            Buffer.from(token.split('.')[1] ?? '', 'base64url'),
          );
        else expect(['invalid signature', 'malformed']).toContain(check.reason);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses an expired token at the second it expires, and accepts it the second before', () => {
    const token = signToken(SECRET, claims({ exp: NOW }));
    expect(verifyToken(SECRET, token, 'manage', NOW)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyToken(SECRET, token, 'manage', NOW - 1).ok).toBe(true);
  });

  it('checks the signature before the expiry: a tampered expired token is a tampered token', () => {
    const token = signToken(SECRET, claims({ exp: NOW - 10 }));
    expect(verifyToken(SECRET, withPayload(token, claims({ exp: NOW + 10 })), 'manage', NOW)).toEqual({
      ok: false,
      reason: 'invalid signature',
    });
  });

  it('refuses a token made for another purpose', () => {
    const token = signToken(SECRET, claims({ purpose: 'unsubscribe' }));
    expect(verifyToken(SECRET, token, 'manage', NOW)).toEqual({ ok: false, reason: 'wrong purpose' });
    expect(verifyToken(SECRET, token, 'confirm', NOW)).toEqual({ ok: false, reason: 'wrong purpose' });
  });

  it.each([
    ['empty', ''],
    ['one part', 'abc'],
    ['three parts', 'a.b.c'],
    ['not base64url', 'ab$c.def'],
    ['far too long', `${'a'.repeat(5000)}.b`],
  ])('calls a %s token malformed', (_, token) => {
    expect(verifyToken(SECRET, token, 'manage', NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('calls a correctly signed token with claims of the wrong shape malformed', () => {
    for (const bad of [
      { ...claims(), sub: 'not-an-id' },
      { ...claims(), purpose: 'delete' },
      { ...claims(), v: -1 },
      { ...claims(), exp: 'never' },
      { ...claims(), topic: 'Not A Slug' },
      { ...claims(), topics: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      { ...claims(), cadence: 'hourly' },
    ]) {
      expect(verifyToken(SECRET, signToken(SECRET, bad as TokenClaims), 'manage', NOW)).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
  });
});

describe('isCurrentToken', () => {
  it('holds only for the subscriber it names at the token version it carries', () => {
    expect(isCurrentToken(claims({ v: 2 }), { id: ID, tokenVersion: 2 })).toBe(true);
    expect(isCurrentToken(claims({ v: 1 }), { id: ID, tokenVersion: 2 })).toBe(false);
    expect(
      isCurrentToken(claims({ v: 2 }), { id: subscriberIdOf(SECRET, 'x@example.org'), tokenVersion: 2 }),
    ).toBe(false);
  });
});

describe('links', () => {
  const subscriber = { id: ID, tokenVersion: 3 };

  it('sends each email link to its route with a token for its purpose, a year long', () => {
    const links = subscriberLinks(SECRET, 'https://news.example.org/', subscriber, NOW);
    expect(links.manage).toMatch(
      /^https:\/\/news\.example\.org\/api\/subscriptions\/manage\?token=[\w-]+\.[\w-]+$/,
    );
    expect(links.unsubscribeAll).toMatch(
      /^https:\/\/news\.example\.org\/api\/subscriptions\/unsubscribe\?token=/,
    );
    expect(links.oneClick).toBe(links.unsubscribeAll);
    expect(verifyToken(SECRET, tokenOf(links.manage), 'manage', NOW)).toEqual({
      ok: true,
      claims: { sub: ID, v: 3, exp: NOW + LINK_TOKEN_SECONDS, purpose: 'manage' },
    });
    const all = verifyToken(SECRET, tokenOf(links.unsubscribeAll), 'unsubscribe', NOW);
    expect(all.ok && all.claims.topic).toBe(undefined);
    const topic = verifyToken(SECRET, tokenOf(links.unsubscribeTopic('vladimir-putin')), 'unsubscribe', NOW);
    expect(topic.ok && topic.claims.topic).toBe('vladimir-putin');
    expect(verifyToken(SECRET, tokenOf(links.manage), 'manage', NOW + LINK_TOKEN_SECONDS).ok).toBe(false);
  });

  it('makes a confirmation link that carries the request and lasts 48 hours', () => {
    const url = confirmLink(
      SECRET,
      'https://news.example.org',
      subscriber,
      { topics: ['syria', 'russia'], cadence: 'weekly' },
      NOW,
    );
    expect(url).toMatch(/^https:\/\/news\.example\.org\/api\/subscriptions\/confirm\?token=/);
    expect(verifyToken(SECRET, tokenOf(url), 'confirm', NOW)).toEqual({
      ok: true,
      claims: {
        sub: ID,
        purpose: 'confirm',
        v: 3,
        exp: NOW + CONFIRM_TOKEN_SECONDS,
        topics: ['syria', 'russia'],
        cadence: 'weekly',
        iat: NOW,
      },
    });
    expect(verifyToken(SECRET, tokenOf(url), 'confirm', NOW + CONFIRM_TOKEN_SECONDS)).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('keeps a confirmation link for the most topics well under common URL limits', () => {
    const topics = Array.from({ length: 20 }, (_, i) => `${'a'.repeat(60)}-${String(i).padStart(2, '0')}`);
    const url = confirmLink(
      SECRET,
      'https://news.example.org',
      subscriber,
      { topics, cadence: 'daily' },
      NOW,
    );
    expect(url.length).toBeLessThan(2400);
    expect(verifyToken(SECRET, tokenOf(url), 'confirm', NOW).ok).toBe(true);
  });
});
