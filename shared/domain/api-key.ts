import { createHash } from 'node:crypto';

/** Keys are 32 random bytes, so a plain SHA-256 is enough to store them safely (no password stretching needed). */
export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * A key's public name in records and logs: the first 16 hex characters of its hash. It identifies
 * the key (webhooks it owns, events it wrote) without being usable as, or leading back to, the key.
 */
export const apiKeyIdOf = (hash: string): string => hash.slice(0, 16);

/** The key from `Authorization: Bearer <key>`, or undefined when the header is absent or malformed. */
export const bearerToken = (header: string | undefined): string | undefined => {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{16,256})$/i.exec(header?.trim() ?? '');
  return m?.[1];
};

export const API_KEY_PREFIX = 'tdg_';

/** Formats random bytes (supplied by the caller) as an API key. */
export const formatApiKey = (random: Uint8Array): string =>
  `${API_KEY_PREFIX}${Buffer.from(random).toString('base64url')}`;
