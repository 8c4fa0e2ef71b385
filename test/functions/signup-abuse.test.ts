import { inspect } from 'node:util';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { HtmlValidate } from 'html-validate';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeHandler } from '../../functions/create-subscription.js';
import type { Mailer, OutgoingEmail } from '../../shared/adapters/mailer.js';
import { makeSignupLimits } from '../../shared/adapters/signup-limits.js';
import { makeSubscriptionStore } from '../../shared/adapters/subscription-store.js';
import { linkKeysOf, staticTokenSecret } from '../../shared/adapters/token-secret.js';
import { HONEYPOT_FIELD, SIGNUP_POLICY } from '../../shared/domain/signup.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import type { SubscriberRecord } from '../../shared/domain/subscriber-changes.js';
import { subscriberIdOf } from '../../shared/domain/tokens.js';
import type { ApiResult } from '../../shared/http.js';
import { CONFIRMATIONS_CONTROL, controlKey, PARTITION_PREFIX, tagKey } from '../../shared/keys.js';
import { logger } from '../../shared/logger.js';
import { METRIC, type MetricName, type MetricsPort } from '../../shared/metrics.js';
import type { SignupDeps } from '../../shared/services/subscriptions.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { mailTo, manualClock, seedTopics } from '../helpers/subscriptions.js';

const SITE = 'https://news.example.org';
const SECRET = 'signup-abuse-test-secret-0123456789abcdef';
const KEYS = linkKeysOf(SECRET);
const validator = new HtmlValidate({ extends: ['html-validate:recommended'] });

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable();
  const tags: [string, string][] = [
    ['syria', 'Syria'],
    ['iran', 'Iran'],
  ];
  for (const [slug, name] of tags) {
    await table.db.send(
      new PutCommand({
        TableName: table.tableName,
        Item: { ...tagKey(slug), type: 'tag', slug, name, count: 3 },
      }),
    );
  }
});
afterAll(() => table?.close());

/** A fresh world per test: its own clock, mailer, metrics and limits (the table is shared; addresses differ). */
const world = (
  options: { start?: string; perHour?: number; fail?: () => Error | undefined; originSecret?: string } = {},
) => {
  const clock = manualClock(options.start ?? '2026-03-02T09:00:00.000Z');
  const sent: OutgoingEmail[] = [];
  const mailer: Mailer = {
    async send(email) {
      const error = options.fail?.();
      if (error) throw error;
      sent.push(email);
      return { messageId: `m${sent.length}` };
    },
  };
  const counts: Partial<Record<MetricName, number>> = {};
  const metrics: MetricsPort = {
    count(name, value = 1) {
      counts[name] = (counts[name] ?? 0) + value;
    },
    duration() {},
  };
  const tokenSecret = staticTokenSecret(SECRET);
  const deps: SignupDeps = {
    store: makeSubscriptionStore(table.db, table.tableName),
    tokenSecret,
    mailer,
    site: defaultSiteConfig(SITE),
    from: 'Tidings <digest@news.example.org>',
    now: clock.now,
    limits: makeSignupLimits(table.db, table.tableName, tokenSecret),
    metrics,
    confirmationsPerHour: options.perHour ?? 300,
  };
  const originSecret = options.originSecret;
  const handler = makeHandler(
    originSecret === undefined ? deps : { ...deps, originSecret: () => Promise.resolve(originSecret) },
  );
  let requests = 0;
  const post = async (body: string, headers: Record<string, string>, sourceIp: string): Promise<ApiResult> =>
    (await handler(
      {
        version: '2.0',
        routeKey: 'POST /api/subscriptions',
        rawPath: '/api/subscriptions',
        rawQueryString: '',
        headers,
        requestContext: {
          http: {
            method: 'POST',
            path: '/api/subscriptions',
            sourceIp,
            protocol: 'HTTP/1.1',
            userAgent: 'test',
          },
          requestId: `r${++requests}`,
        },
        body,
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2,
      { awsRequestId: `r${requests}` } as Context,
    )) as ApiResult;
  return {
    clock,
    sent,
    counts,
    deps,
    post,
    /** A JSON sign-up from `client` (CloudFront's source address unless a viewer address is given). */
    json: (email: string, client = '198.51.100.1', headers: Record<string, string> = {}) =>
      post(
        JSON.stringify({ email, tags: ['Syria'], cadence: 'daily' }),
        { 'content-type': 'application/json', ...headers },
        client,
      ),
    form: (fields: [string, string][], headers: Record<string, string> = {}, client = '198.51.100.1') =>
      post(
        new URLSearchParams(fields).toString(),
        { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers },
        client,
      ),
    sentTo: (email: string) => sent.filter((m) => m.to === email).length,
  };
};

let n = 0;
/** A fresh address per call, so tests never share a mailbox. */
const address = (local = 'reader') => `${local}${++n}@example.org`;
/** A fresh client address per call, so tests never share a client limit. */
const client = () => `203.0.113.${(++n % 250) + 1}`;

const formOf = (email: string, extra: [string, string][] = []): [string, string][] => [
  ['email', email],
  ['tags[]', 'Syria'],
  ['cadence', 'daily'],
  ...extra,
];

/** What a caller can see of an answer, with the address it echoes taken out. */
const seen = (res: ApiResult, email: string) => ({
  status: res.statusCode,
  type: res.headers?.['content-type'],
  body: String(res.body).replaceAll(email, '<address>'),
});

const itemsUnder = async (prefix: string) =>
  ((await table.db.send(new ScanCommand({ TableName: table.tableName }))).Items ?? []).filter((i) =>
    String(i.PK).startsWith(prefix),
  );

describe('per-mailbox limits (on the canonical mailbox)', () => {
  it('sends ONE confirmation for six sign-ups to victim+1@… … victim+6@…, each answered alike', async () => {
    const w = world();
    const victim = address('victim');
    const [local, domain] = victim.split('@');
    const answers: ReturnType<typeof seen>[] = [];
    for (let i = 1; i <= 6; i++) {
      const email = `${local}+${i}@${domain}`;
      answers.push(seen(await w.json(email, client()), email));
    }
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]?.to).toBe(`${local}+1@${domain}`);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]?.status).toBe(202);
    expect(w.counts[METRIC.confirmationsSent]).toBe(1);
    expect(w.counts[METRIC.confirmationsLimited]).toBe(5);
    // The stored address stays as typed; the limited ones stored nothing.
    const ids = [1, 2].map((i) => subscriberIdOf(KEYS, `${local}+${i}@${domain}`));
    expect((await w.deps.store.getSubscriber(ids[0] as string))?.email).toBe(`${local}+1@${domain}`);
    expect(await w.deps.store.getSubscriber(ids[1] as string)).toBeUndefined();
  });

  it('allows one per 10 minutes and 3 in any 24 hours, however the address is spelled', async () => {
    const w = world();
    const local = `j.doe${++n}`;
    const spellings = [
      `${local}@gmail.com`,
      `${local.replace('.', '')}+a@googlemail.com`,
      `${local.toUpperCase()}+b@gmail.com`,
      `${local.replace('.', '').replace('do', 'd.o')}@gmail.com`,
    ];
    const sends: number[] = [];
    let offset = 0;
    /** A sign-up `seconds` after the first; how many confirmations it sent. */
    const at = async (seconds: number, email: string) => {
      w.clock.advance(seconds - offset);
      offset = seconds;
      const before = w.sent.length;
      expect((await w.json(email, client())).statusCode).toBe(202);
      sends.push(w.sent.length - before);
    };
    await at(0, spellings[0] as string); // sent
    await at(599, spellings[1] as string); // within 10 minutes
    await at(600, spellings[1] as string); // sent
    await at(1200, spellings[2] as string); // sent
    await at(1800, spellings[3] as string); // a 4th in 24 hours
    await at(86_399, spellings[3] as string); // the first is not yet a day old
    await at(86_400, spellings[3] as string); // sent: the first left the 24 hours
    expect(sends).toEqual([1, 0, 1, 1, 0, 0, 1]);
  });

  it('holds whatever the subscriber state: pending, confirmed or unsubscribed', async () => {
    for (const status of ['pending', 'confirmed', 'unsubscribed'] as const) {
      const w = world();
      const email = address(status);
      expect((await w.json(email, client())).statusCode).toBe(202);
      expect(w.sent).toHaveLength(1);
      // The record is moved to the state under test, then the same mailbox asks again within 10 minutes.
      const id = subscriberIdOf(KEYS, email);
      const stored = (await w.deps.store.getSubscriber(id)) as SubscriberRecord;
      await w.deps.store.updateSubscriber(
        {
          ...stored,
          status,
          ...(status === 'confirmed' ? { confirmedAt: w.clock.now(), expiresAt: undefined } : {}),
          // The record alone would send again (its own resend slot is cleared): only the mailbox limit holds.
          confirmationSentAt: undefined,
        },
        stored,
      );
      w.clock.advance(300);
      const [local, domain] = email.split('@');
      expect((await w.json(`${local}+again@${domain}`, client())).statusCode).toBe(202);
      expect((await w.json(email, client())).statusCode).toBe(202);
      expect(w.sent).toHaveLength(1);
    }
  });
});

describe('per-client limit', () => {
  it('serves 10 sign-ups per source address in any hour; the 11th gets the same 202 and nothing', async () => {
    const w = world();
    const ip = client();
    const answers: ApiResult[] = [];
    const emails = Array.from({ length: 11 }, () => address());
    for (const email of emails) {
      answers.push(await w.json(email, ip));
      w.clock.advance(60);
    }
    expect(answers.map((a) => a.statusCode)).toEqual(Array(11).fill(202));
    expect(w.sent.map((m) => m.to)).toEqual(emails.slice(0, 10));
    expect(w.counts[METRIC.confirmationsLimited]).toBe(1);
    expect(await w.deps.store.getSubscriber(subscriberIdOf(KEYS, emails[10] as string))).toBeUndefined();
    // Another client is not held back; this one is again once its first sign-up is an hour old.
    expect((await w.json(address(), client())).statusCode).toBe(202);
    expect(w.sent).toHaveLength(11);
    w.clock.advance(3600 - 11 * 60);
    await w.json(address(), ip);
    expect(w.sent).toHaveLength(12);
  });

  it("counts the viewer's address CloudFront forwards, not CloudFront's own", async () => {
    const proof = 'origin-proof-0123456789abcdefghijklmnop';
    const w = world({ originSecret: proof });
    const edge = client();
    // Twelve viewers behind one CloudFront edge address are twelve clients.
    for (let i = 0; i < 12; i++) {
      await w.json(address(), edge, {
        'cloudfront-viewer-address': `192.0.2.${100 + i}:${40000 + i}`,
        'x-tidings-origin': proof,
      });
    }
    expect(w.sent).toHaveLength(12);
    // One viewer through changing edges and ports, or rotating within its IPv6 /64, is one client.
    const before = w.sent.length;
    const prefix = `2001:db8:${++n}:7`;
    for (let i = 0; i < 12; i++) {
      await w.json(address(), client(), {
        'cloudfront-viewer-address': `${prefix}::${i + 1}:${50000 + i}`,
        'x-tidings-origin': proof,
      });
    }
    expect(w.sent.length - before).toBe(SIGNUP_POLICY.clientPerHour);
  });
});

describe('global hourly budget', () => {
  it('sends no more than confirmationsPerHour, answers the same 202 beyond, counts the metric', async () => {
    const w = world({ start: '2026-04-01T10:00:00.000Z', perHour: 2 });
    const emails = [address(), address(), address()];
    const answers = [];
    for (const email of emails) answers.push(seen(await w.json(email, client()), email));
    expect(w.sent.map((m) => m.to)).toEqual(emails.slice(0, 2));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(w.counts[METRIC.confirmationBudgetExceeded]).toBe(1);
    // The next clock hour has a new budget, and the refused mailbox was not charged for the refusal.
    w.clock.advance(3600);
    await w.json(emails[2] as string, client());
    expect(w.sent.map((m) => m.to)).toEqual(emails);
  });
});

describe('the pause switch (SES reputation)', () => {
  it('sends nothing while CONTROL#confirmations says paused, read at most once a minute', async () => {
    const w = world({ start: '2026-05-01T10:00:00.000Z' });
    const set = (paused: boolean) =>
      table.db.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...controlKey(CONFIRMATIONS_CONTROL), paused, reason: 'test', at: w.clock.now() },
        }),
      );
    await set(true);
    try {
      const email = address();
      const res = await w.json(email, client());
      expect(res.statusCode).toBe(202);
      expect(w.sent).toEqual([]);
      expect(w.counts[METRIC.confirmationsPaused]).toBe(1);
      expect(await w.deps.store.getSubscriber(subscriberIdOf(KEYS, email))).toBeUndefined();

      await set(false);
      w.clock.advance(30);
      await w.json(email, client());
      expect(w.sent).toEqual([]);
      w.clock.advance(30);
      await w.json(email, client());
      expect(w.sent.map((m) => m.to)).toEqual([email]);
    } finally {
      await set(false);
    }
  });
});

describe('cross-site form posts', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }, 'sec-fetch-site'],
    ['an Origin that is not the site', { origin: 'https://evil.example' }, 'origin'],
    ['both', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, 'sec-fetch-site'],
  ];

  it.each(cases)(
    'refuses a form with %s: 403 with a valid page, nothing sent or written',
    async (_, headers, path) => {
      const w = world();
      const email = address();
      const res = await w.form(formOf(email), headers, client());
      expect(res.statusCode).toBe(403);
      expect(res.headers?.['content-type']).toBe('text/html; charset=utf-8');
      const html = String(res.body);
      expect(html).toContain('Sign up on this site');
      expect(html).toContain(`${path}: sign-ups from other sites are refused`);
      const report = await validator.validateString(html);
      expect(report.results.flatMap((r) => r.messages.map((m) => m.message))).toEqual([]);
      expect(w.sent).toEqual([]);
      expect(await w.deps.store.getSubscriber(subscriberIdOf(KEYS, email))).toBeUndefined();
    },
  );

  it('refuses a JSON post with a foreign Origin with a JSON 403', async () => {
    const w = world();
    const res = await w.json(address(), client(), { origin: 'https://evil.example' });
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(String(res.body)).error).toMatchObject({ code: 'forbidden' });
    expect(w.sent).toEqual([]);
  });

  it.each([
    ['a JSON client without either header', {}],
    ['a form from the site itself', { origin: SITE, 'sec-fetch-site': 'same-origin' }],
    ['a form with Sec-Fetch-Site: none', { 'sec-fetch-site': 'none' }],
  ])('accepts %s', async (_, headers) => {
    const w = world();
    const email = address();
    const res =
      Object.keys(headers).length === 0
        ? await w.json(email, client())
        : await w.form(formOf(email), headers, client());
    expect(res.statusCode).toBe(202);
    expect(w.sent.map((m) => m.to)).toEqual([email]);
  });
});

describe('the honeypot', () => {
  it('answers a filled honeypot with the usual 202 page and sends and writes nothing', async () => {
    const w = world();
    const bot = address('bot');
    const human = address('human');
    const before =
      (await itemsUnder(PARTITION_PREFIX.subscriber)).length +
      (await itemsUnder(PARTITION_PREFIX.limit)).length;
    const trapped = await w.form(formOf(bot, [[HONEYPOT_FIELD, 'https://spam.example']]), {}, client());
    const after =
      (await itemsUnder(PARTITION_PREFIX.subscriber)).length +
      (await itemsUnder(PARTITION_PREFIX.limit)).length;
    expect(after).toBe(before);
    expect(w.sent).toEqual([]);
    const served = await w.form(formOf(human, [[HONEYPOT_FIELD, '']]), {}, client());
    expect(seen(trapped, bot)).toEqual(seen(served, human));
    expect(w.sent.map((m) => m.to)).toEqual([human]);
    // Counted, so an operator sees the trap working (or catching people).
    expect(w.counts[METRIC.signupHoneypot]).toBe(1);
  });

  it('ignores the old field name in forms from pages published before the rename', async () => {
    const w = world();
    const reader = address('stale-page');
    const res = await w.form(formOf(reader, [['website', 'https://autofilled.example']]), {}, client());
    expect(res.statusCode).toBe(202);
    expect(w.sent.map((m) => m.to)).toEqual([reader]);
    expect(w.counts[METRIC.signupHoneypot]).toBeUndefined();
  });

  it('is not a field JSON clients may send', async () => {
    const w = world();
    const body = JSON.stringify({
      email: address(),
      tags: ['Syria'],
      cadence: 'daily',
      [HONEYPOT_FIELD]: 'x',
    });
    const out = await w.post(body, { 'content-type': 'application/json' }, client());
    expect(out.statusCode).toBe(400);
    expect(String(out.body)).toContain(`${HONEYPOT_FIELD}: is not a known field`);
  });
});

describe('the same answer whatever happens', () => {
  it('answers new, pending, confirmed, unsubscribed, limited, over budget, paused, trapped and failed sign-ups alike', async () => {
    const answers = new Map<string, ReturnType<typeof seen>>();
    const w = world({ start: '2026-06-01T10:00:00.000Z' });
    const ask = async (label: string, email: string, extra: [string, string][] = [], target = w) => {
      const res = await target.form(formOf(email, extra), {}, client());
      answers.set(label, seen(res, email));
    };
    await ask('new', address());
    const pending = address();
    await ask('first', pending);
    await ask('pending', pending);
    for (const status of ['confirmed', 'unsubscribed'] as const) {
      const email = address();
      await w.json(email, client());
      const id = subscriberIdOf(KEYS, email);
      const stored = (await w.deps.store.getSubscriber(id)) as SubscriberRecord;
      await w.deps.store.updateSubscriber({ ...stored, status, expiresAt: undefined }, stored);
      await ask(status, email);
    }
    const victim = address('victim');
    await ask('sent to the mailbox', victim.replace('@', '+x@'));
    await ask('mailbox limited', victim.replace('@', '+y@'));
    const ip = client();
    for (let i = 0; i < SIGNUP_POLICY.clientPerHour; i++) await w.json(address(), ip);
    const limited = address();
    answers.set('client limited', seen(await w.form(formOf(limited), {}, ip), limited));
    expect(w.sentTo(limited)).toBe(0);
    const pausedWorld = world({ start: '2026-06-01T10:00:00.000Z' });
    const control = {
      TableName: table.tableName,
      Item: { ...controlKey(CONFIRMATIONS_CONTROL), paused: true },
    };
    await table.db.send(new PutCommand(control));
    try {
      await ask('paused', address(), [], pausedWorld);
    } finally {
      await table.db.send(new PutCommand({ ...control, Item: { ...control.Item, paused: false } }));
    }
    expect(pausedWorld.counts[METRIC.confirmationsPaused]).toBe(1);
    await ask('honeypot', address(), [[HONEYPOT_FIELD, 'x']]);
    const broke = world({ start: '2026-06-01T10:00:00.000Z', fail: () => new Error('MessageRejected') });
    await ask('send failed', address(), [], broke);
    const poor = world({ start: '2026-06-01T10:00:00.000Z', perHour: 0 + 1 });
    await ask('budget spent by another', address(), [], poor);
    await ask('over budget', address(), [], poor);
    expect(broke.counts[METRIC.confirmationsFailed]).toBe(1);
    const reference = answers.get('new');
    expect(reference?.status).toBe(202);
    for (const [label, answer] of answers) expect({ label, ...answer }).toEqual({ label, ...reference });
  });

  it('logs an SES failure by its name and code, never its message, which names the recipient', async () => {
    const email = address();
    // What SES answers for an unverified recipient in the sandbox: the address is in the message.
    const rejection = Object.assign(
      new Error(
        `Email address is not verified. The following identities failed the check in region EU-WEST-1: ${email}`,
      ),
      { name: 'MessageRejected', code: 'MessageRejected', $metadata: { httpStatusCode: 400 } },
    );
    const w = world({ fail: () => rejection });
    const error = vi.spyOn(logger, 'error');
    try {
      const res = await w.json(email, client());
      expect(res.statusCode).toBe(202);
      expect(error).toHaveBeenCalledTimes(1);
      // Errors written out whole, message, stack and cause, as the logger would.
      const logged = inspect(error.mock.calls, { depth: 8 });
      expect(logged).toContain('MessageRejected');
      expect(logged).not.toContain(email);
      expect(logged).not.toContain(email.split('@')[0]);
    } finally {
      error.mockRestore();
    }
  });

  it('answers an SES failure with 202, not 500, and counts it', async () => {
    const w = world({ fail: () => new Error('MessageRejected: Email address is not verified') });
    const email = address();
    const res = await w.json(email, client());
    expect(res.statusCode).toBe(202);
    expect(String(res.body)).not.toContain('MessageRejected');
    expect(w.counts[METRIC.confirmationsFailed]).toBe(1);
    expect(w.counts[METRIC.confirmationsSent]).toBeUndefined();
  });
});

describe('form bodies (bounded work)', () => {
  it('refuses a form of more than 100 fields with a 400 naming the rule', async () => {
    const w = world();
    const fields = (count: number): [string, string][] => [
      ...formOf(address()),
      ...Array.from({ length: count - 3 }, (): [string, string] => ['tags[]', 'Syria']),
    ];
    const ok = await w.form(fields(100), { accept: 'application/json' }, client());
    expect(ok.statusCode).toBe(400);
    expect(String(ok.body)).toContain('tags: must name at most 20 tags');
    expect(String(ok.body)).not.toContain('at most 100 fields');
    const over = await w.form(fields(101), { accept: 'application/json' }, client());
    expect(over.statusCode).toBe(400);
    expect(String(over.body)).toContain('body: must have at most 100 fields');
    expect(w.sent).toEqual([]);
  });

  it('refuses a body of tens of thousands of distinct fields quickly (linear, not quadratic)', async () => {
    const w = world();
    const body = Array.from({ length: 30_000 }, (_, i) => `f${i}=`).join('&');
    const started = performance.now();
    const out = await w.post(body, { 'content-type': 'application/x-www-form-urlencoded' }, client());
    // Looking each distinct name up in the whole form (as formFields did) took about 7 s for this body.
    expect(performance.now() - started).toBeLessThan(2000);
    expect(out.statusCode).toBe(400);
    expect(String(out.body)).toContain('body: must have at most 100 fields');
  });
});

describe('over HTTP (the local runtime, product limits)', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime();
    await seedTopics(rt);
  }, 60_000);
  afterAll(() => rt?.dispose());

  const post = (body: string, headers: Record<string, string>) =>
    rt.request('/api/subscriptions', { method: 'POST', headers, body });
  const jsonSignup = (email: string) =>
    post(JSON.stringify({ email, tags: ['Syria'], cadence: 'daily' }), {
      'content-type': 'application/json',
    });
  const formSignup = (fields: [string, string][], headers: Record<string, string> = {}) =>
    post(new URLSearchParams(fields).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'text/html',
      ...headers,
    });

  it('mails victim+1@… … victim+6@… once', async () => {
    const statuses = [];
    for (let i = 1; i <= 6; i++) statuses.push((await jsonSignup(`victim+${i}@example.net`)).status);
    expect(statuses).toEqual(Array(6).fill(202));
    const mail = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => mailTo(rt, `victim+${i}@example.net`)));
    expect(mail.map((m) => m.length)).toEqual([1, 0, 0, 0, 0, 0]);
  });

  it("refuses another site's form with a 403 page and takes the site's own", async () => {
    const refused = await formSignup(formOf('crosssite@example.net'), {
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await refused.text()).toContain('Sign up on this site');
    expect(await mailTo(rt, 'crosssite@example.net')).toEqual([]);

    const own = await formSignup(formOf('ownsite@example.net'), {
      origin: rt.url,
      'sec-fetch-site': 'same-origin',
    });
    expect(own.status).toBe(202);
    expect(await mailTo(rt, 'ownsite@example.net')).toHaveLength(1);
  });

  it('serves a form whose honeypot is hidden from people, and ignores posts that fill it', async () => {
    await rt.publish(true);
    const page = await (await rt.request('/tags/syria.html')).text();
    expect(page).toMatch(
      new RegExp(
        `<div class="hp" aria-hidden="true"><label>[^<]+<input type="text" name="${HONEYPOT_FIELD}" tabindex="-1" autocomplete="off"></label></div>`,
      ),
    );
    const res = await formSignup(formOf('honeypot@example.net', [[HONEYPOT_FIELD, 'https://spam.example']]));
    expect(res.status).toBe(202);
    expect(await res.text()).toContain('If honeypot@example.net can receive email');
    expect(await mailTo(rt, 'honeypot@example.net')).toEqual([]);
  });

  it("is named so that browsers' autofill leaves it alone, and labelled so", async () => {
    // Autofill heuristics match field names and labels against words like these; a reader whose
    // browser filled the trap would be silently dropped.
    const targeted =
      /url|web|site|name|mail|phone|tel|address|company|org|street|city|zip|postal|country|user|login|pass/i;
    expect(HONEYPOT_FIELD).not.toMatch(targeted);
    expect(HONEYPOT_FIELD).not.toBe('website');
    await rt.publish(true);
    const page = await (await rt.request('/tags/syria.html')).text();
    const trap = /<div class="hp" aria-hidden="true"><label>([^<]+)<input ([^>]+)><\/label><\/div>/.exec(
      page,
    );
    expect(trap?.[1]).not.toMatch(targeted);
    expect(trap?.[2]).toContain(`name="${HONEYPOT_FIELD}"`);
    expect(page).not.toContain('name="website"');
  });
});
