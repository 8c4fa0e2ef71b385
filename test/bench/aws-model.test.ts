import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DYNAMO_LATENCY_MS,
  extrapolate,
  lambdaSeconds,
  modelDocumentClient,
  modelObjectStore,
  PUBLISH_WRITES_IN_FLIGHT,
  SDK_MAX_SOCKETS,
  SLICE_OVERHEAD_SECONDS,
  scheduleJob,
} from '../../bench/aws-model.js';
import { makeFolderObjectStore } from '../../local/site-folder.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { createS3Client, makeS3ObjectStore } from '../../shared/adapters/s3.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import { Output } from '../../shared/services/publish-output.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { tempFolders } from '../helpers/site-files.js';

const ROOT = resolve(import.meta.dirname, '../..');
const folders = tempFolders('aws-model-');
afterAll(() => folders.removeAll());

const elapsedMs = async (work: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await work();
  return performance.now() - start;
};
/** Timers may fire up to a millisecond early against performance.now(); lower bounds allow it. */
const SLACK_MS = 2;

/** The sockets of a client's HTTPS agent (the handler's resolved configuration; it has no public getter). */
const socketsOf = async (client: { config: { requestHandler: unknown } }): Promise<number> => {
  const handler = client.config.requestHandler as {
    configProvider: Promise<{ httpsAgent: { maxSockets: number } }>;
  };
  return (await handler.configProvider).httpsAgent.maxSockets;
};

describe('the modelled object store', () => {
  it('charges each call the S3 requests the S3 store makes for it, and passes the real store through', async () => {
    const root = folders.make();
    const { objects, stats } = modelObjectStore(makeFolderObjectStore(root), {
      latencyMs: { HEAD: 1, PUT: 2, GET: 3, DELETE: 4 },
    });

    expect(await objects.putIfChanged('a.html', 'one', 'text/html')).toBe(true);
    expect(stats().requests).toEqual({ HEAD: 1, PUT: 1 });
    expect(await objects.putIfChanged('a.html', 'one', 'text/html')).toBe(false);
    expect(stats().requests).toEqual({ HEAD: 2, PUT: 1 });
    expect(await objects.putIfChanged('a.html', ['t', 'wo'], 'text/html')).toBe(true);
    expect(Buffer.from((await objects.get('a.html')) ?? []).toString()).toBe('two');
    expect(readFileSync(join(root, 'a.html'), 'utf8')).toBe('two');
    expect(await objects.get('none.html')).toBeUndefined();
    expect(await objects.remove('a.html')).toBe(true);
    expect(await objects.remove('a.html')).toBe(false);

    const after = stats();
    expect(after.requests).toEqual({ HEAD: 5, PUT: 2, GET: 2, DELETE: 1 });
    expect(after.latencyMs).toBe(5 * 1 + 2 * 2 + 2 * 3 + 1 * 4);
    expect(after.peakInFlight).toBe(1);
    expect(after.queuedMs).toBe(0);
  });

  it('waits 25 ms a request by default', async () => {
    const { objects, stats } = modelObjectStore(makeFolderObjectStore(folders.make()));
    const took = await elapsedMs(() => objects.putIfChanged('b.html', 'new', 'text/html'));
    expect(stats().latencyMs).toBe(50);
    expect(took).toBeGreaterThanOrEqual(50 - SLACK_MS);
  });

  it('lends a lending store’s buffers, each borrow a GET', async () => {
    const store = makeFolderObjectStore(folders.make());
    await store.putIfChanged('feed.xml', '<feed/>', 'application/atom+xml');
    const { objects, stats } = modelObjectStore(store, { latencyMs: { GET: 1 } });
    const borrowed = await objects.borrow?.('feed.xml');
    expect(Buffer.from(borrowed?.bytes ?? []).toString()).toBe('<feed/>');
    borrowed?.release();
    expect(stats().requests).toEqual({ GET: 1 });
  });

  it('keeps at most inFlight requests under way, the rest waiting their turn in order', async () => {
    const store = makeFolderObjectStore(folders.make());
    await store.putIfChanged('x', 'x', 'text/plain');
    const { objects, stats } = modelObjectStore(store, { inFlight: 4, latencyMs: { GET: 40 } });
    const took = await elapsedMs(() => Promise.all(Array.from({ length: 12 }, () => objects.get('x'))));
    // 12 requests, 4 at a time, 40 ms each: three rounds.
    expect(took).toBeGreaterThanOrEqual(3 * 40 - SLACK_MS);
    expect(stats().peakInFlight).toBe(4);
    expect(stats().queuedMs).toBeGreaterThan(0);

    const one = modelObjectStore(store, { inFlight: 1, latencyMs: { GET: 2 } });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 6 }, (_, i) => one.objects.get('x').then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('has the publisher keep as many writes under way as with the S3 store, not the local folder’s', async () => {
    const folder = makeFolderObjectStore(folders.make());
    expect(folder.writesInFlight).toBeGreaterThan(PUBLISH_WRITES_IN_FLIGHT);
    const { objects, stats } = modelObjectStore(folder, { latencyMs: { HEAD: 5, PUT: 5 } });
    expect(objects.writesInFlight).toBe(PUBLISH_WRITES_IN_FLIGHT);

    // The publisher's own writer, given a store that (like the S3 store) names no number.
    expect(makeS3ObjectStore(createS3Client(), 'bucket').writesInFlight).toBeUndefined();
    const { writesInFlight: _, ...unnamed } = objects;
    const out = new Output({
      store: undefined as never,
      objects: unnamed,
      site: defaultSiteConfig('https://x.example'),
    });
    await out.write(
      Array.from({ length: 100 }, (_, i) => ({ key: `p${i}.html`, body: `${i}`, type: 'text/html' })),
    );
    expect(stats().requests).toEqual({ HEAD: 100, PUT: 100 });
    expect(stats().peakInFlight).toBe(PUBLISH_WRITES_IN_FLIGHT);

    // And given the modelled store itself, the publisher keeps to the number it names.
    const named = modelObjectStore(folder, { latencyMs: { HEAD: 5, PUT: 5 } });
    const direct = new Output({
      store: undefined as never,
      objects: named.objects,
      site: defaultSiteConfig('https://x.example'),
    });
    await direct.write(
      Array.from({ length: 100 }, (_, i) => ({ key: `q${i}.html`, body: `${i}`, type: 'text/html' })),
    );
    expect(named.stats().peakInFlight).toBe(PUBLISH_WRITES_IN_FLIGHT);

    expect(modelObjectStore(folder, { writesInFlight: 8 }).objects.writesInFlight).toBe(8);
  });

  it('defaults to the sockets the deployed S3 client has', async () => {
    const client = createS3Client();
    expect(await socketsOf(client)).toBe(SDK_MAX_SOCKETS);
    client.destroy();
    const store = makeFolderObjectStore(folders.make());
    await store.putIfChanged('x', 'x', 'text/plain');
    const { objects, stats } = modelObjectStore(store, { latencyMs: { GET: 5 } });
    await Promise.all(Array.from({ length: SDK_MAX_SOCKETS + 10 }, () => objects.get('x')));
    expect(stats().peakInFlight).toBe(SDK_MAX_SOCKETS);
  });

  it('refuses an in-flight limit that is not a whole number of at least 1, and a latency below 0', () => {
    const store = makeFolderObjectStore(folders.make());
    expect(() => modelObjectStore(store, { inFlight: 0 })).toThrow(/inFlight/);
    expect(() => modelObjectStore(store, { inFlight: 2.5 })).toThrow(/inFlight/);
    expect(() => modelObjectStore(store, { latencyMs: { PUT: -1 } })).toThrow(/latency of a PUT/);
  });
});

describe('the modelled document client', () => {
  let table: TestTable;
  beforeAll(async () => {
    table = await startTestTable();
  });
  afterAll(() => table.close());

  it('reads and writes through the real table, counting each request by operation, a batch as one', async () => {
    const { db, stats } = modelDocumentClient(table.db, { latencyMs: 1 });
    const TableName = table.tableName;
    await db.send(new PutCommand({ TableName, Item: { PK: 'MODEL#a', SK: 'ONE', n: 1 } }));
    await db.send(
      new BatchWriteCommand({
        RequestItems: {
          [TableName]: [2, 3, 4].map((n) => ({ PutRequest: { Item: { PK: 'MODEL#a', SK: `N${n}`, n } } })),
        },
      }),
    );
    const got = await db.send(new GetCommand({ TableName, Key: { PK: 'MODEL#a', SK: 'ONE' } }));
    expect(got.Item).toEqual({ PK: 'MODEL#a', SK: 'ONE', n: 1 });
    const listed = await db.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': 'MODEL#a' },
      }),
    );
    expect(listed.Items?.map((i) => i.n).sort()).toEqual([1, 2, 3, 4]);
    expect(stats().requests).toEqual({ PutItem: 1, BatchWriteItem: 1, GetItem: 1, Query: 1 });
    expect(stats().latencyMs).toBe(4);

    // The client given is left as it was: its own requests wait for nothing and are not counted.
    await table.db.send(new GetCommand({ TableName, Key: { PK: 'MODEL#a', SK: 'ONE' } }));
    expect(stats().requests.GetItem).toBe(1);
    expect(db.config).toBe(table.db.config);
  });

  it('waits 8 ms a request by default, and N requests K at a time take ceil(N/K) latencies', async () => {
    const one = modelDocumentClient(table.db);
    const Key = { PK: 'MODEL#b', SK: 'ONE' };
    const took = await elapsedMs(() => one.db.send(new GetCommand({ TableName: table.tableName, Key })));
    expect(one.stats().latencyMs).toBe(DYNAMO_LATENCY_MS);
    expect(took).toBeGreaterThanOrEqual(DYNAMO_LATENCY_MS - SLACK_MS);

    const { db, stats } = modelDocumentClient(table.db, { latencyMs: 30, inFlight: 3 });
    const many = await elapsedMs(() =>
      Promise.all(
        Array.from({ length: 10 }, () => db.send(new GetCommand({ TableName: table.tableName, Key }))),
      ),
    );
    expect(many).toBeGreaterThanOrEqual(Math.ceil(10 / 3) * 30 - SLACK_MS);
    expect(stats().peakInFlight).toBe(3);
    expect(stats().requests).toEqual({ GetItem: 10 });
  });

  it('defaults to the sockets the deployed DynamoDB client has', async () => {
    expect(() => modelDocumentClient(table.db, { latencyMs: -1 })).toThrow(/latency/);
    expect(() => modelDocumentClient(table.db, { inFlight: 0 })).toThrow(/inFlight/);
    const client = createDocumentClient({ region: 'eu-west-1' });
    expect(await socketsOf(client)).toBe(SDK_MAX_SOCKETS);
    client.destroy();
    const { db, stats } = modelDocumentClient(table.db, { latencyMs: 5 });
    const Key = { PK: 'MODEL#c', SK: 'ONE' };
    await Promise.all(
      Array.from({ length: SDK_MAX_SOCKETS + 5 }, () =>
        db.send(new GetCommand({ TableName: table.tableName, Key })),
      ),
    );
    expect(stats().peakInFlight).toBe(SDK_MAX_SOCKETS);
  });
});

describe('lambdaSeconds', () => {
  it('stretches the CPU part by the share of a vCPU below 1,769 MB and leaves the waiting alone', () => {
    const work = { wallSeconds: 10, cpuSeconds: 8 };
    expect(lambdaSeconds(work, 1769)).toBe(10);
    expect(lambdaSeconds(work, 1024)).toBeCloseTo(10 + 8 * (1769 / 1024 - 1), 9);
    expect(lambdaSeconds(work, 1769 / 2)).toBeCloseTo(18, 9);
    expect(lambdaSeconds({ wallSeconds: 10, cpuSeconds: 0 }, 128)).toBe(10);
  });

  it('gains nothing above one vCPU', () => {
    expect(lambdaSeconds({ wallSeconds: 10, cpuSeconds: 8 }, 3008)).toBe(10);
  });

  it('refuses a memory size or times it cannot use', () => {
    expect(() => lambdaSeconds({ wallSeconds: 1, cpuSeconds: 1 }, 0)).toThrow(/memoryMB/);
    expect(() => lambdaSeconds({ wallSeconds: -1, cpuSeconds: 1 }, 1024)).toThrow(/wallSeconds/);
    expect(() => lambdaSeconds({ wallSeconds: 1, cpuSeconds: Number.NaN }, 1024)).toThrow(/cpuSeconds/);
  });
});

describe('scheduleJob', () => {
  it('puts the longest slice first onto the least loaded worker (LPT, not the best split)', () => {
    // LPT: 5 | 4, then 3 → 7, 3 → 8, 3 → 10; the best split (5+4 | 3+3+3) would be 9.
    expect(scheduleJob([[3, 3, 5, 3, 4]], 2, { overheadSeconds: 0 })).toEqual({
      seconds: 10,
      longestSlice: 5,
      perPhase: [10],
    });
  });

  it('runs phases one after another, each after the last slice of the one before', () => {
    const job = scheduleJob([[4, 4, 4, 4], [1], [], [2, 6]], 4, { overheadSeconds: 0 });
    expect(job.perPhase).toEqual([4, 1, 0, 6]);
    expect(job.seconds).toBe(11);
    expect(job.longestSlice).toBe(6);
    expect(scheduleJob([[1, 2, 3]], 1, { overheadSeconds: 0 }).seconds).toBe(6);
  });

  it('charges each slice the overhead, 0.5 s by default, but not toward the longest slice', () => {
    expect(SLICE_OVERHEAD_SECONDS).toBe(0.5);
    const job = scheduleJob([[2, 2, 2], [1]], 2);
    expect(job.perPhase).toEqual([5, 1.5]);
    expect(job.seconds).toBe(6.5);
    expect(job.longestSlice).toBe(2);
  });

  it('refuses workers it cannot have and slices of no length', () => {
    expect(() => scheduleJob([[1]], 0)).toThrow(/workers/);
    expect(() => scheduleJob([[1]], 1.5)).toThrow(/workers/);
    expect(() => scheduleJob([[-1]], 2)).toThrow(/slice/);
    expect(() => scheduleJob([[1]], 2, { overheadSeconds: -1 })).toThrow(/overhead/);
  });
});

describe('extrapolate', () => {
  it('fits seconds per unit for each kind through the origin and predicts the planned slices', () => {
    const { fits, slices } = extrapolate(
      [
        // events: least squares through the origin, (1·1 + 2·3) / (1 + 4) = 1.4 s an event.
        { kind: 'events', size: 1, seconds: 1 },
        { kind: 'events', size: 2, seconds: 3 },
        { kind: 'tags', size: 100, seconds: 2 },
        { kind: 'tags', size: 300, seconds: 6 },
      ],
      [
        { kind: 'events', size: 10 },
        { kind: 'tags', size: 1000 },
      ],
    );
    expect(fits.events).toEqual({
      secondsPerUnit: expect.closeTo(1.4, 9),
      slices: 2,
      lowest: 1,
      highest: 1.5,
    });
    expect(fits.tags).toEqual({
      secondsPerUnit: expect.closeTo(0.02, 9),
      slices: 2,
      lowest: 0.02,
      highest: 0.02,
    });
    expect(slices).toEqual([
      { kind: 'events', size: 10, seconds: expect.closeTo(14, 9) },
      { kind: 'tags', size: 1000, seconds: expect.closeTo(20, 9) },
    ]);
  });

  it('refuses to predict a kind it measured nothing of', () => {
    const measured = [{ kind: 'events', size: 10, seconds: 1 }];
    expect(() => extrapolate(measured, [{ kind: 'tags', size: 1 }])).toThrow(/no tags slice/);
    expect(() => extrapolate(measured, [{ kind: 'constructor', size: 1 }])).toThrow(/no constructor slice/);
    expect(() => extrapolate([{ kind: 'events', size: 0, seconds: 1 }], [])).toThrow(/size above 0/);
    expect(() => extrapolate([{ kind: 'events', size: -1, seconds: 1 }], [])).toThrow(/0 or more/);
  });
});

describe('where the model may be used', () => {
  it('is imported by nothing that is deployed or run locally', () => {
    const importers: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ts|mts|mjs|js)$/.test(entry.name) && readFileSync(path, 'utf8').includes('aws-model')) {
          importers.push(path);
        }
      }
    };
    for (const dir of ['shared', 'functions', 'local']) walk(join(ROOT, dir));
    expect(importers).toEqual([]);
  });
});
