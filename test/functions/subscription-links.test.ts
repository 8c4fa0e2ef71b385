/**
 * Issue 15, items 2 to 4, over real HTTP against the local runtime: links survive scanners
 * (GET shows, POST changes), carry no more power than their purpose, and keep working across the
 * change of key format and a rotation of the signing key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { HtmlValidate } from 'html-validate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { staticTokenSecret } from '../../shared/adapters/token-secret.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import { CONFIRMATION_RESEND_SECONDS } from '../../shared/domain/subscriber-changes.js';
import {
  MANAGE_TOKEN_SECONDS,
  PAGE_MANAGE_TOKEN_SECONDS,
  subscriberIdOf,
  subscriberLinks,
  UNSUBSCRIBE_TOKEN_SECONDS,
  verifyToken,
} from '../../shared/domain/tokens.js';
import { GoneError } from '../../shared/errors.js';
import { digestPartition, digestShardOf, subscriberKey, TABLE } from '../../shared/keys.js';
import { type LinkDeps, viewManage, viewUnsubscribe } from '../../shared/services/subscriptions.js';
import {
  LEGACY_EMAIL,
  LEGACY_ID,
  LEGACY_MADE_AT,
  LEGACY_SECRET,
  LEGACY_TOKENS,
} from '../helpers/legacy-links.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import {
  linkIn,
  mailTo,
  manualClock,
  pathOf,
  seedTopics,
  subscriptionsOf,
} from '../helpers/subscriptions.js';

interface ErrorBody {
  error: { code: string; message: string };
}

const validator = new HtmlValidate({ extends: ['html-validate:recommended'] });
const expectValidHtml = async (html: string): Promise<void> => {
  const report = await validator.validateString(html);
  expect(report.results.flatMap((r) => r.messages.map((m) => `${m.ruleId}: ${m.message}`))).toEqual([]);
};

const decode = (s: string) => s.replaceAll('&amp;', '&').replaceAll('&quot;', '"');
/** Every link target of a page: hrefs and form actions. */
const targetsOf = (html: string): string[] =>
  [...html.matchAll(/<(?:a|form)\s[^>]*?(?:href|action)="([^"]*)"/g)].map((m) => decode(m[1] ?? ''));
/** The forms of a page: where each posts and its hidden fields. */
const formsOf = (html: string) =>
  [...html.matchAll(/<form method="post" action="([^"]*)">([\s\S]*?)<\/form>/g)].map((m) => ({
    action: decode(m[1] ?? ''),
    hidden: Object.fromEntries(
      [...(m[2] ?? '').matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((h) => [
        h[1],
        decode(h[2] ?? ''),
      ]),
    ),
  }));
/** The claims of a token, unverified (the tests read what the server put there). */
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.').at(-2) ?? '', 'base64url').toString()) as Record<string, unknown>;
const tokenOf = (url: string) => new URL(url, 'http://x').searchParams.get('token') ?? '';

describe('link routes', () => {
  const clock = manualClock('2026-04-06T09:00:00.000Z');
  let rt: TestRuntime;
  let subs: ReturnType<typeof subscriptionsOf>;
  let n = 0;

  beforeAll(async () => {
    rt = await startTestRuntime({ now: clock.now });
    await seedTopics(rt);
    subs = subscriptionsOf(rt);
  }, 60_000);
  afterAll(async () => {
    subs?.close();
    await rt?.dispose();
  });

  const nowSeconds = () => Math.floor(Date.parse(clock.now()) / 1000);
  const subscribe = async (email: string, tags = ['Syria', 'Russia']) => {
    const res = await rt.request('/api/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, tags, cadence: 'daily' }),
    });
    expect(res.status).toBe(202);
    const mail = await mailTo(rt, email);
    return linkIn(mail.at(-1) as never, '/api/subscriptions/confirm');
  };
  const browserGet = (url: string) => rt.request(pathOf(url), { headers: { accept: 'text/html' } });
  /** Submits one of a page's forms as a browser does: to the action, next to the page's URL. */
  const submit = (pageUrl: string, form: { action: string; hidden: Record<string, string> }, extra = '') =>
    rt.request(pathOf(new URL(form.action, pageUrl).href), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: `${new URLSearchParams(form.hidden).toString()}${extra}`,
    });
  const confirmed = async (email = `links${++n}@example.org`) => {
    const link = await subscribe(email);
    const res = await rt.request(pathOf(link), { method: 'POST', headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    const stored = await subs.subscriber(email);
    if (!stored) throw new Error('not stored');
    return { email, link, stored, links: subscriberLinks(subs.keys, rt.url, stored, nowSeconds()) };
  };

  describe('double opt-in survives link scanners (item 2)', () => {
    it('GET of a confirmation link shows a button and confirms nothing; the button confirms', async () => {
      const email = `scanner${++n}@example.org`;
      const link = await subscribe(email);
      const page = await browserGet(link);
      expect(page.status).toBe(200);
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await page.text();
      await expectValidHtml(html);
      expect(html).toContain('Confirm my subscription');
      const json = await rt.request(pathOf(link), { headers: { accept: 'application/json' } });
      expect(json.status).toBe(200);
      expect(json.headers.get('cache-control')).toBe('no-store');
      expect(json.headers.get('referrer-policy')).toBe('no-referrer');
      expect(await json.json()).toMatchObject({ status: 'pending', confirmed: false });
      // A HEAD, as some scanners send, changes nothing either.
      await rt.request(pathOf(link), { method: 'HEAD' });
      expect((await subs.subscriber(email))?.status).toBe('pending');

      // The form posts the token in its body to a URL without one.
      const [form, ...others] = formsOf(html);
      expect(others).toEqual([]);
      expect(form?.action).toBe('confirm');
      expect(form?.hidden).toEqual({ token: tokenOf(link) });
      const done = await submit(link, form as never);
      expect(done.status).toBe(200);
      expect(await done.text()).toContain('You are subscribed');
      expect((await subs.subscriber(email))?.status).toBe('confirmed');
    });

    it('GET of an unsubscribe link changes nothing; its button and the RFC 8058 one-click POST do', async () => {
      const a = await confirmed();
      const page = await browserGet(a.links.unsubscribeTag('syria'));
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('cache-control')).toBe('no-store');
      const html = await page.text();
      expect(await subs.subscriber(a.email)).toEqual(a.stored);
      const [form] = formsOf(html);
      expect(form).toEqual({
        action: 'unsubscribe',
        hidden: { token: tokenOf(a.links.unsubscribeTag('syria')), 'List-Unsubscribe': 'One-Click' },
      });
      expect((await submit(a.links.unsubscribeAll, form as never)).status).toBe(200);
      expect((await subs.subscriber(a.email))?.tags.map((t) => t.slug)).toEqual(['russia']);

      const b = await confirmed();
      const oneClick = await rt.request(pathOf(b.links.oneClick), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(oneClick.status).toBe(200);
      expect((await subs.subscriber(b.email))?.status).toBe('unsubscribed');
    });

    it('GET of a manage link changes nothing; its forms post the token in the body', async () => {
      const a = await confirmed();
      const page = await browserGet(a.links.manage);
      const html = await page.text();
      await expectValidHtml(html);
      expect(await subs.subscriber(a.email)).toEqual(a.stored);
      const forms = formsOf(html);
      expect(forms.map((f) => f.action)).toEqual(['manage', 'unsubscribe', 'sign-out']);
      for (const form of forms) expect(form.hidden.token).toMatch(/^k1\./);
      // No URL on the page carries a token but the private feed's, which can only read the digest:
      // it is signed with the feed keys, so it is no manage, confirm or unsubscribe link.
      const withToken = targetsOf(html).filter((target) => target.includes('token='));
      expect(withToken.map((t) => new URL(t).pathname)).toEqual(['/api/subscriptions/feed']);
      const feedToken = new URL(withToken[0] ?? '').searchParams.get('token') ?? '';
      const now = Math.floor(Date.parse(clock.now()) / 1000);
      expect(verifyToken(subs.keys, feedToken, 'feed', now).ok).toBe(true);
      for (const purpose of ['manage', 'confirm', 'unsubscribe'] as const) {
        expect(verifyToken(subs.keys, feedToken, purpose, now)).toEqual({
          ok: false,
          reason: 'invalid signature',
        });
      }
    });

    it('answers every link route, errors and JSON included, uncached and without a referrer', async () => {
      const a = await confirmed();
      const answers = [
        await rt.request(pathOf(a.links.manage), { headers: { accept: 'application/json' } }),
        await rt.request('/api/subscriptions/manage?token=k1.bad.bad', {
          headers: { accept: 'application/json' },
        }),
        await rt.request('/api/subscriptions/confirm?token=', { headers: { accept: 'application/json' } }),
        await rt.request(pathOf(a.links.unsubscribeAll), { headers: { accept: 'application/json' } }),
        await rt.request('/api/subscriptions/sign-out', {
          method: 'POST',
          headers: { accept: 'application/json' },
        }),
      ];
      expect(answers.map((r) => r.status)).toEqual([200, 403, 400, 200, 400]);
      for (const res of answers) {
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      }
    });

    it('refuses other fields next to the token of a confirmation or a sign-out, changing nothing', async () => {
      const a = await confirmed();
      const email = `extra${++n}@example.org`;
      const link = await subscribe(email);
      const form = { 'content-type': 'application/x-www-form-urlencoded' };
      const confirm = await rt.request('/api/subscriptions/confirm', {
        method: 'POST',
        headers: form,
        body: `token=${tokenOf(link)}&topics=all`,
      });
      expect(confirm.status).toBe(400);
      expect(await confirm.text()).toContain('body.topics: is not a known field (allowed: token)');
      expect((await subs.subscriber(email))?.status).toBe('pending');
      const signOut = await rt.request('/api/subscriptions/sign-out', {
        method: 'POST',
        headers: form,
        body: `token=${tokenOf(a.links.manage)}&all=1`,
      });
      expect(signOut.status).toBe(400);
      expect(await subs.subscriber(a.email)).toEqual(a.stored);
    });

    it('refuses a token in both the query and the body with a 400 naming the field', async () => {
      const link = await subscribe(`twice${++n}@example.org`);
      const res = await rt.request(pathOf(link), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${tokenOf(link)}`,
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('body.token: must not be given when the query has a token');
    });
  });

  describe('links carry no more power than their purpose (item 3)', () => {
    it('unsubscribe links last a year and can only unsubscribe', async () => {
      const a = await confirmed();
      const token = tokenOf(a.links.unsubscribeAll);
      expect(claimsOf(token).exp).toBe(nowSeconds() + UNSUBSCRIBE_TOKEN_SECONDS);
      for (const path of ['manage', 'confirm']) {
        const res = await rt.request(`/api/subscriptions/${path}?token=${token}`, {
          headers: { accept: 'application/json' },
        });
        expect(res.status).toBe(400);
      }
      const signOut = await rt.request('/api/subscriptions/sign-out', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${token}`,
      });
      expect(signOut.status).toBe(400);
      expect(await subs.subscriber(a.email)).toEqual(a.stored);
    });

    it('refuses a manage link from an email once it is 60 days old', async () => {
      const a = await confirmed();
      expect(claimsOf(tokenOf(a.links.manage)).exp).toBe(nowSeconds() + MANAGE_TOKEN_SECONDS);
      clock.advance(MANAGE_TOKEN_SECONDS - 1);
      expect((await rt.request(pathOf(a.links.manage))).status).toBe(200);
      clock.advance(1);
      const res = await rt.request(pathOf(a.links.manage));
      expect(res.status).toBe(410);
      expect(((await res.json()) as ErrorBody).error.message).toContain('query.token: expired');
      // The unsubscribe links of the same email still work.
      expect((await rt.request(pathOf(a.links.unsubscribeAll))).status).toBe(200);
    });

    it('shows no manage link after unsubscribing, and one for at most an hour after confirming', async () => {
      const email = `pages${++n}@example.org`;
      const link = await subscribe(email);
      const confirmedPage = await (
        await rt.request('/api/subscriptions/confirm', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          body: `token=${tokenOf(link)}`,
        })
      ).text();
      const manageTargets = (html: string) => targetsOf(html).filter((t) => t.includes('/manage'));
      const [short, ...more] = manageTargets(confirmedPage);
      expect(more).toEqual([]);
      const claims = claimsOf(tokenOf(short ?? ''));
      expect(Number(claims.exp) - nowSeconds()).toBeLessThanOrEqual(PAGE_MANAGE_TOKEN_SECONDS);
      expect((await rt.request(pathOf(short ?? ''))).status).toBe(200);
      clock.advance(PAGE_MANAGE_TOKEN_SECONDS);
      expect((await rt.request(pathOf(short ?? ''))).status).toBe(410);

      const stored = await subs.subscriber(email);
      if (!stored) throw new Error('missing');
      const links = subscriberLinks(subs.keys, rt.url, stored, nowSeconds());
      for (const url of [links.unsubscribeTag('syria'), links.unsubscribeAll]) {
        expect(manageTargets(await (await browserGet(url)).text())).toEqual([]);
        const after = await rt.request(pathOf(url), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        });
        const html = await after.text();
        await expectValidHtml(html);
        expect(manageTargets(html)).toEqual([]);
        expect(html).not.toContain('token');
      }
    });

    it('"sign out all my links" voids manage and confirmation links, not the unsubscribe links already sent', async () => {
      const a = await confirmed();
      const pendingConfirm = await (async () => {
        clock.advance(CONFIRMATION_RESEND_SECONDS);
        return subscribe(a.email, ['Iran']);
      })();
      const page = await browserGet(a.links.manage);
      const signOut = formsOf(await page.text()).find((f) => f.action === 'sign-out');
      const res = await submit(a.links.manage, signOut as never);
      expect(res.status).toBe(200);
      const html = await res.text();
      await expectValidHtml(html);
      expect(html).toContain('Your links are signed out');
      expect((await subs.subscriber(a.email))?.linkGeneration).toBe(1);

      for (const url of [a.links.manage, pendingConfirm]) {
        const gone = await rt.request(pathOf(url), { headers: { accept: 'application/json' } });
        expect(gone.status).toBe(410);
        expect(((await gone.json()) as ErrorBody).error.message).toContain('no longer valid');
      }
      expect(
        (
          await rt.request(pathOf(pendingConfirm), {
            method: 'POST',
            headers: { accept: 'application/json' },
          })
        ).status,
      ).toBe(410);
      expect((await subs.subscriber(a.email))?.tags.map((t) => t.slug)).toEqual(['syria', 'russia']);

      // New links work; the old unsubscribe link still unsubscribes.
      const fresh = subscriberLinks(
        subs.keys,
        rt.url,
        (await subs.subscriber(a.email)) as never,
        nowSeconds(),
      );
      expect((await rt.request(pathOf(fresh.manage))).status).toBe(200);
      const leave = await rt.request(pathOf(a.links.unsubscribeAll), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(leave.status).toBe(200);
      expect((await subs.subscriber(a.email))?.status).toBe('unsubscribed');
    });

    it('never lets a link made before the record was deleted act on the record made after', async () => {
      const a = await confirmed();
      // The record goes (a forgotten subscriber; TTL removing a lapsed one is the same delete).
      const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
      await db.send(new DeleteCommand({ TableName: LOCAL_TABLE, Key: subscriberKey(a.stored.id) }));
      db.destroy();
      clock.advance(CONFIRMATION_RESEND_SECONDS);
      const again = await subscribe(a.email);
      await rt.request(pathOf(again), { method: 'POST', headers: { accept: 'application/json' } });
      const reborn = await subs.subscriber(a.email);
      // Same id, same versions as the old record's links carry: only the nonce tells them apart.
      expect(reborn).toMatchObject({ id: a.stored.id, tokenVersion: 0, status: 'confirmed' });
      expect(reborn?.nonce).not.toBe(a.stored.nonce);

      const manage = await rt.request(pathOf(a.links.manage), { headers: { accept: 'application/json' } });
      expect(manage.status).toBe(410);
      const view = await rt.request(pathOf(a.links.unsubscribeAll), {
        headers: { accept: 'application/json' },
      });
      expect(view.status).toBe(410);
      const leave = await rt.request(pathOf(a.links.unsubscribeAll), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(leave.status).toBe(410);
      expect(await leave.text()).toContain('no longer valid');
      expect(await subs.subscriber(a.email)).toEqual(reborn);
    });
  });

  describe('rotating the signing key (item 4)', () => {
    const rotatedDeps = (signing: { kid: string; secret: string }[]): LinkDeps => {
      const current = JSON.parse(rt.tokenSecret) as { id: string };
      return {
        store: subs.store,
        tokenSecret: staticTokenSecret(JSON.stringify({ id: current.id, signing })),
        site: defaultSiteConfig(rt.url),
        now: clock.now,
      };
    };

    it('accepts the old key while it is listed, refuses it once removed, and keeps every subscriber id', async () => {
      const a = await confirmed();
      const { signing } = JSON.parse(rt.tokenSecret) as { signing: { kid: string; secret: string }[] };
      const k1 = signing[0];
      if (!k1) throw new Error('no signing key');
      expect(k1.kid).toBe('k1');
      const k2 = { kid: 'k2', secret: 'rotated-signing-secret-0123456789abcdefghij' };
      const during = rotatedDeps([k2, k1]);
      const after = rotatedDeps([k2]);

      const duringKeys = await during.tokenSecret();
      expect(subscriberIdOf(duringKeys, a.email)).toBe(a.stored.id);
      expect(subscriberIdOf(await after.tokenSecret(), a.email)).toBe(a.stored.id);

      expect((await viewManage(during, tokenOf(a.links.manage))).subscriber.id).toBe(a.stored.id);
      const fresh = subscriberLinks(duringKeys, rt.url, a.stored, nowSeconds());
      expect(tokenOf(fresh.manage)).toMatch(/^k2\./);
      expect((await viewManage(after, tokenOf(fresh.manage))).subscriber.id).toBe(a.stored.id);
      await expect(viewManage(after, tokenOf(a.links.manage))).rejects.toThrow(GoneError);
      await expect(viewUnsubscribe(after, tokenOf(a.links.unsubscribeAll))).rejects.toThrow(
        /signed with a key this site has retired/,
      );
    });
  });
});

describe('compatibility with the plain-string secret and the links made before key ids (item 4)', () => {
  // A day after the pinned links were made.
  const clock = manualClock(new Date(Date.parse(LEGACY_MADE_AT) + 86_400_000).toISOString());
  const dataDir = mkdtempSync(join(tmpdir(), 'tidings-legacy-'));
  let rt: TestRuntime;
  let subs: ReturnType<typeof subscriptionsOf>;

  beforeAll(async () => {
    // A deployment as it was: the secret a plain string, a subscriber written by the code of then.
    writeFileSync(join(dataDir, 'token-secret'), `${LEGACY_SECRET}\n`, { mode: 0o600 });
    rt = await startTestRuntime({ dataDir, now: clock.now });
    await seedTopics(rt);
    subs = subscriptionsOf(rt);
    const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
    const confirmedAt = '2026-02-01T09:00:00.000Z';
    await db.send(
      new PutCommand({
        TableName: LOCAL_TABLE,
        Item: {
          ...subscriberKey(LEGACY_ID),
          type: 'subscriber',
          id: LEGACY_ID,
          email: LEGACY_EMAIL,
          topics: [
            { slug: 'syria', name: 'Syria' },
            { slug: 'russia', name: 'Russia' },
          ],
          cadence: 'daily',
          status: 'confirmed',
          createdAt: confirmedAt,
          tokenVersion: 0,
          changedAt: confirmedAt,
          revision: 2,
          confirmedAt,
          cursor: confirmedAt,
          [TABLE.digestIndex.partitionKey]: digestPartition('daily', digestShardOf(LEGACY_ID)),
          [TABLE.digestIndex.sortKey]: LEGACY_ID,
        },
      }),
    );
    db.destroy();
  }, 60_000);
  afterAll(async () => {
    subs?.close();
    await rt?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finds the existing subscriber on a new sign-up (the id derivation is unchanged)', async () => {
    expect(subs.idOf(LEGACY_EMAIL)).toBe(LEGACY_ID);
    const res = await rt.request('/api/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ' legacy.reader@example.ORG ', tags: ['Iran'], cadence: 'daily' }),
    });
    expect(res.status).toBe(202);
    const stored = await subs.subscriber(LEGACY_EMAIL);
    expect(stored).toMatchObject({ id: LEGACY_ID, status: 'confirmed', confirmationSentAt: clock.now() });
    expect(stored?.nonce).toBeUndefined();
    // The new confirmation link (kid k1) adds the topic to the old record.
    const link = linkIn(
      (await mailTo(rt, 'legacy.reader@example.org')).at(-1) as never,
      '/api/subscriptions/confirm',
    );
    expect(tokenOf(link)).toMatch(/^k1\./);
    const confirm = await rt.request(pathOf(link), {
      method: 'POST',
      headers: { accept: 'application/json' },
    });
    expect(confirm.status).toBe(200);
    expect((await subs.subscriber(LEGACY_EMAIL))?.tags.map((t) => t.slug)).toEqual([
      'syria',
      'russia',
      'iran',
    ]);
  });

  it('keeps the links already in inboxes working: manage (within 60 days), confirm, unsubscribe', async () => {
    const manage = await rt.request(`/api/subscriptions/manage?token=${LEGACY_TOKENS.manage}`, {
      headers: { accept: 'application/json' },
    });
    expect(manage.status).toBe(200);
    const confirm = await rt.request(`/api/subscriptions/confirm?token=${LEGACY_TOKENS.confirm}`, {
      headers: { accept: 'application/json' },
    });
    expect(confirm.status).toBe(200);
    const leave = await rt.request(`/api/subscriptions/unsubscribe?token=${LEGACY_TOKENS.unsubscribeSyria}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(leave.status).toBe(200);
    expect((await subs.subscriber(LEGACY_EMAIL))?.tags.map((t) => t.slug)).not.toContain('syria');

    // The old manage link, signed for a year, stops 60 days after it was made.
    clock.advance(59 * 86_400);
    const late = await rt.request(`/api/subscriptions/manage?token=${LEGACY_TOKENS.manage}`, {
      headers: { accept: 'application/json' },
    });
    expect(late.status).toBe(410);
    // The old unsubscribe link works for its year.
    const all = await rt.request(`/api/subscriptions/unsubscribe?token=${LEGACY_TOKENS.unsubscribeAll}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(all.status).toBe(200);
    expect((await subs.subscriber(LEGACY_EMAIL))?.status).toBe('unsubscribed');
  });
});
