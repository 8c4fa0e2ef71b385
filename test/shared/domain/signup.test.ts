import { describe, expect, it } from 'vitest';
import { clientOf, crossSiteRule } from '../../../shared/domain/signup.js';

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
    ['no header: the source address', undefined, '203.0.113.9', '203.0.113.9'],
    ['empty header: the source address', '', '203.0.113.9', '203.0.113.9'],
    ['garbage header: the source address', 'evil, 1.2.3.4', '203.0.113.9', '203.0.113.9'],
    ['bad port: the source address', '198.51.100.10:http', '203.0.113.9', '203.0.113.9'],
    ['IPv6 source address grouped by /64', undefined, '2001:db8:1:2:ffff::9', '2001:db8:1:2::/64'],
    ['IPv6 with a zone', undefined, 'fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['loopback IPv6', undefined, '::1', '0:0:0:0::/64'],
  ])('%s', (_, header, source, expected) => {
    expect(clientOf(header, source)).toBe(expected);
  });

  it('puts every address of one /64 together and another /64 apart', () => {
    expect(clientOf('[2001:db8:1:2::a]:1', '')).toBe(clientOf('[2001:db8:1:2:ffff:ffff:ffff:ffff]:2', ''));
    expect(clientOf('[2001:db8:1:3::a]:1', '')).not.toBe(clientOf('[2001:db8:1:2::a]:1', ''));
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
