import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeHandler } from '../../functions/create-subscription.js';
import type { Mailer, OutgoingEmail } from '../../shared/adapters/mailer.js';
import { makeSignupLimits } from '../../shared/adapters/signup-limits.js';
import { makeSubscriptionStore } from '../../shared/adapters/subscription-store.js';
import { staticTokenSecret } from '../../shared/adapters/token-secret.js';
import { ORIGIN_HEADER, SIGNUP_POLICY, VIEWER_ADDRESS_HEADER } from '../../shared/domain/signup.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import type { ApiResult } from '../../shared/http.js';
import { tagKey } from '../../shared/keys.js';
import { logger } from '../../shared/logger.js';
import type { MetricsPort } from '../../shared/metrics.js';
import type { SignupFunctionDeps } from '../../shared/services/subscription-deps.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { mailTo, manualClock, seedTopics } from '../helpers/subscriptions.js';

/**
 * The API's execute-api endpoint is public as well as CloudFront's /api/*: a client calling it
 * directly can send any `cloudfront-viewer-address`. Sign-up believes that header only with
 * CloudFront's proof, the origin secret in `x-tidings-origin`.
 */
const ORIGIN_SECRET = 'origin-secret-for-tests-0123456789abcdefgh';
const TOKEN_SECRET = 'signup-origin-test-secret-0123456789abcdef';
const LIMIT = SIGNUP_POLICY.clientPerHour;

let table: TestTable;
beforeAll(async () => {
  table = await startTestTable();
  await table.db.send(
    new PutCommand({
      TableName: table.tableName,
      Item: { ...tagKey('syria'), type: 'tag', slug: 'syria', name: 'Syria', count: 3 },
    }),
  );
});
afterAll(() => table?.close());

/** A sign-up function with its own clock, mailer and limits; `originSecret` as the stack would configure it. */
const world = (options: { originSecret?: () => Promise<string> } = {}) => {
  const clock = manualClock('2026-06-01T09:00:00.000Z');
  const sent: OutgoingEmail[] = [];
  const mailer: Mailer = {
    async send(email) {
      sent.push(email);
      return { messageId: `m${sent.length}` };
    },
  };
  const metrics: MetricsPort = { count() {}, duration() {} };
  const tokenSecret = staticTokenSecret(TOKEN_SECRET);
  const deps: SignupFunctionDeps = {
    store: makeSubscriptionStore(table.db, table.tableName),
    tokenSecret,
    mailer,
    site: defaultSiteConfig('https://news.example.org'),
    from: 'Tidings <digest@news.example.org>',
    now: clock.now,
    limits: makeSignupLimits(table.db, table.tableName, tokenSecret),
    metrics,
    confirmationsPerHour: 300,
    ...(options.originSecret ? { originSecret: options.originSecret } : {}),
  };
  const handler = makeHandler(deps);
  let requests = 0;
  const signup = async (email: string, sourceIp: string, headers: Record<string, string> = {}) =>
    (await handler(
      {
        version: '2.0',
        routeKey: 'POST /api/subscriptions',
        rawPath: '/api/subscriptions',
        rawQueryString: '',
        headers: { 'content-type': 'application/json', ...headers },
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
        body: JSON.stringify({ email, tags: ['Syria'], cadence: 'daily' }),
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2,
      { awsRequestId: `r${requests}` } as Context,
    )) as ApiResult;
  return { sent, signup, clock };
};

let n = 0;
const address = () => `origin-reader${++n}@example.org`;
/** A fresh source address per call, so tests never share a client limit. */
const source = () => `198.51.100.${(++n % 250) + 1}`;
/** A new viewer address per call: what a forger would send. */
const viewer = (i: number) => `192.0.2.${(i % 250) + 1}:${40000 + i}`;

/** Sign-ups from one source, each naming another viewer; how many confirmations went out. */
const flood = async (w: ReturnType<typeof world>, count: number, origin: string | undefined) => {
  const from = source();
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const headers: Record<string, string> = { [VIEWER_ADDRESS_HEADER]: viewer(i) };
    if (origin !== undefined) headers[ORIGIN_HEADER] = origin;
    statuses.push((await w.signup(address(), from, headers)).statusCode ?? 0);
  }
  expect(statuses).toEqual(Array<number>(count).fill(202));
  return w.sent.length;
};

describe('sign-up counts a forged viewer address against the source address', () => {
  it('without the origin header (a direct call to the execute-api endpoint)', async () => {
    const w = world({ originSecret: async () => ORIGIN_SECRET });
    expect(await flood(w, LIMIT + 2, undefined)).toBe(LIMIT);
  });

  it('with a wrong origin header', async () => {
    const w = world({ originSecret: async () => ORIGIN_SECRET });
    expect(await flood(w, LIMIT + 2, 'guessed-origin-secret-0123456789abcdefgh')).toBe(LIMIT);
  });

  it('with no origin secret configured (the local runtime), whatever the headers say', async () => {
    const w = world();
    expect(await flood(w, LIMIT + 2, ORIGIN_SECRET)).toBe(LIMIT);
  });
});

describe('sign-up through CloudFront', () => {
  it("counts each viewer CloudFront vouches for, not CloudFront's own address", async () => {
    const w = world({ originSecret: async () => ORIGIN_SECRET });
    expect(await flood(w, LIMIT + 2, ORIGIN_SECRET)).toBe(LIMIT + 2);
  });

  it('holds one viewer to the limit through changing edges', async () => {
    const w = world({ originSecret: async () => ORIGIN_SECRET });
    for (let i = 0; i < LIMIT + 2; i++) {
      await w.signup(address(), source(), {
        [VIEWER_ADDRESS_HEADER]: `192.0.2.240:${50000 + i}`,
        [ORIGIN_HEADER]: ORIGIN_SECRET,
      });
    }
    expect(w.sent).toHaveLength(LIMIT);
  });

  it('reads the origin secret only for a request that claims both headers', async () => {
    const read = vi.fn(async () => ORIGIN_SECRET);
    const w = world({ originSecret: read });
    await w.signup(address(), source());
    await w.signup(address(), source(), { [VIEWER_ADDRESS_HEADER]: viewer(1) });
    await w.signup(address(), source(), { [ORIGIN_HEADER]: ORIGIN_SECRET });
    expect(read).not.toHaveBeenCalled();
    await w.signup(address(), source(), { [VIEWER_ADDRESS_HEADER]: viewer(2), [ORIGIN_HEADER]: 'x' });
    expect(read).toHaveBeenCalledTimes(1);
    expect(w.sent).toHaveLength(4);
  });

  it('answers a failed secret read with a 500 whose log carries neither header', async () => {
    const error = vi.spyOn(logger, 'error');
    try {
      const w = world({ originSecret: () => Promise.reject(new Error('secrets manager is down')) });
      const proof = 'origin-proof-that-must-not-be-logged-0123456789';
      const res = await w.signup(address(), source(), {
        [VIEWER_ADDRESS_HEADER]: '192.0.2.99:41234',
        [ORIGIN_HEADER]: proof,
      });
      expect(res.statusCode).toBe(500);
      expect(w.sent).toHaveLength(0);
      expect(error).toHaveBeenCalledTimes(1);
      const logged = JSON.stringify(error.mock.calls, (_, v) => (v instanceof Error ? v.message : v));
      expect(logged).toContain('secrets manager is down');
      expect(logged).not.toContain(proof);
      expect(logged).not.toContain('192.0.2.99');
    } finally {
      error.mockRestore();
    }
  });
});

describe('the local runtime over HTTP', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startTestRuntime();
    await seedTopics(rt);
  }, 60_000);
  afterAll(() => rt?.dispose());

  it('ignores a forged viewer address and origin header: one local client is one client', async () => {
    const emails = Array.from({ length: LIMIT + 2 }, (_, i) => `local-forger${i}@example.net`);
    const statuses: number[] = [];
    for (const [i, email] of emails.entries()) {
      const res = await rt.request('/api/subscriptions', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [VIEWER_ADDRESS_HEADER]: viewer(i),
          [ORIGIN_HEADER]: 'anything-a-local-client-cares-to-send-0123456789',
        },
        body: JSON.stringify({ email, tags: ['Syria'], cadence: 'daily' }),
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual(Array(emails.length).fill(202));
    const mail = await Promise.all(emails.map((email) => mailTo(rt, email)));
    expect(mail.map((m) => m.length)).toEqual([...Array(LIMIT).fill(1), 0, 0]);
  });
});
