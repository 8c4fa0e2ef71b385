import type { Lookup } from '../../shared/adapters/endpoint-guard.js';

/** A resolver standing in for DNS: each name answers the addresses given, any other is not found. */
export const fakeLookup =
  (names: Record<string, string[]>): Lookup =>
  (hostname, _options, callback) => {
    const addresses = names[hostname];
    if (!addresses) {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      return;
    }
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
