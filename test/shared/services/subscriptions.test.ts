import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as createSubscription } from '../../../functions/create-subscription.js';
import { type Mailer, MailerThrottledError, type OutgoingEmail } from '../../../shared/adapters/mailer.js';
import { makeSignupLimits } from '../../../shared/adapters/signup-limits.js';
import { makeSubscriptionStore } from '../../../shared/adapters/subscription-store.js';
import { staticTokenSecret } from '../../../shared/adapters/token-secret.js';
import { defaultSiteConfig } from '../../../shared/domain/site.js';
import { tagKey } from '../../../shared/keys.js';
import { noMetrics } from '../../../shared/metrics.js';
import { requestSubscription, type SignupDeps } from '../../../shared/services/subscriptions.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';

/** A mailer that records what it accepted and fails the sends `fail` picks. */
const recordingMailer = (fail: (attempt: number) => Error | undefined = () => undefined) => {
  const sent: OutgoingEmail[] = [];
  let attempts = 0;
  const mailer: Mailer = {
    async send(email) {
      const error = fail(++attempts);
      if (error) throw error;
      sent.push(email);
      return { messageId: `m${sent.length}` };
    },
  };
  return { mailer, sent, attempts: () => attempts };
};

let table: TestTable;
let n = 0;
const NOW = '2026-03-02T09:00:00.000Z';

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

const secret = staticTokenSecret('service-test-secret-0123456789abcdefghij');
const depsWith = (mailer: Mailer, now = () => NOW): SignupDeps => ({
  store: makeSubscriptionStore(table.db, table.tableName),
  tokenSecret: secret,
  mailer,
  site: defaultSiteConfig('https://news.example.org'),
  from: 'Tidings <digest@news.example.org>',
  now,
  limits: makeSignupLimits(table.db, table.tableName, secret),
  metrics: noMetrics,
  confirmationsPerHour: 300,
});
const context = (client: string) => ({ client, honeypot: false });

const request = (email: string) => ({ email, tags: ['syria'], cadence: 'daily' });

const apiEvent = (body: unknown): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: 'POST /api/subscriptions',
    rawPath: '/api/subscriptions',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      http: { method: 'POST', path: '/api/subscriptions', sourceIp: '198.51.100.30' },
      requestId: 'r1',
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;
const lambdaContext = { awsRequestId: 'r1' } as Context;

describe('requestSubscription', () => {
  it('sends one confirmation when the same new address signs up five times at once', async () => {
    const { mailer, sent } = recordingMailer();
    const deps = depsWith(mailer);
    const email = `race${++n}@example.org`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => requestSubscription(deps, request(email), context('198.51.100.10'))),
    );
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ to: email, from: 'Tidings <digest@news.example.org>' });
    expect(sent[0]?.headers?.['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
  });

  it('retries a throttled send and delivers the confirmation once', async () => {
    const { mailer, sent, attempts } = recordingMailer((i) =>
      i <= 2 ? new MailerThrottledError() : undefined,
    );
    const email = `throttled${++n}@example.org`;
    await requestSubscription(depsWith(mailer), request(email), context('198.51.100.20'));
    expect(attempts()).toBe(3);
    expect(sent.map((m) => m.to)).toEqual([email]);
  });

  it('answers a failed send with the usual 202 that names no detail, and lets the reader try again at once', async () => {
    const failing = recordingMailer(() => new Error('SES is down: MessageRejected for reader'));
    const email = `failing${++n}@example.org`;
    const res = await createSubscription(depsWith(failing.mailer))(apiEvent(request(email)), lambdaContext);
    expect(res.statusCode).toBe(202);
    expect(res.body).not.toContain('SES');
    expect(failing.sent).toEqual([]);

    const working = recordingMailer();
    const again = await createSubscription(depsWith(working.mailer))(apiEvent(request(email)), lambdaContext);
    expect(again.statusCode).toBe(202);
    expect(again.body).toBe(res.body);
    expect(working.sent.map((m) => m.to)).toEqual([email]);
  });
});
