import type { LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import type { CallbackPolicy } from '../domain/websub.js';
import {
  defaultLookup,
  FORBIDDEN_RULE,
  ForbiddenEndpointError,
  hostOf,
  isForbiddenAddress,
  type Lookup,
  refusingLookup,
} from './endpoint-guard.js';

/**
 * The hub's outbound HTTP to readers' callbacks. Anyone may name a callback, so where it may lead
 * is checked when the request comes and again on the address actually connected to (a name whose
 * answer changes in between gains nothing); redirects are never followed.
 *
 * - `aws`: public addresses only. The webhooks' link-local and metadata rules
 *   (`endpoint-guard.ts`), and every private, loopback, shared, multicast and reserved range.
 * - `local`: this machine only (loopback), so a reader on the developer's laptop works and the
 *   hub cannot reach the network it sits on.
 */
const NOT_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  NOT_PUBLIC.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127],
  ['fc00::', 7],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  NOT_PUBLIC.addSubnet(net, bits, 'ipv6');
// IPv4 carried in IPv6 (NAT64, SIIT, compatible): private ranges inside them too.
for (const prefix of ['::', '64:ff9b::', '::ffff:0:'])
  for (const [hex, bits] of [
    ['a00:0', 104],
    ['7f00:0', 104],
    ['ac10:0', 108],
    ['c0a8:0', 112],
    ['6440:0', 106],
  ] as const)
    NOT_PUBLIC.addSubnet(`${prefix}${hex}`, bits, 'ipv6');

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

const check = (list: BlockList, address: string): boolean => {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
};

const LOCAL_RULE = 'must lead to this machine (a loopback address) in the local runtime';
const PUBLIC_RULE = `must lead to a public address (no private, loopback or reserved ones), and ${FORBIDDEN_RULE}`;

/** Why an address is refused under the policy, or undefined. */
export const refusedAddress = (address: string, policy: CallbackPolicy): string | undefined => {
  if (policy === 'local') return check(LOOPBACK, address) ? undefined : LOCAL_RULE;
  return isForbiddenAddress(address) || check(NOT_PUBLIC, address) ? PUBLIC_RULE : undefined;
};

/** An answer from a callback: its status and the start of its body. */
export interface CallbackAnswer {
  status: number;
  body: string;
}

/** The hub's port to callbacks. */
export interface CallbackClient {
  /** Why the callback may not be called (as the rule broken), or undefined. */
  refused(url: string): Promise<string | undefined>;
  get(url: string): Promise<CallbackAnswer>;
  post(url: string, headers: Record<string, string>, body: Uint8Array): Promise<CallbackAnswer>;
}

/** Bytes of an answer read: a challenge is short, and nothing else of an answer is used. */
const ANSWER_MAX = 16 * 1024;
const TIMEOUT_MS = 10_000;

export const makeCallbackClient = (
  policy: CallbackPolicy,
  lookup: Lookup = defaultLookup,
): CallbackClient => {
  const resolve = (host: string): Promise<LookupAddress[]> =>
    isIP(host) !== 0
      ? Promise.resolve([{ address: host, family: isIP(host) }])
      : new Promise((done) => lookup(host, { all: true }, (error, found) => done(error ? [] : found)));

  const refused = async (raw: string): Promise<string | undefined> => {
    const host = hostOf(new URL(raw));
    const addresses = await resolve(host);
    if (addresses.length === 0) return 'must have a host name that resolves';
    for (const { address } of addresses) {
      const rule = refusedAddress(address, policy);
      if (rule) return `${rule} (${host} is ${address})`;
    }
    return undefined;
  };

  // Checked again on the address connected to.
  const guarded = refusingLookup(lookup, (address) => refusedAddress(address, policy), 'is');

  const send = async (
    raw: string,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    body?: Uint8Array,
  ): Promise<CallbackAnswer> => {
    const url = new URL(raw);
    const host = hostOf(url);
    // A literal address never goes through `lookup`: checked here.
    if (isIP(host) !== 0) {
      const rule = refusedAddress(host, policy);
      if (rule) throw new ForbiddenEndpointError(`${rule} (got ${host})`);
    }
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          headers: {
            ...headers,
            'user-agent': 'Tidings WebSub hub',
            ...(body ? { 'content-length': String(body.byteLength) } : {}),
          },
          lookup: guarded,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size < ANSWER_MAX) chunks.push(chunk);
            size += chunk.length;
          });
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).subarray(0, ANSWER_MAX).toString('utf8'),
            }),
          );
        },
      );
      req.on('error', (error) => reject(error.cause instanceof ForbiddenEndpointError ? error.cause : error));
      req.end(body);
    });
  };

  return {
    refused,
    get: (url) => send(url, 'GET', {}),
    post: (url, headers, body) => send(url, 'POST', headers, body),
  };
};
