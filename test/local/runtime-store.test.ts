import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../local/dynamodb.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime } from '../helpers/runtime.js';

let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.close());

describe('a runtime on a store already running', () => {
  it('keeps its data there, leaves the store running when it stops, and a second runtime reads it', async () => {
    const first = await startTestRuntime({ dynamodbEndpoint: dynamo.endpoint });
    expect(first.dynamodbEndpoint).toBe(dynamo.endpoint);
    const res = await first.write('POST', '/api/events', makeEventInput({ headline: 'On a shared store' }));
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await first.capture.idle();
    // No store of its own under the data folder.
    const files = join(first.dataDir, 'dynamodb');
    expect(existsSync(files) ? readdirSync(files) : []).toEqual([]);
    await first.dispose();

    const second = await startTestRuntime({ dynamodbEndpoint: dynamo.endpoint });
    try {
      const read = await second.request(`/api/events/${id}`);
      expect(read.status).toBe(200);
      expect(((await read.json()) as { headline: string }).headline).toBe('On a shared store');
    } finally {
      await second.dispose();
    }
  });
});

describe('a store this process started', () => {
  it('collects its garbage in full when asked, and goes on answering', async () => {
    const store = await startDynalite();
    try {
      const ms = await store.collect?.();
      // It answers with the collection's time, and fails instead when the store cannot collect.
      expect(ms).toBeGreaterThanOrEqual(0);
      const res = await fetch(store.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
        },
        body: '{}',
      });
      expect(res.status).toBeLessThan(500);
    } finally {
      await store.close();
    }
  });
});
