import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWebSubStore } from '../../../shared/adapters/websub-store.js';
import { type FakeStack, fakeStack, T0 } from './fake-stack.js';

let stack: FakeStack;
const now = Math.floor(T0 / 1000);

beforeAll(async () => {
  stack = await fakeStack();
  const store = makeWebSubStore(stack.table.db, stack.table.tableName);
  const sub = {
    topic: 'feeds/tags/syria.atom',
    state: 'active' as const,
    leaseSeconds: 86_400,
    createdAt: '2026-12-05T04:00:00.000Z',
  };
  await store.activate({
    ...sub,
    callback: 'https://reader.example/push?token=s3cret',
    secret: 'hmac-key',
    expiresAt: now + 3600,
  });
  // Lapsed an hour ago: DynamoDB's TTL may not have removed it yet; the listing leaves it out.
  await store.activate({ ...sub, callback: 'https://old.example/push', expiresAt: now - 3600 });
  await store.recordFailure(
    {
      at: '2026-12-06T03:00:00.000Z',
      topic: 'feeds/all.rss',
      callback: 'https://gone.example/x?k=1',
      attempts: 7,
      reason: 'answered 410',
    },
    now,
  );
});
afterAll(() => stack.close());

describe('websub against a deployed stack', () => {
  it('lists live subscriptions without secrets or queries, and the failed deliveries', async () => {
    const view = await stack.backend.websub.view();
    expect(view.subscriptions).toEqual([
      {
        topic: 'feeds/tags/syria.atom',
        callback: 'https://reader.example/push',
        state: 'active',
        expiresAt: new Date((now + 3600) * 1000).toISOString(),
        signed: true,
        createdAt: '2026-12-05T04:00:00.000Z',
      },
    ]);
    expect(view.failures).toEqual([
      {
        at: '2026-12-06T03:00:00.000Z',
        topic: 'feeds/all.rss',
        callback: 'https://gone.example/x',
        attempts: 7,
        reason: 'answered 410',
      },
    ]);
    expect(JSON.stringify(view)).not.toMatch(/s3cret|hmac-key/);
  });
});
