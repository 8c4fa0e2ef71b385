import { createHmac, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { linkKeysOf } from '../../../shared/adapters/token-secret.js';
import {
  CONFIRM_TOKEN_SECONDS,
  confirmLink,
  deriveLinkKeys,
  FEED_TOKEN_SECONDS,
  isCurrentToken,
  type LinkState,
  MANAGE_TOKEN_SECONDS,
  manageLink,
  PAGE_MANAGE_TOKEN_SECONDS,
  signToken,
  subscriberIdOf,
  subscriberLinks,
  type TokenClaims,
  UNSUBSCRIBE_TOKEN_SECONDS,
  verifyToken,
} from '../../../shared/domain/tokens.js';
import {
  LEGACY_EMAIL,
  LEGACY_ID,
  LEGACY_MADE_AT,
  LEGACY_SECRET,
  LEGACY_TOKENS,
} from '../../helpers/legacy-links.js';

const ID_ROOT = 'test-id-root-0123456789abcdefghijklmnopqrstuvwxyz';
const K1 = 'test-signing-k1-0123456789abcdefghijklmnopqrstuvwxyz';
const K2 = 'test-signing-k2-0123456789abcdefghijklmnopqrstuvwxyz';
const secretOf = (signing: [string, string][], extra: object = {}) =>
  JSON.stringify({ id: ID_ROOT, signing: signing.map(([kid, secret]) => ({ kid, secret })), ...extra });
const KEYS = linkKeysOf(secretOf([['k1', K1]]));
const NOW = 1_800_000_000;
const ID = subscriberIdOf(KEYS, 'reader@example.org');

const claims = (overrides: Partial<TokenClaims> = {}): TokenClaims => ({
  sub: ID,
  purpose: 'manage',
  v: 0,
  iat: NOW - 60,
  exp: NOW + 60,
  ...overrides,
});

const tokenOf = (url: string): string => new URL(url).searchParams.get('token') ?? '';

/** The payload segment re-encoded with different claims, the kid and signature kept. */
const withPayload = (token: string, next: unknown): string => {
  const [kid, , signature] = token.split('.');
  return `${kid}.${Buffer.from(JSON.stringify(next)).toString('base64url')}.${signature}`;
};

describe('deriveLinkKeys', () => {
  it('derives the id key and each signing key with HKDF-SHA256, each for its own purpose', () => {
    const same = deriveLinkKeys({
      id: ID_ROOT,
      legacyIds: false,
      legacyLinks: false,
      signing: [{ kid: 'k1', secret: ID_ROOT }],
    });
    const hkdf = (secret: string, info: string) =>
      Buffer.from(hkdfSync('sha256', Buffer.from(secret), Buffer.alloc(0), info, 32));
    expect(same.id).toEqual(hkdf(ID_ROOT, 'tidings/subscriber-id'));
    expect(same.signing[0].key).toEqual(hkdf(ID_ROOT, 'tidings/link-signing'));
    // One secret for both purposes still gives two unrelated keys, and neither is the secret.
    expect(same.id.equals(same.signing[0].key)).toBe(false);
    expect(same.id.equals(Buffer.from(ID_ROOT))).toBe(false);
    expect(same.legacy).toBeUndefined();
  });

  it('is deterministic: the same secret gives the same keys and ids on every container', () => {
    const again = linkKeysOf(secretOf([['k1', K1]]));
    expect(again).toEqual(KEYS);
    expect(subscriberIdOf(again, 'reader@example.org')).toBe(ID);
  });
});

describe('subscriberIdOf', () => {
  it('is 32 hex characters of an HMAC of the trimmed, lowercased address under the id key', () => {
    expect(ID).toMatch(/^[0-9a-f]{32}$/);
    expect(subscriberIdOf(KEYS, '  Reader@Example.ORG ')).toBe(ID);
    expect(subscriberIdOf(KEYS, 'other@example.org')).not.toBe(ID);
    expect(ID).toBe(createHmac('sha256', KEYS.id).update('reader@example.org').digest('hex').slice(0, 32));
  });

  it('does not depend on the signing keys: rotating them keeps every id', () => {
    const rotated = linkKeysOf(
      secretOf([
        ['k2', K2],
        ['k1', K1],
      ]),
    );
    const after = linkKeysOf(secretOf([['k2', K2]]));
    expect(subscriberIdOf(rotated, 'reader@example.org')).toBe(ID);
    expect(subscriberIdOf(after, 'reader@example.org')).toBe(ID);
  });

  it('keeps the ids of a plain-string secret exactly as the code before key derivation made them', () => {
    const legacy = linkKeysOf(LEGACY_SECRET);
    expect(subscriberIdOf(legacy, LEGACY_EMAIL)).toBe(LEGACY_ID);
    expect(subscriberIdOf(legacy, LEGACY_EMAIL)).toBe(
      createHmac('sha256', LEGACY_SECRET).update(LEGACY_EMAIL.toLowerCase()).digest('hex').slice(0, 32),
    );
    // The same secret written as JSON with legacyIds keeps them too.
    const json = linkKeysOf(
      JSON.stringify({ id: LEGACY_SECRET, legacyIds: true, signing: [{ kid: 'k2', secret: K2 }] }),
    );
    expect(subscriberIdOf(json, LEGACY_EMAIL)).toBe(LEGACY_ID);
  });
});

describe('signToken and verifyToken', () => {
  it('round-trips the claims and names the signing key', () => {
    const c = claims({ purpose: 'unsubscribe', topic: 'syria' });
    const token = signToken(KEYS, c);
    expect(token.split('.')[0]).toBe('k1');
    expect(verifyToken(KEYS, token, 'unsubscribe', NOW)).toEqual({ ok: true, claims: c });
  });

  it('refuses a token whose payload was changed, as an invalid signature', () => {
    const token = signToken(KEYS, claims());
    const longer = withPayload(token, { ...claims(), exp: NOW + 10 * UNSUBSCRIBE_TOKEN_SECONDS });
    const other = withPayload(token, { ...claims(), sub: subscriberIdOf(KEYS, 'victim@example.org') });
    expect(verifyToken(KEYS, longer, 'manage', NOW)).toEqual({ ok: false, reason: 'invalid signature' });
    expect(verifyToken(KEYS, other, 'manage', NOW)).toEqual({ ok: false, reason: 'invalid signature' });
  });

  it('refuses a token with a changed or truncated signature, or signed with another secret', () => {
    const token = signToken(KEYS, claims());
    const [kid, payload, signature = ''] = token.split('.');
    const flipped = `${kid}.${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    expect(verifyToken(KEYS, flipped, 'manage', NOW)).toEqual({ ok: false, reason: 'invalid signature' });
    expect(verifyToken(KEYS, `${kid}.${payload}.${signature.slice(0, 20)}`, 'manage', NOW)).toEqual({
      ok: false,
      reason: 'invalid signature',
    });
    const other = linkKeysOf(secretOf([['k1', `${K1}!`]]));
    expect(verifyToken(KEYS, signToken(other, claims()), 'manage', NOW)).toEqual({
      ok: false,
      reason: 'invalid signature',
    });
  });

  it('refuses any single-character change anywhere in the token', () => {
    const token = signToken(KEYS, claims({ purpose: 'confirm', topics: ['syria'], cadence: 'daily' }));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
    fc.assert(
      fc.property(fc.nat(token.length - 1), fc.constantFrom(...alphabet), (at, char) => {
        fc.pre(token[at] !== char);
        const changed = `${token.slice(0, at)}${char}${token.slice(at + 1)}`;
        // Base64url can encode the same bytes two ways only in a final character's unused bits.
        const check = verifyToken(KEYS, changed, 'confirm', NOW);
        if (check.ok)
          expect(Buffer.from(changed.split('.')[1] ?? '', 'base64url')).toEqual(
            Buffer.from(token.split('.')[1] ?? '', 'base64url'),
          );
        else expect(['invalid signature', 'malformed', 'retired key']).toContain(check.reason);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses an expired token at the second it expires, and accepts it the second before', () => {
    const token = signToken(KEYS, claims({ exp: NOW }));
    expect(verifyToken(KEYS, token, 'manage', NOW)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyToken(KEYS, token, 'manage', NOW - 1).ok).toBe(true);
  });

  it('holds each purpose to its longest life, whatever expiry the token itself carries', () => {
    const far = NOW + 10 * UNSUBSCRIBE_TOKEN_SECONDS;
    const manage = signToken(KEYS, claims({ iat: NOW, exp: far }));
    expect(verifyToken(KEYS, manage, 'manage', NOW + MANAGE_TOKEN_SECONDS - 1).ok).toBe(true);
    expect(verifyToken(KEYS, manage, 'manage', NOW + MANAGE_TOKEN_SECONDS)).toEqual({
      ok: false,
      reason: 'expired',
    });
    const unsubscribe = signToken(KEYS, claims({ purpose: 'unsubscribe', iat: NOW, exp: far }));
    expect(verifyToken(KEYS, unsubscribe, 'unsubscribe', NOW + UNSUBSCRIBE_TOKEN_SECONDS - 1).ok).toBe(true);
    expect(verifyToken(KEYS, unsubscribe, 'unsubscribe', NOW + UNSUBSCRIBE_TOKEN_SECONDS).ok).toBe(false);
  });

  it('checks the signature before the expiry: a tampered expired token is a tampered token', () => {
    const token = signToken(KEYS, claims({ exp: NOW - 10 }));
    expect(verifyToken(KEYS, withPayload(token, claims({ exp: NOW + 10 })), 'manage', NOW)).toEqual({
      ok: false,
      reason: 'invalid signature',
    });
  });

  it('refuses a token made for another purpose', () => {
    const token = signToken(KEYS, claims({ purpose: 'unsubscribe' }));
    expect(verifyToken(KEYS, token, 'manage', NOW)).toEqual({ ok: false, reason: 'wrong purpose' });
    expect(verifyToken(KEYS, token, 'confirm', NOW)).toEqual({ ok: false, reason: 'wrong purpose' });
  });

  it.each([
    ['empty', ''],
    ['one part', 'abc'],
    ['four parts', 'a.b.c.d'],
    ['an empty part', 'k1..c'],
    ['not base64url', 'ab$c.def'],
    ['a key id too long', `${'k'.repeat(17)}.b.c`],
    ['far too long', `${'a'.repeat(5000)}.b`],
  ])('calls a %s token malformed', (_, token) => {
    expect(verifyToken(KEYS, token, 'manage', NOW)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('calls a correctly signed token with claims of the wrong shape malformed', () => {
    for (const bad of [
      { ...claims(), sub: 'not-an-id' },
      { ...claims(), purpose: 'delete' },
      { ...claims(), v: -1 },
      { ...claims(), exp: 'never' },
      { ...claims(), topic: 'Not A Slug' },
      { ...claims(), topics: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      { ...claims(), labels: Array.from({ length: 11 }, (_, i) => `t${i}`) },
      { ...claims(), label: 'Not A Slug' },
      { ...claims(), topic: 'syria', label: 'politics' },
      { ...claims(), cadence: 'hourly' },
      { ...claims(), n: 'not a nonce!' },
      { ...claims(), g: -1 },
      { ...claims(), pref: { tz: 'Europe/Berlin', h: 24, wd: 1 } },
      { ...claims(), pref: { tz: 'Europe/Berlin', h: 7, wd: 7 } },
      { ...claims(), pref: { tz: '<script>', h: 7, wd: 1 } },
      { ...claims(), pref: { tz: 'Europe/Berlin', h: 7, wd: 1, q: [22] } },
    ]) {
      expect(verifyToken(KEYS, signToken(KEYS, bad as TokenClaims), 'manage', NOW)).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
  });
});

describe('confirmLink', () => {
  it('carries the delivery time asked for, and only when one was', () => {
    const subscriber = { id: ID, tokenVersion: 0, nonce: 'n1' };
    const chosen = confirmLink(
      KEYS,
      'https://news.example.org',
      subscriber,
      {
        tags: ['syria'],
        topics: [],
        cadence: 'weekly',
        preferences: {
          timeZone: 'Europe/Berlin',
          deliveryHour: 7,
          deliveryWeekday: 0,
          quietHours: { from: 22, to: 6 },
        },
      },
      NOW,
    );
    const checked = verifyToken(KEYS, tokenOf(chosen), 'confirm', NOW);
    expect(checked).toMatchObject({
      ok: true,
      claims: { pref: { tz: 'Europe/Berlin', h: 7, wd: 0, q: [22, 6] } },
    });
    const plain = confirmLink(
      KEYS,
      'https://news.example.org',
      subscriber,
      { tags: ['syria'], topics: [], cadence: 'daily' },
      NOW,
    );
    const unchosen = verifyToken(KEYS, tokenOf(plain), 'confirm', NOW);
    expect(unchosen.ok && unchosen.claims.pref).toBeUndefined();
  });
});

describe('rotating the signing key', () => {
  const before = KEYS;
  const during = linkKeysOf(
    secretOf([
      ['k2', K2],
      ['k1', K1],
    ]),
  );
  const after = linkKeysOf(secretOf([['k2', K2]]));

  it('signs with the first key and accepts every listed one; a removed key is retired', () => {
    const old = signToken(before, claims());
    const fresh = signToken(during, claims());
    expect(fresh.split('.')[0]).toBe('k2');
    expect(verifyToken(during, old, 'manage', NOW).ok).toBe(true);
    expect(verifyToken(during, fresh, 'manage', NOW).ok).toBe(true);
    expect(verifyToken(after, fresh, 'manage', NOW).ok).toBe(true);
    expect(verifyToken(after, old, 'manage', NOW)).toEqual({ ok: false, reason: 'retired key' });
  });

  it('cannot be fooled by relabelling a token with another kid', () => {
    const old = signToken(before, claims());
    expect(verifyToken(during, `k2${old.slice(2)}`, 'manage', NOW)).toEqual({
      ok: false,
      reason: 'invalid signature',
    });
  });
});

describe('links made before key ids (plain-string secret)', () => {
  const legacy = linkKeysOf(LEGACY_SECRET);
  const madeAt = Date.parse(LEGACY_MADE_AT) / 1000;

  it('still verify: unsubscribe links for a year, confirmation links for 48 hours', () => {
    const all = verifyToken(legacy, LEGACY_TOKENS.unsubscribeAll, 'unsubscribe', madeAt + 300 * 86_400);
    expect(all).toEqual({
      ok: true,
      claims: { sub: LEGACY_ID, purpose: 'unsubscribe', v: 0, exp: madeAt + UNSUBSCRIBE_TOKEN_SECONDS },
    });
    const syria = verifyToken(legacy, LEGACY_TOKENS.unsubscribeSyria, 'unsubscribe', madeAt);
    expect(syria.ok && syria.claims.topic).toBe('syria');
    expect(verifyToken(legacy, LEGACY_TOKENS.confirm, 'confirm', madeAt + 3600).ok).toBe(true);
    expect(verifyToken(legacy, LEGACY_TOKENS.confirm, 'confirm', madeAt + CONFIRM_TOKEN_SECONDS).ok).toBe(
      false,
    );
  });

  it('hold a manage link to 60 days from when it was made, though it was signed for a year', () => {
    expect(verifyToken(legacy, LEGACY_TOKENS.manage, 'manage', madeAt + MANAGE_TOKEN_SECONDS - 1).ok).toBe(
      true,
    );
    expect(verifyToken(legacy, LEGACY_TOKENS.manage, 'manage', madeAt + MANAGE_TOKEN_SECONDS)).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('are refused once the secret no longer accepts them (legacyLinks off)', () => {
    const without = linkKeysOf(
      JSON.stringify({ id: LEGACY_SECRET, legacyIds: true, signing: [{ kid: 'k1', secret: LEGACY_SECRET }] }),
    );
    expect(verifyToken(without, LEGACY_TOKENS.unsubscribeAll, 'unsubscribe', madeAt)).toEqual({
      ok: false,
      reason: 'retired key',
    });
  });

  it('are never made again: new links from a plain-string secret carry kid k1 and a derived key', () => {
    const token = signToken(legacy, claims());
    expect(token.split('.')[0]).toBe('k1');
    expect(legacy.signing[0].key.equals(Buffer.from(LEGACY_SECRET))).toBe(false);
    expect(verifyToken(legacy, token, 'manage', NOW).ok).toBe(true);
    // A new token relabelled as an old one (kid dropped) does not verify under the legacy key.
    expect(verifyToken(legacy, token.split('.').slice(1).join('.'), 'manage', NOW)).toEqual({
      ok: false,
      reason: 'invalid signature',
    });
  });
});

describe('isCurrentToken', () => {
  const state: LinkState = { id: ID, tokenVersion: 2, nonce: 'n1', linkGeneration: 1 };
  const current = (overrides: Partial<TokenClaims> = {}) => claims({ v: 2, n: 'n1', g: 1, ...overrides });

  it('holds only for the subscriber it names at the token version it carries', () => {
    expect(isCurrentToken(current(), state)).toBe(true);
    expect(isCurrentToken(current({ v: 1 }), state)).toBe(false);
    expect(isCurrentToken(current(), { ...state, id: subscriberIdOf(KEYS, 'x@example.org') })).toBe(false);
  });

  it('holds only for the record whose creation nonce it carries', () => {
    expect(isCurrentToken(current({ n: 'n0' }), state)).toBe(false);
    const { n: _, ...withoutNonce } = current();
    expect(isCurrentToken(withoutNonce, state)).toBe(false);
    // Records and links from before nonces match each other.
    expect(isCurrentToken(withoutNonce, { id: ID, tokenVersion: 2, linkGeneration: 1 })).toBe(true);
  });

  it('voids confirmation and manage links of an earlier link generation, never unsubscribe links', () => {
    const signedOut = { ...state, linkGeneration: 2 };
    expect(isCurrentToken(current(), signedOut)).toBe(false);
    expect(isCurrentToken(current({ purpose: 'confirm' }), signedOut)).toBe(false);
    const { g: _, ...unsubscribe } = current({ purpose: 'unsubscribe' });
    expect(isCurrentToken(unsubscribe, signedOut)).toBe(true);
    expect(isCurrentToken(current({ g: 2 }), signedOut)).toBe(true);
  });
});

describe('links', () => {
  const subscriber: LinkState = { id: ID, tokenVersion: 3, nonce: 'abc', linkGeneration: 4 };
  const links = (state: LinkState) => subscriberLinks(KEYS, 'https://news.example.org/', state, NOW);

  it('signs private feed links with keys of their own (HKDF info tidings/feed-signing), for 400 days', () => {
    const { feed } = subscriberLinks(KEYS, 'https://news.example.org/', subscriber, NOW);
    expect(feed).toMatch(
      /^https:\/\/news\.example\.org\/api\/subscriptions\/feed\?token=k1\.[\w-]+\.[\w-]+$/,
    );
    const token = tokenOf(feed);
    expect(verifyToken(KEYS, token, 'feed', NOW)).toEqual({
      ok: true,
      claims: { sub: ID, v: 3, iat: NOW, n: 'abc', purpose: 'feed', g: 4, exp: NOW + FEED_TOKEN_SECONDS },
    });
    expect(verifyToken(KEYS, token, 'feed', NOW + FEED_TOKEN_SECONDS)).toEqual({
      ok: false,
      reason: 'expired',
    });
    // Its signature is HMAC under HKDF(K1, info tidings/feed-signing), not the email links' key.
    const [kid, payload, signature] = token.split('.');
    const feedKey = Buffer.from(
      hkdfSync('sha256', Buffer.from(K1), Buffer.alloc(0), 'tidings/feed-signing', 32),
    );
    expect(signature).toBe(createHmac('sha256', feedKey).update(`${kid}.${payload}`).digest('base64url'));
    for (const purpose of ['confirm', 'manage', 'unsubscribe'] as const) {
      expect(verifyToken(KEYS, token, purpose, NOW)).toEqual({ ok: false, reason: 'invalid signature' });
    }
    // An email link's token, given as a feed's, is refused the same way.
    expect(verifyToken(KEYS, tokenOf(links(subscriber).manage), 'feed', NOW)).toEqual({
      ok: false,
      reason: 'invalid signature',
    });
    // Signed out: the link generation moved on, and the feed link with it.
    const claims = verifyToken(KEYS, token, 'feed', NOW);
    expect(claims.ok && isCurrentToken(claims.claims, { ...subscriber, linkGeneration: 5 })).toBe(false);
    // Rotation: a feed link made under k1 verifies while k1 is listed, and not after.
    const rotated = linkKeysOf(
      secretOf([
        ['k2', K2],
        ['k1', K1],
      ]),
    );
    expect(verifyToken(rotated, token, 'feed', NOW).ok).toBe(true);
    expect(verifyToken(linkKeysOf(secretOf([['k2', K2]])), token, 'feed', NOW)).toEqual({
      ok: false,
      reason: 'retired key',
    });
  });

  it('gives an email a manage link for 60 days and unsubscribe links for a year', () => {
    const links = subscriberLinks(KEYS, 'https://news.example.org/', subscriber, NOW);
    expect(links.manage).toMatch(
      /^https:\/\/news\.example\.org\/api\/subscriptions\/manage\?token=k1\.[\w-]+\.[\w-]+$/,
    );
    expect(links.unsubscribeAll).toMatch(
      /^https:\/\/news\.example\.org\/api\/subscriptions\/unsubscribe\?token=/,
    );
    expect(links.oneClick).toBe(links.unsubscribeAll);
    expect(verifyToken(KEYS, tokenOf(links.manage), 'manage', NOW)).toEqual({
      ok: true,
      claims: { sub: ID, v: 3, iat: NOW, n: 'abc', g: 4, exp: NOW + MANAGE_TOKEN_SECONDS, purpose: 'manage' },
    });
    expect(verifyToken(KEYS, tokenOf(links.unsubscribeAll), 'unsubscribe', NOW)).toEqual({
      ok: true,
      claims: {
        sub: ID,
        v: 3,
        iat: NOW,
        n: 'abc',
        exp: NOW + UNSUBSCRIBE_TOKEN_SECONDS,
        purpose: 'unsubscribe',
      },
    });
    // Leaving a tag keeps the claim's name of links already in inboxes (`topic`); a label has its own.
    const tag = verifyToken(KEYS, tokenOf(links.unsubscribeTag('vladimir-putin')), 'unsubscribe', NOW);
    expect(tag.ok && tag.claims).toMatchObject({ topic: 'vladimir-putin' });
    expect(tag.ok && tag.claims.label).toBeUndefined();
    const label = verifyToken(KEYS, tokenOf(links.unsubscribeTopicLabel('politics')), 'unsubscribe', NOW);
    expect(label.ok && label.claims).toMatchObject({ label: 'politics' });
    expect(label.ok && label.claims.topic).toBeUndefined();
    expect(verifyToken(KEYS, tokenOf(links.manage), 'manage', NOW + MANAGE_TOKEN_SECONDS).ok).toBe(false);
    expect(
      verifyToken(KEYS, tokenOf(links.unsubscribeAll), 'unsubscribe', NOW + UNSUBSCRIBE_TOKEN_SECONDS - 1).ok,
    ).toBe(true);
  });

  it('makes a page manage link for an hour, and never one longer than 60 days', () => {
    const short = verifyToken(
      KEYS,
      tokenOf(manageLink(KEYS, 'https://x.example', subscriber, NOW, PAGE_MANAGE_TOKEN_SECONDS)),
      'manage',
      NOW,
    );
    expect(short.ok && short.claims.exp).toBe(NOW + 3600);
    const capped = verifyToken(
      KEYS,
      tokenOf(manageLink(KEYS, 'https://x.example', subscriber, NOW, 1e9)),
      'manage',
      NOW,
    );
    expect(capped.ok && capped.claims.exp).toBe(NOW + MANAGE_TOKEN_SECONDS);
  });

  it('makes a confirmation link that carries the request, the record and lasts 48 hours', () => {
    const url = confirmLink(
      KEYS,
      'https://news.example.org',
      subscriber,
      { tags: ['syria', 'russia'], topics: ['politics'], cadence: 'weekly' },
      NOW,
    );
    expect(url).toMatch(/^https:\/\/news\.example\.org\/api\/subscriptions\/confirm\?token=/);
    expect(verifyToken(KEYS, tokenOf(url), 'confirm', NOW)).toEqual({
      ok: true,
      claims: {
        sub: ID,
        purpose: 'confirm',
        v: 3,
        n: 'abc',
        g: 4,
        exp: NOW + CONFIRM_TOKEN_SECONDS,
        topics: ['syria', 'russia'],
        labels: ['politics'],
        cadence: 'weekly',
        iat: NOW,
      },
    });
    expect(verifyToken(KEYS, tokenOf(url), 'confirm', NOW + CONFIRM_TOKEN_SECONDS)).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('keeps a confirmation link for the most tags and labels well under common URL limits', () => {
    const tags = Array.from({ length: 20 }, (_, i) => `${'a'.repeat(60)}-${String(i).padStart(2, '0')}`);
    const topics = tags.slice(0, 10);
    const url = confirmLink(
      KEYS,
      'https://news.example.org',
      subscriber,
      { tags, topics, cadence: 'daily' },
      NOW,
    );
    expect(url.length).toBeLessThan(4000);
    expect(verifyToken(KEYS, tokenOf(url), 'confirm', NOW).ok).toBe(true);
  });
});
