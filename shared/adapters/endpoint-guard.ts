import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { EndpointRefusedError } from './webhooks.js';

/**
 * Addresses a local webhook must never reach: link-local IPv4 (169.254.0.0/16, where cloud
 * instance metadata answers at 169.254.169.254), link-local IPv6 (fe80::/10) and the IPv6
 * metadata endpoint of EC2 (fd00:ec2::254), and 169.254.0.0/16 written as IPv6. A webhook URL is chosen by whoever holds a key; the
 * machine running Tidings may be a cloud instance whose metadata hands out credentials.
 * Loopback and private addresses stay allowed: local integrators listen on localhost.
 */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6');
// IPv6 addresses that carry an IPv4 address in their last 32 bits, which a NAT64 gateway, a SIIT
// translator or the stack itself may turn into that address: 169.254.0.0/16 inside each of them.
for (const prefix of [
  '::', // IPv4-compatible, ::/96 (deprecated, still parsed: `[::169.254.169.254]`)
  '64:ff9b::', // NAT64's well-known prefix, 64:ff9b::/96
  '::ffff:0:', // SIIT's IPv4-translated addresses, ::ffff:0:0/96
]) {
  FORBIDDEN.addSubnet(`${prefix}a9fe:0`, 112, 'ipv6');
}

export const FORBIDDEN_RULE =
  'must not lead to a link-local or metadata address (169.254.0.0/16, also embedded in IPv6; fe80::/10, fd00:ec2::254)';

/** Whether an IP address (v4, v6, or v4 mapped into v6) is one a webhook must not reach. */
export const isForbiddenAddress = (address: string): boolean => {
  const family = isIP(address);
  // BlockList matches an IPv4-mapped IPv6 address (::ffff:169.254.169.254) against the IPv4 rules.
  return family !== 0 && FORBIDDEN.check(address, family === 6 ? 'ipv6' : 'ipv4');
};

/** A delivery or registration refused for where the endpoint leads: permanent, never retried. */
export class ForbiddenEndpointError extends EndpointRefusedError {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenEndpointError';
  }
}

/** `dns.lookup`'s shape, so tests can stand in a resolver of their own. */
export type Lookup = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export const defaultLookup: Lookup = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/** A URL's host as an address or name, without the brackets of an IPv6 literal. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Why an address may not be connected to (the rule it breaks), or undefined when it may. */
export type AddressRule = (address: string) => string | undefined;

const webhookRule: AddressRule = (address) => (isForbiddenAddress(address) ? FORBIDDEN_RULE : undefined);

/**
 * A `lookup` for `http.request`: resolves as usual and fails the connection when any address the
 * name resolves to breaks `rule`, so the check holds for the address actually connected to (a name
 * that changes its answer between a check and the connection, DNS rebinding, gains nothing). The
 * error names the rule, then `(<name> <relation> <address>)`.
 */
export const refusingLookup =
  (lookup: Lookup, rule: AddressRule, relation: string) =>
  (
    hostname: string,
    options: LookupOptions,
    callback: (
      error: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      for (const { address } of addresses) {
        const broken = rule(address);
        if (broken)
          return callback(
            Object.assign(new ForbiddenEndpointError(`${broken} (${hostname} ${relation} ${address})`), {
              code: 'EFORBIDDEN',
            }),
            [],
          );
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };

/** `refusingLookup` with the webhooks' rule: no link-local or metadata address. */
export const guardedLookup = (lookup: Lookup = defaultLookup) =>
  refusingLookup(lookup, webhookRule, 'resolves to');

/**
 * Checks a webhook URL before it is registered or called: an address in the URL itself, or any
 * address its name resolves to. A name that does not resolve passes (its deliveries will fail, and
 * are checked again when they connect).
 */
export const checkEndpoint = async (url: URL, lookup: Lookup = defaultLookup): Promise<void> => {
  const host = hostOf(url);
  if (isIP(host) !== 0) {
    if (isForbiddenAddress(host)) throw new ForbiddenEndpointError(`${FORBIDDEN_RULE} (got ${host})`);
    return;
  }
  const addresses = await new Promise<LookupAddress[]>((resolve) =>
    lookup(host, { all: true }, (error, found) => resolve(error ? [] : found)),
  );
  const bad = addresses.find((a) => isForbiddenAddress(a.address));
  if (bad) throw new ForbiddenEndpointError(`${FORBIDDEN_RULE} (${host} resolves to ${bad.address})`);
};
