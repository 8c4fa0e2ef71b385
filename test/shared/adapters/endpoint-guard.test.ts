import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  ForbiddenEndpointError,
  guardedLookup,
  type Lookup,
  refusingLookup,
} from '../../../shared/adapters/endpoint-guard.js';
import { makeCallbackClient } from '../../../shared/adapters/websub-http.js';

const answering =
  (addresses: string[]): Lookup =>
  (_hostname, _options, callback) =>
    callback(
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );

/** What a lookup hands `http.request`: the error, or the address and family it connects to. */
const connect = (
  lookup: ReturnType<typeof refusingLookup>,
  all = false,
): Promise<{
  error: (Error & { code?: string }) | null;
  address: string | LookupAddress[];
  family?: number;
}> =>
  new Promise((resolve) =>
    lookup('feed.example', { all }, (error, address, family) => resolve({ error, address, family })),
  );

describe('refusingLookup', () => {
  const privateTen = (address: string) => (address.startsWith('10.') ? 'must not be private' : undefined);

  it('fails the connection on any address that breaks the rule, naming the rule, the name and the address', async () => {
    const { error, address } = await connect(
      refusingLookup(answering(['203.0.113.9', '10.0.0.5']), privateTen, 'is'),
    );
    expect(error).toBeInstanceOf(ForbiddenEndpointError);
    expect(error?.code).toBe('EFORBIDDEN');
    expect(error?.message).toBe('must not be private (feed.example is 10.0.0.5)');
    expect(address).toEqual([]);
  });

  it('connects to the first address when none breaks the rule, or hands them all when asked', async () => {
    const lookup = refusingLookup(answering(['203.0.113.9', '2001:db8::1']), privateTen, 'is');
    expect(await connect(lookup)).toEqual({ error: null, address: '203.0.113.9', family: 4 });
    const all = await connect(lookup, true);
    expect(all.error).toBeNull();
    expect(all.address).toEqual([
      { address: '203.0.113.9', family: 4 },
      { address: '2001:db8::1', family: 6 },
    ]);
  });

  it('is what the webhooks and the WebSub hub both connect through, each with its own rule', async () => {
    const webhook = await connect(guardedLookup(answering(['169.254.169.254'])));
    expect(webhook.error?.message).toMatch(
      /link-local or metadata address .*\(feed\.example resolves to 169\.254\.169\.254\)$/,
    );
    const hub = makeCallbackClient('aws', answering(['192.168.1.1']));
    await expect(hub.get('http://feed.example/cb')).rejects.toThrow(
      /public address.*\(feed\.example is 192\.168\.1\.1\)$/,
    );
  });
});
