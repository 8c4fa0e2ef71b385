import { describe, expect, it } from 'vitest';
import {
  cameThroughCloudFront,
  clientOf,
  crossSiteRule,
  UNKNOWN_VIEWER,
} from '../../../shared/domain/signup.js';

/** The origin secret CloudFront sends in these tests. */
const SECRET = 'origin-secret-0123456789abcdefghijklmnopqrstuv';

describe('clientOf', () => {
  it.each([
    ['IPv4 with port (CloudFront)', '198.51.100.10:46532', '10.0.0.1', '198.51.100.10'],
    ['bracketed IPv6 with port', '[2001:db8:1:2:3:4:5:6]:443', '10.0.0.1', '2001:db8:1:2::/64'],
    ['bracketed IPv6 without port', '[2001:db8::1]', '10.0.0.1', '2001:db8:0:0::/64'],
    [
      'bare IPv6 with the port last (CloudFront)',
      '2001:db8:a:b:c:d:e:f:52742',
      '10.0.0.1',
      '2001:db8:a:b::/64',
    ],
    ['bare compressed IPv6 with the port last', '2001:db8:a::1:443', '10.0.0.1', '2001:db8:a:0::/64'],
    ['bare IPv6 without a port', '2001:db8:a:b:c:d:e:f', '10.0.0.1', '2001:db8:a:b::/64'],
    ['IPv4-mapped IPv6 is the IPv4 client', '[::ffff:198.51.100.7]:80', '10.0.0.1', '198.51.100.7'],
    ['bare IPv4-mapped with port', '::ffff:198.51.100.7:80', '10.0.0.1', '198.51.100.7'],
    // Through CloudFront the source address is CloudFront's, shared by many readers: a viewer
    // address that does not parse counts against one fixed client, not against CloudFront's.
    ['no header: the unknown viewer', undefined, '203.0.113.9', UNKNOWN_VIEWER],
    ['empty header: the unknown viewer', '', '203.0.113.9', UNKNOWN_VIEWER],
    ['garbage header: the unknown viewer', 'evil, 1.2.3.4', '203.0.113.9', UNKNOWN_VIEWER],
    ['bad port: the unknown viewer', '198.51.100.10:http', '203.0.113.9', UNKNOWN_VIEWER],
    ['a host name: the unknown viewer', 'example.org:443', '203.0.113.9', UNKNOWN_VIEWER],
  ])('%s', (_, header, source, expected) => {
    expect(clientOf({ viewerAddress: header, originProof: SECRET, sourceIp: source }, SECRET)).toBe(expected);
  });

  it('an unparseable viewer address from two CloudFront edges is one client, not the edges', () => {
    const through = (sourceIp: string) =>
      clientOf({ viewerAddress: 'not-an-address', originProof: SECRET, sourceIp }, SECRET);
    expect(through('130.176.0.1')).toBe(UNKNOWN_VIEWER);
    expect(through('130.176.0.2')).toBe(UNKNOWN_VIEWER);
  });

  it.each([
    ['IPv6 source address grouped by /64', '2001:db8:1:2:ffff::9', '2001:db8:1:2::/64'],
    ['IPv6 with a zone', 'fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['loopback IPv6', '::1', '0:0:0:0::/64'],
    ['IPv4', '203.0.113.9', '203.0.113.9'],
  ])('not through CloudFront: %s', (_, source, expected) => {
    expect(clientOf({ sourceIp: source }, SECRET)).toBe(expected);
  });

  it('puts every address of one /64 together and another /64 apart', () => {
    const viewer = (viewerAddress: string) =>
      clientOf({ viewerAddress, originProof: SECRET, sourceIp: '' }, SECRET);
    expect(viewer('[2001:db8:1:2::a]:1')).toBe(viewer('[2001:db8:1:2:ffff:ffff:ffff:ffff]:2'));
    expect(viewer('[2001:db8:1:3::a]:1')).not.toBe(viewer('[2001:db8:1:2::a]:1'));
  });

  describe("trusts the viewer's address only from a request that came through CloudFront", () => {
    const forged = { viewerAddress: '192.0.2.77:40000', sourceIp: '203.0.113.9' };
    it.each([
      ['no origin header (a direct call to the API endpoint)', undefined, SECRET, '203.0.113.9'],
      ['a wrong origin header', 'guessed-0123456789abcdef0123456789abcdef', SECRET, '203.0.113.9'],
      ['the secret with a byte more', `${SECRET}x`, SECRET, '203.0.113.9'],
      ['the secret with a byte less', SECRET.slice(0, -1), SECRET, '203.0.113.9'],
      ['an empty origin header', '', SECRET, '203.0.113.9'],
      ['no secret configured (the local runtime), whatever the header', SECRET, undefined, '203.0.113.9'],
      ['an empty secret, and an empty header', '', '', '203.0.113.9'],
      ['the right origin header', SECRET, SECRET, '192.0.2.77'],
    ])('%s', (_, originProof, secret, expected) => {
      expect(clientOf({ ...forged, originProof }, secret)).toBe(expected);
    });

    it('cameThroughCloudFront compares the whole value', () => {
      expect(cameThroughCloudFront(SECRET, SECRET)).toBe(true);
      expect(cameThroughCloudFront(SECRET.toUpperCase(), SECRET)).toBe(false);
      expect(cameThroughCloudFront(undefined, SECRET)).toBe(false);
      expect(cameThroughCloudFront(SECRET, undefined)).toBe(false);
    });
  });
});

describe('crossSiteRule', () => {
  const site = 'https://news.example.org';
  it.each([
    ['no headers (curl, a server)', {}, undefined],
    ['the site origin', { origin: 'https://news.example.org' }, undefined],
    ['same-origin fetch', { secFetchSite: 'same-origin', origin: 'https://news.example.org' }, undefined],
    ['a navigation typed in (none)', { secFetchSite: 'none' }, undefined],
    [
      'same-origin on another host name of the API',
      { secFetchSite: 'same-origin', origin: 'https://d1.cloudfront.net' },
      undefined,
    ],
    ['cross-site', { secFetchSite: 'cross-site' }, 'sec-fetch-site'],
    ['cross-site in capitals', { secFetchSite: 'Cross-Site', origin: site }, 'sec-fetch-site'],
    ['a foreign origin', { origin: 'https://evil.example' }, 'origin'],
    [
      'a sibling subdomain (same-site)',
      { secFetchSite: 'same-site', origin: 'https://evil.example.org' },
      'origin',
    ],
    ['an opaque origin', { origin: 'null' }, 'origin'],
    ['another scheme', { origin: 'http://news.example.org' }, 'origin'],
    ['another port', { origin: 'https://news.example.org:8443' }, 'origin'],
  ])('%s', (_, headers, path) => {
    expect(crossSiteRule(headers, site)?.path).toBe(path);
  });

  it('names the site to use in its rule', () => {
    expect(crossSiteRule({ origin: 'https://evil.example' }, `${site}/`)?.rule).toBe(
      'sign-ups from other sites are refused: use the form on https://news.example.org (got https://evil.example)',
    );
  });
});
