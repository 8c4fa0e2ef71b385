/**
 * Signed links for subscribers: who they are (an HMAC of the address), what a link may do, until
 * when, and for which generation of links. Pure: the secret and the time come in as arguments.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SubscriberLinks } from './digest.js';
import { CADENCES, type Cadence, MAX_TOPICS, type Subscriber } from './subscription.js';

export const TOKEN_PURPOSES = ['confirm', 'manage', 'unsubscribe'] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

/** A confirmation link is good for two days; the others sit in inboxes and last a year. */
export const CONFIRM_TOKEN_SECONDS = 48 * 60 * 60;
export const LINK_TOKEN_SECONDS = 365 * 24 * 60 * 60;

/** Longer than any token this module issues (a confirmation with MAX_TOPICS long slugs is about 2 KB). */
const TOKEN_MAX_LENGTH = 4096;

export interface TokenClaims {
  /** The subscriber id (`subscriberIdOf`). */
  sub: string;
  purpose: TokenPurpose;
  /** Unsubscribe links: the topic slug to leave; absent means everything. */
  topic?: string;
  /** The subscriber's `tokenVersion` when the link was made. */
  v: number;
  /** Expiry, epoch seconds. */
  exp: number;
  /** Confirmation links: the topic slugs asked for. */
  topics?: string[];
  /** Confirmation links: the cadence asked for. */
  cadence?: Cadence;
  /** Confirmation links: when the request was made, epoch seconds (a later change wins over it). */
  iat?: number;
}

export type TokenFailure = 'malformed' | 'invalid signature' | 'wrong purpose' | 'expired';
export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: TokenFailure };

/** The subscriber id: HMAC-SHA256 of the trimmed, lowercased address, hex, first 32 characters. */
export const subscriberIdOf = (secret: string, email: string): string =>
  createHmac('sha256', secret).update(email.trim().toLowerCase()).digest('hex').slice(0, 32);

// The MAC covers the base64url payload. Subscriber ids are MACs of addresses, which always hold
// an "@" that base64url never does, so the two uses of the one secret cannot stand in for each other.
const mac = (secret: string, payload: string): Buffer =>
  createHmac('sha256', secret).update(payload).digest();

/** `base64url(JSON claims).base64url(HMAC-SHA256(secret, payload))`. */
export const signToken = (secret: string, claims: TokenClaims): string => {
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
};

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const SUBSCRIBER_ID = /^[0-9a-f]{32}$/;
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const isInt = (value: unknown): value is number => Number.isSafeInteger(value);

/** Claims as the signer wrote them; anything else (a signed token from an older format) is malformed. */
const readClaims = (value: unknown): TokenClaims | undefined => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const c = value as Record<string, unknown>;
  if (typeof c.sub !== 'string' || !SUBSCRIBER_ID.test(c.sub)) return undefined;
  if (!TOKEN_PURPOSES.includes(c.purpose as TokenPurpose)) return undefined;
  if (!isInt(c.v) || c.v < 0 || !isInt(c.exp)) return undefined;
  if (c.topic !== undefined && (typeof c.topic !== 'string' || !SLUG.test(c.topic))) return undefined;
  if (
    c.topics !== undefined &&
    (!Array.isArray(c.topics) ||
      c.topics.length > MAX_TOPICS ||
      !c.topics.every((t) => typeof t === 'string' && SLUG.test(t)))
  )
    return undefined;
  if (c.cadence !== undefined && !CADENCES.includes(c.cadence as Cadence)) return undefined;
  if (c.iat !== undefined && !isInt(c.iat)) return undefined;
  return c as unknown as TokenClaims;
};

/**
 * Checks a token in this order: well formed, signature (constant-time), purpose, expiry. Whether
 * it is still current (its `v` against the subscriber's `tokenVersion`) needs the stored
 * subscriber: `isCurrentToken`.
 */
export const verifyToken = (
  secret: string,
  token: string,
  purpose: TokenPurpose,
  nowSeconds: number,
): TokenCheck => {
  if (token.length > TOKEN_MAX_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  const [payload, signature] = parts;
  if (
    parts.length !== 2 ||
    !payload ||
    !signature ||
    !BASE64URL.test(payload) ||
    !BASE64URL.test(signature)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const expected = mac(secret, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'invalid signature' };
  }
  let claims: TokenClaims | undefined;
  try {
    claims = readClaims(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    claims = undefined;
  }
  if (!claims) return { ok: false, reason: 'malformed' };
  if (claims.purpose !== purpose) return { ok: false, reason: 'wrong purpose' };
  if (claims.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, claims };
};

/** A link stops working when the subscriber leaves everything: their `tokenVersion` moves on. */
export const isCurrentToken = (claims: TokenClaims, subscriber: Pick<Subscriber, 'id' | 'tokenVersion'>) =>
  claims.sub === subscriber.id && claims.v === subscriber.tokenVersion;

const apiUrl = (siteUrl: string, path: string, token: string): string =>
  `${siteUrl.replace(/\/+$/, '')}/api/subscriptions/${path}?token=${token}`;

/** The confirmation link for a request of these topics and cadence, good for 48 hours. */
export const confirmLink = (
  secret: string,
  siteUrl: string,
  subscriber: Pick<Subscriber, 'id' | 'tokenVersion'>,
  request: { topics: readonly string[]; cadence: Cadence },
  nowSeconds: number,
): string =>
  apiUrl(
    siteUrl,
    'confirm',
    signToken(secret, {
      sub: subscriber.id,
      purpose: 'confirm',
      v: subscriber.tokenVersion,
      exp: nowSeconds + CONFIRM_TOKEN_SECONDS,
      topics: [...request.topics],
      cadence: request.cadence,
      iat: nowSeconds,
    }),
  );

/**
 * The personal links every email carries: manage, leave everything (also the RFC 8058 one-click
 * target) and leave one topic, each good for a year or until the subscriber leaves everything.
 */
export const subscriberLinks = (
  secret: string,
  siteUrl: string,
  subscriber: Pick<Subscriber, 'id' | 'tokenVersion'>,
  nowSeconds: number,
): SubscriberLinks => {
  const base = { sub: subscriber.id, v: subscriber.tokenVersion, exp: nowSeconds + LINK_TOKEN_SECONDS };
  const unsubscribeAll = apiUrl(
    siteUrl,
    'unsubscribe',
    signToken(secret, { ...base, purpose: 'unsubscribe' }),
  );
  return {
    manage: apiUrl(siteUrl, 'manage', signToken(secret, { ...base, purpose: 'manage' })),
    unsubscribeAll,
    oneClick: unsubscribeAll,
    unsubscribeTopic: (slug) =>
      apiUrl(siteUrl, 'unsubscribe', signToken(secret, { ...base, purpose: 'unsubscribe', topic: slug })),
  };
};
