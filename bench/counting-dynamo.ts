/**
 * A counting proxy in front of dynalite for the cost model: every DynamoDB request the code under
 * test makes (through whichever client it built) passes here, is counted by kind, and is asked for
 * its consumed capacity (`ReturnConsumedCapacity: TOTAL`, added where the code did not set it;
 * the answer is passed back untouched, so the SDK's CRC check holds).
 *
 * dynalite reports the table's units only. Index writes are counted here from the item before and
 * after each write (read straight from dynalite, uncounted): per index holding the item before or
 * after, the projected entry's size in 1 KB units, rounded up, twice when the index key moved
 * (a delete and a put), nothing when the projection did not change. A write refused by its
 * condition counts one write unit, as DynamoDB charges it.
 */

import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { TABLE, TABLE_INDEXES } from '../shared/keys.js';
import { type AttributeMap, dynamoForwarder, readBody, writeKeys } from './dynamo-forwarder.js';

// dynalite's own item-size rule (attribute names plus values), the one DynamoDB documents.
const dynaliteDb = createRequire(import.meta.url)('dynalite/db/index.js') as {
  itemSize(item: AttributeMap): number;
};

export type { AttributeMap } from './dynamo-forwarder.js';

export interface DynamoCounts {
  /** Requests by operation (PutItem, Query…). */
  requests: Record<string, number>;
  readUnits: number;
  tableWriteUnits: number;
  indexWriteUnits: number;
  conditionalFailures: number;
}

export const emptyDynamoCounts = (): DynamoCounts => ({
  requests: {},
  readUnits: 0,
  tableWriteUnits: 0,
  indexWriteUnits: 0,
  conditionalFailures: 0,
});

/** `a − b`, field by field: the counts of what happened between two snapshots. */
export const diffDynamoCounts = (a: DynamoCounts, b: DynamoCounts): DynamoCounts => {
  const requests: Record<string, number> = {};
  for (const [kind, n] of Object.entries(a.requests)) {
    const d = n - (b.requests[kind] ?? 0);
    if (d !== 0) requests[kind] = d;
  }
  return {
    requests,
    readUnits: a.readUnits - b.readUnits,
    tableWriteUnits: a.tableWriteUnits - b.tableWriteUnits,
    indexWriteUnits: a.indexWriteUnits - b.indexWriteUnits,
    conditionalFailures: a.conditionalFailures - b.conditionalFailures,
  };
};

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
const UNIT = 1024;

/** The item's entry in an index, or undefined when the index does not hold it. */
const projected = (index: (typeof TABLE_INDEXES)[number], item: AttributeMap | undefined) => {
  if (!item?.[index.partitionKey] || !item[index.sortKey]) return undefined;
  if (index.projection === 'ALL') return item;
  const names = new Set<string>([
    TABLE.partitionKey,
    TABLE.sortKey,
    index.partitionKey,
    index.sortKey,
    ...('nonKeyAttributes' in index ? index.nonKeyAttributes : []),
  ]);
  return Object.fromEntries(Object.entries(item).filter(([name]) => names.has(name))) as AttributeMap;
};

const units = (item: AttributeMap) => Math.max(1, Math.ceil(dynaliteDb.itemSize(item) / UNIT));

/** Item sizes as DynamoDB counts them, for the storage estimate. */
export const sizes = {
  itemSize: (item: AttributeMap): number => dynaliteDb.itemSize(item),
  /** Bytes of the item's entry in `index`, or undefined when the index does not hold it. */
  projectedSize: (index: (typeof TABLE_INDEXES)[number], item: AttributeMap): number | undefined => {
    const entry = projected(index, item);
    return entry && dynaliteDb.itemSize(entry);
  },
};

/** Index write units of one item going from `before` to `after`. */
export const indexWriteUnits = (
  before: AttributeMap | undefined,
  after: AttributeMap | undefined,
): number => {
  let total = 0;
  for (const index of TABLE_INDEXES) {
    const old = projected(index, before);
    const next = projected(index, after);
    if (!old && !next) continue;
    if (old && next) {
      const moved =
        JSON.stringify(old[index.partitionKey]) !== JSON.stringify(next[index.partitionKey]) ||
        JSON.stringify(old[index.sortKey]) !== JSON.stringify(next[index.sortKey]);
      if (moved) total += units(old) + units(next);
      else if (JSON.stringify(old) !== JSON.stringify(next)) total += Math.max(units(old), units(next));
    } else total += units((old ?? next) as AttributeMap);
  }
  return total;
};

export interface CountingDynamo {
  /** Point clients here. */
  endpoint: string;
  /** A copy of the counts so far. */
  snapshot(): DynamoCounts;
  close(): Promise<void>;
}

/** Starts the proxy in front of `target` (dynalite's endpoint). */
export const startCountingDynamo = async (target: string): Promise<CountingDynamo> => {
  const counts = emptyDynamoCounts();

  const { forward, peek } = dynamoForwarder(target);

  const addCapacity = (
    operation: string,
    input: Record<string, unknown>,
    answer: unknown,
    write: boolean,
  ) => {
    const consumed = (answer as { ConsumedCapacity?: unknown }).ConsumedCapacity;
    const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
    let total = 0;
    for (const c of list as { CapacityUnits?: number }[]) total += c.CapacityUnits ?? 0;
    // A query that finds nothing still costs DynamoDB's minimum read (dynalite reports 0).
    if ((operation === 'Query' || operation === 'Scan') && total === 0)
      total = input.ConsistentRead ? 1 : 0.5;
    if (write) counts.tableWriteUnits += total;
    else counts.readUnits += total;
  };

  const server: Server = createServer((req, res) => {
    (async () => {
      const body = await readBody(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.split('.')[1] ?? 'unknown';
      counts.requests[operation] = (counts.requests[operation] ?? 0) + 1;
      let input: Record<string, unknown> = {};
      try {
        input = JSON.parse(body.toString() || '{}') as Record<string, unknown>;
      } catch {
        // Not JSON: forwarded as it came, uncounted beyond the request.
      }
      const counted = ['GetItem', 'BatchGetItem', 'Query', 'Scan', ...WRITES].includes(operation);
      const sent =
        counted && input.ReturnConsumedCapacity === undefined
          ? Buffer.from(JSON.stringify({ ...input, ReturnConsumedCapacity: 'TOTAL' }))
          : body;
      const write = WRITES.has(operation);
      const keys = write ? writeKeys(operation, input) : [];
      const before = await Promise.all(keys.map(([table, key]) => peek(req.headers, table, key)));
      const out = await forward(req.url ?? '/', req.headers, sent);
      if (counted) {
        const answer = JSON.parse(out.body.toString() || '{}') as { __type?: string };
        if (out.status === 200) addCapacity(operation, input, answer, write);
        else if (answer.__type?.endsWith('ConditionalCheckFailedException')) {
          counts.conditionalFailures += 1;
          counts.tableWriteUnits += 1;
        }
      }
      if (write && out.status === 200) {
        const after = await Promise.all(keys.map(([table, key]) => peek(req.headers, table, key)));
        keys.forEach((_, i) => {
          counts.indexWriteUnits += indexWriteUnits(before[i], after[i]);
        });
      }
      const headers = { ...out.headers };
      delete headers['transfer-encoding'];
      res.writeHead(out.status, { ...headers, 'content-length': String(out.body.length) });
      res.end(out.body);
    })().catch((error: Error) => {
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({ __type: 'com.amazonaws.dynamodb#InternalServerError', message: error.message }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    snapshot: () => structuredClone(counts),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
