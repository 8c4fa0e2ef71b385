import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GB, monthlyUsage, priceUsage, type UnitsOfWork } from '../../bench/cost-model.js';
import { type AttributeMap, indexWriteUnits } from '../../bench/counting-dynamo.js';
import { PRICES, PRICES_DATE } from '../../bench/prices.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('the cost model', () => {
  it('prices each line at list price and again with the always-free allowance taken off', () => {
    const bill = priceUsage({
      lambdaRequests: 1_500_000,
      alarmMetrics: 12,
      sesEmails: 2_000,
      apiRequests: 0,
    });

    expect(bill.lines.map((l) => [l.key, l.quantity, l.before, l.after])).toEqual([
      // $0.20 a million, the first million free.
      ['lambdaRequests', 1_500_000, expect.closeTo(0.3, 9), expect.closeTo(0.1, 9)],
      // $0.10 a thousand, nothing always free.
      ['sesEmails', 2_000, expect.closeTo(0.2, 9), expect.closeTo(0.2, 9)],
      // $0.10 an alarm metric, the first 10 free.
      ['alarmMetrics', 12, expect.closeTo(1.2, 9), expect.closeTo(0.2, 9)],
    ]);
    expect(bill.before).toBeCloseTo(1.7, 9);
    expect(bill.after).toBeCloseTo(0.5, 9);
    expect(bill.free).toBeCloseTo(1.2, 9);
    expect(bill.services).toEqual([
      { service: 'Lambda', before: expect.closeTo(0.3, 9), after: expect.closeTo(0.1, 9) },
      { service: 'SES', before: expect.closeTo(0.2, 9), after: expect.closeTo(0.2, 9) },
      { service: 'CloudWatch', before: expect.closeTo(1.2, 9), after: expect.closeTo(0.2, 9) },
    ]);
  });

  it('never takes more off than a line costs', () => {
    const bill = priceUsage({ snsPublishes: 10 });
    expect(bill.lines[0]?.before).toBeCloseTo(0.000005, 12);
    expect(bill.after).toBe(0);
  });

  it('adds the fixed part to each unit of work times how often a scale does it in a 30-day month', () => {
    const units: UnitsOfWork = {
      event: { dynamoWrite: 10, logsIngestion: 1 / GB },
      publishPerEvent: { s3Put: 2 },
      digest: { sesEmails: 1 },
      alert: { sesEmails: 1, sqsRequests: 2 },
      confirmation: { sesEmails: 1, apiRequests: 2 },
      poll: { cloudfrontRequests: 1 },
    };
    const storage = {
      tableBytesPerEvent: GB / 365,
      tableBytesPerSubscriber: GB / 10,
      siteBytesPerEvent: GB / 730,
    };
    const usage = monthlyUsage({ secrets: 2, dynamoWrite: 5 }, units, storage, {
      name: 'tiny',
      eventsPerDay: 2,
      subscribers: 10,
      pollsPerDay: 100,
    });

    expect(usage).toEqual({
      secrets: 2,
      // 5 fixed + 60 events × 10.
      dynamoWrite: 605,
      // 60 events of 1 byte each, kept a month (30-day retention).
      logsIngestion: expect.closeTo(60 / GB, 15),
      logsStorage: expect.closeTo(60 / GB, 15),
      s3Put: 120,
      // 9 digest readers × 30 daily digests, 1 instant reader × 4 alerts × 30 days, and 5% of them
      // sign up: 0.5 confirmations.
      sesEmails: 270 + 120 + 0.5,
      sqsRequests: 240,
      apiRequests: 1,
      cloudfrontRequests: 3_000,
      // A year at 2 events a day (2 GB), and 10 subscribers (1 GB).
      dynamoStorage: expect.closeTo(3, 9),
      dynamoPitr: expect.closeTo(3, 9),
      s3Storage: expect.closeTo(1, 9),
    });
  });

  it('lists only the prices it has, each with a source page and how it was checked', () => {
    for (const price of Object.values(PRICES)) {
      expect(price.source).toMatch(/^https:\/\/aws\.amazon\.com\//);
      expect(['aws', 'secondary', 'unconfirmed']).toContain(price.checked);
      expect(price.usd).toBeGreaterThan(0);
    }
  });
});

describe('index write units counted by the benchmark proxy', () => {
  const s = (value: string) => ({ S: value });
  const event: AttributeMap = {
    PK: s('EVENT#2016/11/16/x'),
    SK: s('EVENT'),
    GSI1PK: s('LATEST#3'),
    GSI1SK: s('2016-11-16#x'),
    GSI2PK: s('DAY#2016-11-16'),
    GSI2SK: s('2016-11-16T00:00:00Z#x'),
    body: s('b'.repeat(1500)),
  };

  it('charges each index holding a new item its size in 1 KB units, rounded up', () => {
    // GSI1 and GSI2 project everything: two indexes, 2 KB each.
    expect(indexWriteUnits(undefined, event)).toBe(4);
  });

  it('charges nothing where no index holds the item, and a delete and a put when an index key moves', () => {
    expect(indexWriteUnits(undefined, { PK: s('MARK#site'), SK: s('x') })).toBe(0);
    const moved = { ...event, GSI2PK: s('DAY#2016-11-17') };
    // GSI1 rewritten in place (2), GSI2 deleted (2) and put (2).
    expect(indexWriteUnits(event, { ...moved, body: s('c'.repeat(1500)) })).toBe(6);
  });

  it('charges a keys-only index for its projection only, and only when it changes', () => {
    // The tag listing index (INCLUDE) is gone; the digest index keeps keys only.
    const subscriber: AttributeMap = {
      PK: s('SUBSCRIBER#x'),
      SK: s('SUBSCRIBER'),
      GSI3PK: s('DIGEST#daily#1'),
      GSI3SK: s('x'),
      email: s('b'.repeat(3000)),
    };
    expect(indexWriteUnits(undefined, subscriber)).toBe(1);
    expect(indexWriteUnits(subscriber, { ...subscriber, email: s('c'.repeat(3000)) })).toBe(0);
  });
});

describe('docs/costs.md', () => {
  it('is the output of a run at the prices in the code', () => {
    const doc = readFileSync(resolve(ROOT, 'docs/costs.md'), 'utf8');
    expect(doc).toContain(`looked up on **${PRICES_DATE}**`);
    expect(doc).toContain(`## Prices (us-east-1, looked up ${PRICES_DATE})`);
    for (const price of Object.values(PRICES)) expect(doc).toContain(price.source);
  });
});

describe('what the benchmark measured, as priced quantities', () => {
  it('scales measured durations to each function memory in the template and adds platform log records', async () => {
    const { emptyCounters, usageOf } = await import('../../bench/cost-usage.js');
    const counters = {
      ...emptyCounters(),
      lambda: { 'publish-site': { invocations: 2, ms: 1000 }, 'post-event': { invocations: 1, ms: 1000 } },
      apiRequests: 1,
      logBytes: 1000,
    };
    const usage = usageOf(
      {
        counters,
        dynamo: {
          requests: {},
          readUnits: 3,
          tableWriteUnits: 4,
          indexWriteUnits: 2,
          conditionalFailures: 0,
        },
      },
      { memoryMb: { 'publisher-publish-site': 1024, 'api-post-event': 512, 'api-post-events-batch': 2048 } },
    );
    expect(usage.lambdaRequests).toBe(3);
    // 1 s at 1 GB, and 1 s at half a GB.
    expect(usage.lambdaArmGbSeconds).toBeCloseTo(1.5, 9);
    expect(usage.dynamoWrite).toBe(6);
    expect(usage.dynamoRead).toBe(3);
    // Its own lines, 600 bytes of platform records per invocation, 400 of API access log per request.
    expect(usage.logsIngestion).toBeCloseTo((1000 + 3 * 600 + 400) / GB, 15);
  });
});
