/**
 * The stream benchmark's proxy in front of dynalite: like bench/counting-dynamo.ts (every request
 * passes, `ReturnConsumedCapacity: TOTAL` added, answers passed back untouched), and in addition
 * books every write's units by item kind and by partition key value, table and index, in a Ledger
 * (bench/stream-accounting.ts). The table's units are what dynalite reports; a batch's reported
 * total is shared among its items in proportion to their sizes. Index units are computed from the
 * item before and after the write, read straight from dynalite (uncounted). Two writes racing on
 * one item may each see the other's image: the table's units stay as reported, an index's may be
 * booked on the wrong write of the two (the sum over a run is what the figures use).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TABLE } from '../shared/keys.js';
import { type AttributeMap, dynamoForwarder, keyOf, readBody, writeKeys } from './dynamo-forwarder.js';
import { kindOf, type Landing, Ledger, landings } from './stream-accounting.js';

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const COUNTED = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', ...WRITES]);

export interface StreamProxy {
  endpoint: string;
  /** Books writes from now on into a fresh ledger, and returns it. */
  startLedger(): Ledger;
  /** Requests by operation and read units since the last startLedger. */
  requests(): { byOperation: Record<string, number>; readUnits: number };
  close(): Promise<void>;
}

const pkOf = (key: AttributeMap): string => {
  const v = key[TABLE.partitionKey];
  return String(v?.S ?? v?.N ?? '');
};

/** Items a batch write left unprocessed (not written, not charged). */
const unprocessed = (answer: Record<string, unknown>): Set<string> => {
  const left = new Set<string>();
  const items = (answer.UnprocessedItems ?? {}) as Record<
    string,
    { PutRequest?: { Item: AttributeMap }; DeleteRequest?: { Key: AttributeMap } }[]
  >;
  for (const [table, requests] of Object.entries(items)) {
    for (const r of requests) {
      const key = r.PutRequest ? keyOf(r.PutRequest.Item) : (r.DeleteRequest?.Key as AttributeMap);
      left.add(`${table}\n${JSON.stringify(key)}`);
    }
  }
  return left;
};

const reportedUnits = (answer: Record<string, unknown>): number => {
  const consumed = answer.ConsumedCapacity;
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return (list as { CapacityUnits?: number }[]).reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
};

export const startStreamProxy = async (target: string): Promise<StreamProxy> => {
  let ledger = new Ledger();
  let byOperation: Record<string, number> = {};
  let readUnits = 0;

  const { forward, peek } = dynamoForwarder(target);

  const server: Server = createServer((req, res) => {
    (async () => {
      const body = await readBody(req);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
      const book = ledger;
      byOperation[operation] = (byOperation[operation] ?? 0) + 1;
      let input: Record<string, unknown> = {};
      try {
        input = JSON.parse(body.toString() || '{}') as Record<string, unknown>;
      } catch {
        // Not JSON: forwarded as it came.
      }
      const counted = COUNTED.has(operation);
      const sent =
        counted && input.ReturnConsumedCapacity === undefined
          ? Buffer.from(JSON.stringify({ ...input, ReturnConsumedCapacity: 'TOTAL' }))
          : body;
      const write = WRITES.has(operation);
      const keys = write ? writeKeys(operation, input) : [];
      const before = await Promise.all(keys.map(([table, key]) => peek(req.headers, table, key)));
      const out = await forward(req.url ?? '/', req.headers, sent);
      const answer = counted ? (JSON.parse(out.body.toString() || '{}') as Record<string, unknown>) : {};
      if (counted && !write && out.status === 200) {
        let units = reportedUnits(answer);
        // A query that finds nothing still costs DynamoDB's minimum read (dynalite reports 0).
        if ((operation === 'Query' || operation === 'Scan') && units === 0)
          units = input.ConsistentRead ? 1 : 0.5;
        readUnits += units;
      }
      if (write && out.status === 200) {
        const left = unprocessed(answer);
        const done = keys.map(([table, key], i) => ({ table, key, before: before[i] }));
        const written = done.filter((d) => !left.has(`${d.table}\n${JSON.stringify(d.key)}`));
        const after = await Promise.all(written.map((d) => peek(req.headers, d.table, d.key)));
        const computed: Landing[][] = written.map((d, i) => landings(d.before, after[i]));
        const tableShare = (l: Landing[]) => l.find((x) => x.on === 'table')?.units ?? 0;
        const computedTotal = computed.reduce((sum, l) => sum + tableShare(l), 0);
        const reported = reportedUnits(answer);
        // The table's units are the store's own report; a batch's total is shared by item size.
        const scale = computedTotal > 0 && reported > 0 ? reported / computedTotal : 1;
        written.forEach((d, i) => {
          const itemLandings = (computed[i] as Landing[]).map((l) =>
            l.on === 'table' ? { ...l, units: l.units * scale } : l,
          );
          book.add(kindOf(pkOf(d.key)), itemLandings);
        });
      } else if (write && String(answer.__type ?? '').endsWith('ConditionalCheckFailedException')) {
        // A write refused by its condition is charged one unit on the table.
        const [, key] = keys[0] ?? [];
        if (key) book.add(kindOf(pkOf(key)), [{ on: 'table', partition: pkOf(key), units: 1 }]);
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
    startLedger() {
      ledger = new Ledger();
      byOperation = {};
      readUnits = 0;
      return ledger;
    },
    requests: () => ({ byOperation: { ...byOperation }, readUnits }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
