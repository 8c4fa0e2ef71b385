import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { deriveLinkKeys, KID, type LinkKeySpec, type LinkKeys } from '../domain/tokens.js';
import { traced } from '../tracing.js';

/**
 * The keys that derive subscriber ids and sign subscriber links, from one stored secret: Secrets
 * Manager in AWS, a file in the data folder locally. Two formats (docs/deploy.md, "Link keys"):
 *
 * - a plain string (every deployment made before key ids holds one): ids stay HMAC(secret,
 *   address), links are signed with a key derived from it (kid `k1`), and links made before key
 *   ids still verify. It reads as `{"id": S, "legacyIds": true, "legacyLinks": true, "signing": [{"kid": "k1", "secret": S}]}`.
 * - JSON `{"id": "…", "signing": [{"kid": "k2", "secret": "…"}, {"kid": "k1", "secret": "…"}]}`:
 *   the first signing key signs, every listed one verifies (rotation); `id` never changes, since ids
 *   are the subscribers' table keys. Optional `legacyIds` and `legacyLinks` as above.
 */
export type TokenSecret = () => Promise<LinkKeys>;

/** Shorter secrets are refused: an HMAC key should carry at least 256 bits. */
export const MIN_SECRET_LENGTH = 32;

/** The one call the provider makes; a `SecretsManagerClient` fits, and so does a test's fake. */
export interface SecretsClient {
  send(command: GetSecretValueCommand): Promise<{ SecretString?: string }>;
}

export const createSecretsClient = (): SecretsManagerClient => traced(new SecretsManagerClient({}));

const FIELDS = new Set(['id', 'legacyIds', 'legacyLinks', 'signing']);

const secretString = (value: unknown, field: string): string => {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) {
    throw new Error(`token secret: ${field} must be a string of at least ${MIN_SECRET_LENGTH} characters`);
  }
  return value;
};

const flag = (value: unknown, field: string): boolean => {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new Error(`token secret: ${field} must be true or false when given`);
  }
  return value === true;
};

/** The stored secret read and checked; every error names the field and the rule (never the value). */
export const parseTokenSecret = (raw: string): LinkKeySpec => {
  const text = raw.trim();
  // A plain string never starts like JSON: the CDK generates letters and digits only.
  if (!/^[[{]/.test(text)) {
    const secret = secretString(text, 'the secret');
    return { id: secret, legacyIds: true, legacyLinks: true, signing: [{ kid: 'k1', secret }] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('token secret: is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('token secret: must be a JSON object with id and signing');
  }
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) {
    throw new Error(
      `token secret: ${unknown.join(', ')} is not a known field (allowed: ${[...FIELDS].join(', ')})`,
    );
  }
  if (!Array.isArray(o.signing) || o.signing.length === 0) {
    throw new Error('token secret: signing must be a list of {kid, secret}, the current key first');
  }
  const signing = o.signing.map((entry: unknown, i) => {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    if (typeof e.kid !== 'string' || !KID.test(e.kid)) {
      throw new Error(`token secret: signing[${i}].kid must be 1 to 16 letters, digits, "-" or "_"`);
    }
    return { kid: e.kid, secret: secretString(e.secret, `signing[${i}].secret`) };
  });
  const kids = signing.map((s) => s.kid);
  const twice = kids.find((kid, i) => kids.indexOf(kid) !== i);
  if (twice !== undefined) throw new Error(`token secret: signing lists kid ${twice} twice`);
  const [current, ...older] = signing;
  if (!current) throw new Error('token secret: signing must not be empty');
  return {
    id: secretString(o.id, 'id'),
    legacyIds: flag(o.legacyIds, 'legacyIds'),
    legacyLinks: flag(o.legacyLinks, 'legacyLinks'),
    signing: [current, ...older],
  };
};

/** The keys of a stored secret (either format). */
export const linkKeysOf = (raw: string): LinkKeys => deriveLinkKeys(parseTokenSecret(raw));

/** A secret for a new deployment (the local runtime's first start): JSON, ids derived with HKDF. */
export const newTokenSecret = (): string =>
  JSON.stringify({
    id: randomBytes(32).toString('base64url'),
    signing: [{ kid: 'k1', secret: randomBytes(32).toString('base64url') }],
  });

/** How long a container keeps the keys before reading the secret again: a rotation reaches every container within it. */
export const SECRET_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * Reads the secret and keeps its keys for `maxAgeMs`; a failed read is not kept, so the next
 * request tries again.
 */
export const secretsManagerTokenSecret = (
  client: SecretsClient,
  secretId: string,
  options: { maxAgeMs?: number; now?: () => number } = {},
): TokenSecret => {
  const { maxAgeMs = SECRET_MAX_AGE_MS, now = Date.now } = options;
  let cached: { keys: Promise<LinkKeys>; at: number } | undefined;
  return () => {
    if (!cached || now() - cached.at >= maxAgeMs) {
      const keys = client
        .send(new GetSecretValueCommand({ SecretId: secretId }))
        .then((out) => linkKeysOf(out.SecretString ?? ''));
      const entry = { keys, at: now() };
      cached = entry;
      keys.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.keys;
  };
};

/** A fixed secret (the local runtime's file, tests), in either format. */
export const staticTokenSecret = (raw: string): TokenSecret => {
  const keys = linkKeysOf(raw);
  return () => Promise.resolve(keys);
};

/**
 * A plain secret string (the CloudFront origin header's value), read once per container; a failed
 * read is not kept. Its two ends change only with a deploy, so it is never re-read.
 */
export const secretsManagerString = (client: SecretsClient, secretId: string): (() => Promise<string>) => {
  let cached: Promise<string> | undefined;
  return () => {
    if (!cached) {
      const value = client.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
        if (!out.SecretString) throw new Error(`secret ${secretId} holds no string`);
        return out.SecretString;
      });
      cached = value;
      value.catch(() => {
        if (cached === value) cached = undefined;
      });
    }
    return cached;
  };
};
