/**
 * Signed links for subscribers: who they are (an HMAC of the address), what a link may do, until
 * when, for which record and which generation of links, and under which signing key. Pure: the
 * keys and the time come in as arguments.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { SubscriberLinks } from './digest.js';
import {
  CADENCES,
  type Cadence,
  type DeliveryPreferences,
  MAX_TAGS,
  MAX_TOPICS,
  type Subscriber,
} from './subscription.js';

export const TOKEN_PURPOSES = ['confirm', 'manage', 'unsubscribe', 'feed'] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

/** A confirmation link is good for two days. */
export const CONFIRM_TOKEN_SECONDS = 48 * 60 * 60;
/** Manage links in emails: long enough to act on a digest, short enough that an old inbox holds no lasting power. */
export const MANAGE_TOKEN_SECONDS = 60 * 24 * 60 * 60;
/** A manage link handed out by a page (after confirming): an hour. */
export const PAGE_MANAGE_TOKEN_SECONDS = 60 * 60;
/** Unsubscribe links sit in inboxes, and mailbox providers expect them to keep working for a year. */
export const UNSUBSCRIBE_TOKEN_SECONDS = 365 * 24 * 60 * 60;
/**
 * A private feed's URL sits in a feed reader: it works for 400 days (every digest and the manage
 * page give a fresh one), until the reader signs out all their links or leaves.
 */
export const FEED_TOKEN_SECONDS = 400 * 24 * 60 * 60;

/** The longest life each purpose allows, whatever a token's own expiry says. */
export const MAX_TOKEN_SECONDS: Record<TokenPurpose, number> = {
  confirm: CONFIRM_TOKEN_SECONDS,
  manage: MANAGE_TOKEN_SECONDS,
  unsubscribe: UNSUBSCRIBE_TOKEN_SECONDS,
  feed: FEED_TOKEN_SECONDS,
};

/**
 * Links made before key ids carried no `iat` (except confirmations) and every one was made to
 * last this long, so `exp` minus this is when they were made.
 */
const LEGACY_LINK_SECONDS = 365 * 24 * 60 * 60;

/** Longer than any token this module issues (a confirmation with MAX_TAGS and MAX_TOPICS long slugs is about 3 KB). */
const TOKEN_MAX_LENGTH = 4096;

export interface TokenClaims {
  /** The subscriber id (`subscriberIdOf`). */
  sub: string;
  purpose: TokenPurpose;
  /**
   * Unsubscribe links: the tag slug to leave. (Named before "topic" came to mean the topic label;
   * links in inboxes carry it, so the name stays.) With `label`, absent means everything.
   */
  topic?: string;
  /** Unsubscribe links: the topic label slug to leave. */
  label?: string;
  /** The subscriber's `tokenVersion` when the link was made. */
  v: number;
  /** Expiry, epoch seconds. */
  exp: number;
  /** When the link was made, epoch seconds (absent on manage and unsubscribe links made before key ids). */
  iat?: number;
  /** The subscriber record's creation nonce; absent only for records made before nonces. */
  n?: string;
  /** Confirmation, manage and feed links: the subscriber's `linkGeneration` when made. */
  g?: number;
  /** Confirmation links: the tag slugs asked for (the name stays, as `topic`'s does). */
  topics?: string[];
  /** Confirmation links: the topic label slugs asked for. */
  labels?: string[];
  /** Confirmation links: the cadence asked for. */
  cadence?: Cadence;
  /** Confirmation links: the delivery time and quiet hours asked for (absent: the record's own). */
  pref?: PreferenceClaim;
}

/** Delivery preferences as a confirmation link carries them: zone, hour, weekday, quiet hours. */
export interface PreferenceClaim {
  tz: string;
  h: number;
  wd: number;
  q?: [number, number];
}

/** A zone name as links carry it: IANA names are ASCII letters, digits, `/`, `_`, `+` and `-`. */
const ZONE_NAME = /^[A-Za-z0-9/_+-]{1,64}$/;
const isHour = (value: unknown, max: number): boolean => isInt(value) && value >= 0 && value <= max;

const isPreferenceClaim = (value: unknown): value is PreferenceClaim => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.tz === 'string' &&
    ZONE_NAME.test(p.tz) &&
    isHour(p.h, 23) &&
    isHour(p.wd, 6) &&
    (p.q === undefined ||
      (Array.isArray(p.q) && p.q.length === 2 && isHour(p.q[0], 23) && isHour(p.q[1], 23)))
  );
};

/** The preferences a confirmation link asks for, as the subscriber record holds them. */
export const preferencesOfClaim = (claim: PreferenceClaim): DeliveryPreferences => ({
  timeZone: claim.tz,
  deliveryHour: claim.h,
  deliveryWeekday: claim.wd,
  ...(claim.q ? { quietHours: { from: claim.q[0], to: claim.q[1] } } : {}),
});

const claimOfPreferences = (preferences: DeliveryPreferences): PreferenceClaim | undefined =>
  preferences.timeZone === undefined ||
  preferences.deliveryHour === undefined ||
  preferences.deliveryWeekday === undefined
    ? undefined
    : {
        tz: preferences.timeZone,
        h: preferences.deliveryHour,
        wd: preferences.deliveryWeekday,
        ...(preferences.quietHours ? { q: [preferences.quietHours.from, preferences.quietHours.to] } : {}),
      };

export type TokenFailure = 'malformed' | 'invalid signature' | 'retired key' | 'wrong purpose' | 'expired';
export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: TokenFailure };

/** A key that signs links; tokens name it by `kid`. */
export interface SigningKey {
  kid: string;
  key: Buffer;
}

/** The keys derived from the stored secret, one per purpose (`deriveLinkKeys`). */
export interface LinkKeys {
  /** The HMAC key of subscriber ids. Never rotates: ids are the subscribers' table keys. */
  id: Buffer;
  /** The first signs new links; each verifies the links that carry its kid. */
  signing: readonly [SigningKey, ...SigningKey[]];
  /**
   * Private feed URLs' keys, derived from the same secrets for that purpose alone (HKDF info
   * `tidings/feed-signing`): a feed URL, which feed readers keep and services that sync them see,
   * can never pass for an email link, nor an email link for a feed.
   */
  feed: readonly [SigningKey, ...SigningKey[]];
  /** Verifies links made before key ids (they carry no kid), while they may still be in inboxes. */
  legacy?: Buffer;
}

/** The stored secret, parsed (shared/adapters/token-secret.ts reads and validates it). */
export interface LinkKeySpec {
  /** The root of subscriber ids. */
  id: string;
  /**
   * Ids are HMAC(id, address) with the root itself as the key, as before key derivation: a
   * deployment that began with a plain-string secret keeps every subscriber's id this way.
   */
  legacyIds: boolean;
  /** Links without a kid (made before key ids) verify with the `id` root itself. */
  legacyLinks: boolean;
  /** Signing secrets, the current one first. */
  signing: readonly [{ kid: string; secret: string }, ...{ kid: string; secret: string }[]];
}

/** Key ids: short, and never a "." (the token's separator). */
export const KID = /^[A-Za-z0-9_-]{1,16}$/;

const ID_INFO = 'tidings/subscriber-id';
const SIGNING_INFO = 'tidings/link-signing';
const FEED_SIGNING_INFO = 'tidings/feed-signing';

/** HKDF-SHA256 (extract and expand) of one secret for one purpose: keys of different purposes are unrelated. */
const derive = (secret: string, info: string): Buffer =>
  Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), info, 32));

/** The keys of each purpose, derived separately from the stored secrets (deterministic). */
export const deriveLinkKeys = (spec: LinkKeySpec): LinkKeys => {
  const [current, ...older] = spec.signing;
  const keyOf =
    (info: string) =>
    (s: { kid: string; secret: string }): SigningKey => ({
      kid: s.kid,
      key: derive(s.secret, info),
    });
  const signingKey = keyOf(SIGNING_INFO);
  const feedKey = keyOf(FEED_SIGNING_INFO);
  return {
    id: spec.legacyIds ? Buffer.from(spec.id, 'utf8') : derive(spec.id, ID_INFO),
    signing: [signingKey(current), ...older.map(signingKey)],
    feed: [feedKey(current), ...older.map(feedKey)],
    ...(spec.legacyLinks ? { legacy: Buffer.from(spec.id, 'utf8') } : {}),
  };
};

/** The subscriber id: HMAC-SHA256 of the trimmed, lowercased address under the id key, hex, first 32 characters. */
export const subscriberIdOf = (keys: Pick<LinkKeys, 'id'>, email: string): string =>
  createHmac('sha256', keys.id).update(email.trim().toLowerCase()).digest('hex').slice(0, 32);

const mac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/**
 * `kid.base64url(JSON claims).base64url(HMAC-SHA256(signing key, "kid.payload"))`, under the
 * current signing key. (Links made before key ids are `payload.mac`, verified by `keys.legacy`.)
 */
export const signToken = (keys: Pick<LinkKeys, 'signing'>, claims: TokenClaims): string => {
  const { kid, key } = keys.signing[0];
  const signed = `${kid}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signed}.${mac(key, signed).toString('base64url')}`;
};

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const SUBSCRIBER_ID = /^[0-9a-f]{32}$/;
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const NONCE = /^[A-Za-z0-9_-]{1,64}$/;

const isInt = (value: unknown): value is number => Number.isSafeInteger(value);

/** Absent, or a list of at most `max` slugs. */
const isSlugList = (value: unknown, max: number): boolean =>
  value === undefined ||
  (Array.isArray(value) && value.length <= max && value.every((t) => typeof t === 'string' && SLUG.test(t)));

/** Claims as the signer wrote them; anything else is malformed. */
const readClaims = (value: unknown): TokenClaims | undefined => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const c = value as Record<string, unknown>;
  if (typeof c.sub !== 'string' || !SUBSCRIBER_ID.test(c.sub)) return undefined;
  if (!TOKEN_PURPOSES.includes(c.purpose as TokenPurpose)) return undefined;
  if (!isInt(c.v) || c.v < 0 || !isInt(c.exp)) return undefined;
  if (c.topic !== undefined && (typeof c.topic !== 'string' || !SLUG.test(c.topic))) return undefined;
  if (c.label !== undefined && (typeof c.label !== 'string' || !SLUG.test(c.label))) return undefined;
  if (c.topic !== undefined && c.label !== undefined) return undefined;
  if (!isSlugList(c.topics, MAX_TAGS) || !isSlugList(c.labels, MAX_TOPICS)) return undefined;
  if (c.cadence !== undefined && !CADENCES.includes(c.cadence as Cadence)) return undefined;
  if (c.iat !== undefined && !isInt(c.iat)) return undefined;
  if (c.n !== undefined && (typeof c.n !== 'string' || !NONCE.test(c.n))) return undefined;
  if (c.g !== undefined && (!isInt(c.g) || c.g < 0)) return undefined;
  if (c.pref !== undefined && !isPreferenceClaim(c.pref)) return undefined;
  return c as unknown as TokenClaims;
};

/**
 * The key a token's signature must verify under: by its kid among the purpose's keys (feed links
 * have their own), or the legacy key for an email link without one.
 */
const keyFor = (keys: LinkKeys, kid: string | undefined, purpose: TokenPurpose): Buffer | undefined => {
  const set = purpose === 'feed' ? keys.feed : keys.signing;
  if (kid === undefined) return purpose === 'feed' ? undefined : keys.legacy;
  return set.find((k) => k.kid === kid)?.key;
};

/**
 * Checks a token in this order: well formed, signing key known, signature (constant-time),
 * purpose, expiry (its own, and the longest its purpose allows). Whether it is still current
 * (record nonce, versions) needs the stored subscriber: `isCurrentToken`.
 */
export const verifyToken = (
  keys: LinkKeys,
  token: string,
  purpose: TokenPurpose,
  nowSeconds: number,
): TokenCheck => {
  if (token.length > TOKEN_MAX_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if ((parts.length !== 2 && parts.length !== 3) || !parts.every((p) => p !== '' && BASE64URL.test(p))) {
    return { ok: false, reason: 'malformed' };
  }
  const kid = parts.length === 3 ? parts[0] : undefined;
  const payload = parts.at(-2) ?? '';
  const signature = parts.at(-1) ?? '';
  if (kid !== undefined && !KID.test(kid)) return { ok: false, reason: 'malformed' };
  const key = keyFor(keys, kid, purpose);
  if (!key) return { ok: false, reason: 'retired key' };
  const expected = mac(key, kid === undefined ? payload : `${kid}.${payload}`);
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
  const issued = claims.iat ?? claims.exp - LEGACY_LINK_SECONDS;
  if (claims.exp <= nowSeconds || issued + MAX_TOKEN_SECONDS[purpose] <= nowSeconds) {
    return { ok: false, reason: 'expired' };
  }
  return { ok: true, claims };
};

/** What of a subscriber decides whether their links still work. */
export type LinkState = Pick<Subscriber, 'id' | 'tokenVersion' | 'nonce' | 'linkGeneration'>;

/**
 * Whether a verified token still speaks for this subscriber record: the same record (its creation
 * nonce, so a record deleted and made again voids every earlier link), not left since (`v`), and
 * for confirmation, manage and feed links, not signed out since (`g`). Unsubscribe links ignore `g`:
 * signing out must not break the unsubscribe links of emails already sent.
 */
export const isCurrentToken = (claims: TokenClaims, subscriber: LinkState): boolean =>
  claims.sub === subscriber.id &&
  claims.v === subscriber.tokenVersion &&
  claims.n === subscriber.nonce &&
  (claims.purpose === 'unsubscribe' || (claims.g ?? 0) === (subscriber.linkGeneration ?? 0));

const apiUrl = (siteUrl: string, path: string, token: string): string =>
  `${siteUrl.replace(/\/+$/, '')}/api/subscriptions/${path}?token=${token}`;

/** The claims every link of this subscriber carries. */
const baseClaims = (subscriber: LinkState, nowSeconds: number) => ({
  sub: subscriber.id,
  v: subscriber.tokenVersion,
  iat: nowSeconds,
  ...(subscriber.nonce !== undefined ? { n: subscriber.nonce } : {}),
});

/** The confirmation link for a request of these tags, topic labels and cadence, good for 48 hours. */
export const confirmLink = (
  keys: Pick<LinkKeys, 'signing'>,
  siteUrl: string,
  subscriber: LinkState,
  request: {
    tags: readonly string[];
    topics: readonly string[];
    cadence: Cadence;
    preferences?: DeliveryPreferences;
  },
  nowSeconds: number,
): string => {
  const pref = request.preferences ? claimOfPreferences(request.preferences) : undefined;
  return apiUrl(
    siteUrl,
    'confirm',
    signToken(keys, {
      ...baseClaims(subscriber, nowSeconds),
      purpose: 'confirm',
      g: subscriber.linkGeneration ?? 0,
      exp: nowSeconds + CONFIRM_TOKEN_SECONDS,
      topics: [...request.tags],
      // Absent when empty, so a link asking for tags alone is the same as before labels.
      ...(request.topics.length > 0 ? { labels: [...request.topics] } : {}),
      cadence: request.cadence,
      ...(pref ? { pref } : {}),
    }),
  );
};

/** The subscriber's private feed: their digest as Atom, under the feed keys, for FEED_TOKEN_SECONDS. */
export const feedLink = (
  keys: Pick<LinkKeys, 'feed'>,
  siteUrl: string,
  subscriber: LinkState,
  nowSeconds: number,
): string =>
  apiUrl(
    siteUrl,
    'feed',
    signToken(
      { signing: keys.feed },
      {
        ...baseClaims(subscriber, nowSeconds),
        purpose: 'feed',
        g: subscriber.linkGeneration ?? 0,
        exp: nowSeconds + FEED_TOKEN_SECONDS,
      },
    ),
  );

/** A manage link alone, good for `seconds` (at most MANAGE_TOKEN_SECONDS). */
export const manageLink = (
  keys: Pick<LinkKeys, 'signing'>,
  siteUrl: string,
  subscriber: LinkState,
  nowSeconds: number,
  seconds: number = MANAGE_TOKEN_SECONDS,
): string =>
  apiUrl(
    siteUrl,
    'manage',
    signToken(keys, {
      ...baseClaims(subscriber, nowSeconds),
      purpose: 'manage',
      g: subscriber.linkGeneration ?? 0,
      exp: nowSeconds + Math.min(seconds, MANAGE_TOKEN_SECONDS),
    }),
  );

/**
 * The personal links every email carries: manage (60 days), leave everything (also the RFC 8058
 * one-click target) and leave one tag or topic label (a year each), and the private feed (400 days). Each also stops when the subscriber leaves
 * everything; manage links also when they sign out all their links.
 */
export const subscriberLinks = (
  keys: Pick<LinkKeys, 'signing' | 'feed'>,
  siteUrl: string,
  subscriber: LinkState,
  nowSeconds: number,
): SubscriberLinks => {
  const unsubscribe = (scope: { topic?: string; label?: string } = {}) =>
    apiUrl(
      siteUrl,
      'unsubscribe',
      signToken(keys, {
        ...baseClaims(subscriber, nowSeconds),
        purpose: 'unsubscribe',
        exp: nowSeconds + UNSUBSCRIBE_TOKEN_SECONDS,
        ...scope,
      }),
    );
  const unsubscribeAll = unsubscribe();
  return {
    manage: manageLink(keys, siteUrl, subscriber, nowSeconds),
    unsubscribeAll,
    oneClick: unsubscribeAll,
    feed: feedLink(keys, siteUrl, subscriber, nowSeconds),
    unsubscribeTag: (slug) => unsubscribe({ topic: slug }),
    unsubscribeTopicLabel: (slug) => unsubscribe({ label: slug }),
  };
};
