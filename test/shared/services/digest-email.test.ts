import { describe, expect, it } from 'vitest';
import { linkKeysOf, staticTokenSecret } from '../../../shared/adapters/token-secret.js';
import { defaultSiteConfig } from '../../../shared/domain/site.js';
import {
  MANAGE_TOKEN_SECONDS,
  UNSUBSCRIBE_TOKEN_SECONDS,
  verifyToken,
} from '../../../shared/domain/tokens.js';
import { digestComposer } from '../../../shared/services/digest-email.js';
import { makeNewsEvent } from '../../helpers/builders.js';
import { makeSubscriber } from '../../helpers/subscribers.js';

const SECRET = JSON.stringify({
  id: 'digest-email-id-root-0123456789abcdefghijkl',
  signing: [{ kid: 'k1', secret: 'digest-email-signing-0123456789abcdefghij' }],
});
const NOW_MS = Date.parse('2026-11-02T07:00:00.000Z');
const NOW = NOW_MS / 1000;

describe('digestComposer', () => {
  it('gives each digest a manage link for 60 days and unsubscribe links for a year, bound to the record', async () => {
    const subscriber = makeSubscriber(1, {
      id: 'a'.repeat(32),
      topics: [{ slug: 'russia', name: 'Russia' }],
      nonce: 'record-nonce',
      linkGeneration: 2,
    });
    const event = makeNewsEvent(1, ['Russia']);
    const email = await digestComposer({
      site: defaultSiteConfig('https://news.example.org'),
      from: 'Tidings <digest@news.example.org>',
      tokenSecret: staticTokenSecret(SECRET),
      now: () => NOW_MS,
    })({
      subscriber,
      cadence: 'daily',
      window: { start: '2026-11-01T07:00:00.000Z', end: '2026-11-02T07:00:00.000Z' },
      sections: [
        {
          kind: 'tag',
          ref: subscriber.tags[0] as never,
          items: [{ event, tags: subscriber.tags, topics: [], updated: false }],
          omitted: 0,
        },
      ],
      total: 1,
      shown: 1,
    });
    const keys = linkKeysOf(SECRET);
    const tokens = [...email.text.matchAll(/\/api\/subscriptions\/(manage|unsubscribe)\?token=([\w.-]+)/g)];
    const manage = tokens.filter((m) => m[1] === 'manage');
    const unsubscribe = tokens.filter((m) => m[1] === 'unsubscribe');
    expect(manage.length).toBeGreaterThan(0);
    expect(unsubscribe.length).toBeGreaterThan(1);
    for (const [, , token] of manage) {
      const check = verifyToken(keys, token ?? '', 'manage', NOW);
      expect(check.ok && check.claims).toMatchObject({
        exp: NOW + MANAGE_TOKEN_SECONDS,
        n: 'record-nonce',
        g: 2,
      });
    }
    for (const [, , token] of unsubscribe) {
      const check = verifyToken(keys, token ?? '', 'unsubscribe', NOW);
      expect(check.ok && check.claims).toMatchObject({
        exp: NOW + UNSUBSCRIBE_TOKEN_SECONDS,
        n: 'record-nonce',
      });
    }
    const oneClick = email.headers?.['List-Unsubscribe'] ?? email.headers?.['list-unsubscribe'] ?? '';
    expect(oneClick).toMatch(/^<https:\/\/news\.example\.org\/api\/subscriptions\/unsubscribe\?token=k1\./);
  });
});
