import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSignupLimits, PAUSE_CACHE_SECONDS } from '../../../shared/adapters/signup-limits.js';
import { staticTokenSecret } from '../../../shared/adapters/token-secret.js';
import { CONFIRMATIONS_CONTROL, controlKey, PARTITION_PREFIX, TABLE } from '../../../shared/keys.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';

let table: TestTable;
const secret = staticTokenSecret('signup-limits-test-secret-0123456789abcdef');
const T0 = Date.parse('2026-03-02T09:00:00Z') / 1000;

beforeAll(async () => {
  table = await startTestTable();
});
afterAll(() => table?.close());

const limits = () => makeSignupLimits(table.db, table.tableName, secret);
const items = async () => (await table.db.send(new ScanCommand({ TableName: table.tableName }))).Items ?? [];

describe('admitClient', () => {
  it('admits 10 sign-ups in any hour and the 11th only when the first is an hour old', async () => {
    const l = limits();
    const results: boolean[] = [];
    for (let i = 0; i < 11; i++) results.push(await l.admitClient('198.51.100.1', T0 + i * 60));
    expect(results).toEqual([...Array(10).fill(true), false]);
    // A refused sign-up is not counted: still refused until the first of the ten is an hour old.
    expect(await l.admitClient('198.51.100.1', T0 + 3599)).toBe(false);
    expect(await l.admitClient('198.51.100.1', T0 + 3600)).toBe(true);
    expect(await l.admitClient('198.51.100.1', T0 + 3601)).toBe(false);
    // Another client has its own count.
    expect(await l.admitClient('198.51.100.2', T0 + 3601)).toBe(true);
  });

  it('lets exactly ten of twenty concurrent sign-ups through', async () => {
    const l = limits();
    const results = await Promise.all(Array.from({ length: 20 }, () => l.admitClient('203.0.113.50', T0)));
    expect(results.filter(Boolean)).toHaveLength(10);
  });
});

describe('takeMailboxSlot', () => {
  it('allows one per 10 minutes and 3 in any 24 hours', async () => {
    const l = limits();
    const m = 'slots@example.org';
    const at = async (s: number) => (await l.takeMailboxSlot(m, T0 + s)) !== undefined;
    expect(await at(0)).toBe(true);
    expect(await at(1)).toBe(false);
    expect(await at(599)).toBe(false);
    expect(await at(600)).toBe(true);
    expect(await at(1200)).toBe(true);
    // Three in the last 24 hours: the fourth waits until the first is a day old.
    expect(await at(1800)).toBe(false);
    expect(await at(86_399)).toBe(false);
    expect(await at(86_400)).toBe(true);
    expect(await at(86_400 + 599)).toBe(false);
    // Each earlier one leaves the 24 hours in turn.
    expect(await at(87_000)).toBe(true);
    expect(await at(87_600)).toBe(true);
    expect(await at(88_200)).toBe(false);
    expect(await at(86_400 + 86_400)).toBe(true);
  });

  it('gives one of five concurrent takes the slot', async () => {
    const l = limits();
    const taken = await Promise.all(
      Array.from({ length: 5 }, () => l.takeMailboxSlot('race@example.org', T0)),
    );
    expect(taken.filter((s) => s !== undefined)).toHaveLength(1);
  });

  it('gives a slot back as if it had never been taken', async () => {
    const l = limits();
    const m = 'back@example.org';
    const first = await l.takeMailboxSlot(m, T0);
    const second = await l.takeMailboxSlot(m, T0 + 600);
    expect(first && second).toBeTruthy();
    await l.giveBackMailboxSlot(second as never);
    expect(await l.takeMailboxSlot(m, T0 + 599)).toBeUndefined();
    expect(await l.takeMailboxSlot(m, T0 + 600)).toBeDefined();
  });
});

describe('spendConfirmation', () => {
  it('spends up to the hourly budget and starts again the next clock hour', async () => {
    const l = limits();
    const hour = Math.floor(T0 / 3600) * 3600 + 7 * 86_400;
    const spent = await Promise.all(Array.from({ length: 5 }, (_, i) => l.spendConfirmation(hour + i, 3)));
    expect(spent.filter(Boolean)).toHaveLength(3);
    expect(await l.spendConfirmation(hour + 3599, 3)).toBe(false);
    expect(await l.spendConfirmation(hour + 3600, 3)).toBe(true);
  });
});

describe('confirmationsPaused', () => {
  it(`reads the switch, and trusts what it read for ${PAUSE_CACHE_SECONDS} seconds`, async () => {
    const l = limits();
    const set = (paused: boolean) =>
      table.db.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...controlKey(CONFIRMATIONS_CONTROL), paused },
        }),
      );
    expect(await l.confirmationsPaused(T0)).toBe(false);
    await set(true);
    expect(await l.confirmationsPaused(T0 + PAUSE_CACHE_SECONDS - 1)).toBe(false);
    expect(await l.confirmationsPaused(T0 + PAUSE_CACHE_SECONDS)).toBe(true);
    await set(false);
    expect(await l.confirmationsPaused(T0 + PAUSE_CACHE_SECONDS + 1)).toBe(true);
    expect(await l.confirmationsPaused(T0 + 2 * PAUSE_CACHE_SECONDS)).toBe(false);
  });
});

describe('limit items', () => {
  it('are LIMIT# items with a TTL, keyed by a keyed hash: no address or client in them', async () => {
    const l = limits();
    await l.admitClient('192.0.2.77', T0);
    await l.takeMailboxSlot('private.reader@example.org', T0);
    const limitItems = (await items()).filter((i) => String(i.PK).startsWith(PARTITION_PREFIX.limit));
    expect(limitItems.length).toBeGreaterThan(0);
    for (const item of limitItems) expect(typeof item[TABLE.ttlAttribute]).toBe('number');
    const dump = JSON.stringify(limitItems);
    expect(dump).not.toContain('192.0.2.77');
    expect(dump).not.toContain('private.reader');
    // Bounded: a client's item holds its last ten times, however many sign-ups it makes.
    for (const item of limitItems) expect(Object.keys(item).length).toBeLessThanOrEqual(2 + 10 + 1);
  });
});
