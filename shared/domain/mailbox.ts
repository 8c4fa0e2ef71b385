/**
 * The mailbox an address delivers to, for limits: providers ignore what the address syntax lets
 * a sender vary, so `victim+1@…` … `victim+6@…` are one inbox and must share one limit. The
 * stored address stays as the reader typed it; this form is only ever hashed into a limit key.
 */

/** Domains that are one mailbox provider, mapped to one name. */
const DOMAIN_ALIASES: Readonly<Record<string, string>> = { 'googlemail.com': 'gmail.com' };

/** Providers that ignore dots in the local part (`j.doe` and `jdoe` are one inbox). */
const DOTLESS_DOMAINS = new Set(['gmail.com']);

/**
 * Lowercased, the `+suffix` of the local part removed (sub-addressing, RFC 5233), googlemail.com
 * read as gmail.com and, there, the dots of the local part dropped. An address that would lose its
 * whole local part keeps it, so the result is always an address.
 */
export const canonicalMailbox = (email: string): string => {
  const address = email.trim().toLowerCase();
  const at = address.lastIndexOf('@');
  if (at <= 0) return address;
  const rawDomain = address.slice(at + 1).replace(/\.$/, '');
  const domain = DOMAIN_ALIASES[rawDomain] ?? rawDomain;
  let local = address.slice(0, at);
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  if (DOTLESS_DOMAINS.has(domain)) {
    const dotless = local.replaceAll('.', '');
    if (dotless !== '') local = dotless;
  }
  return `${local}@${domain}`;
};
