/**
 * What both counting proxies in front of dynalite share (bench/counting-dynamo.ts for the cost
 * model, bench/stream-proxy.ts for the stream benchmark): reading a request, forwarding it,
 * peeking at an item uncounted, and naming the items a write touches.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { TABLE } from '../shared/keys.js';

/** An item or key in DynamoDB's JSON (`{"PK": {"S": "…"}}`). */
export type AttributeMap = Record<string, Record<string, unknown>>;

export type Headers = Record<string, string | string[] | undefined>;

export interface Forwarded {
  status: number;
  headers: Headers;
  body: Buffer;
}

export const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

export const keyOf = (item: AttributeMap): AttributeMap => ({
  [TABLE.partitionKey]: item[TABLE.partitionKey] as Record<string, unknown>,
  [TABLE.sortKey]: item[TABLE.sortKey] as Record<string, unknown>,
});

/** Sends requests on to dynalite at `target`, and reads an item there without counting it. */
export const dynamoForwarder = (target: string) => {
  const upstream = new URL(target);
  const forward = (path: string, headers: Headers, body: Buffer): Promise<Forwarded> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: 'POST',
          path,
          headers: { ...headers, host: upstream.host, 'content-length': String(body.length) },
        },
        (res) => {
          readBody(res).then(
            (answer) => resolve({ status: res.statusCode ?? 500, headers: res.headers, body: answer }),
            reject,
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  /** An uncounted, consistent read of one item, for the index arithmetic. */
  const peek = async (
    headers: Headers,
    table: string,
    key: AttributeMap,
  ): Promise<AttributeMap | undefined> => {
    const body = Buffer.from(JSON.stringify({ TableName: table, Key: key, ConsistentRead: true }));
    const out = await forward('/', { ...headers, 'x-amz-target': 'DynamoDB_20120810.GetItem' }, body);
    return (JSON.parse(out.body.toString()) as { Item?: AttributeMap }).Item;
  };

  return { forward, peek };
};

/** The table and key of every item a write touches. */
export const writeKeys = (operation: string, input: Record<string, unknown>): [string, AttributeMap][] => {
  if (operation === 'PutItem') return [[input.TableName as string, keyOf(input.Item as AttributeMap)]];
  if (operation === 'UpdateItem' || operation === 'DeleteItem')
    return [[input.TableName as string, input.Key as AttributeMap]];
  const keys: [string, AttributeMap][] = [];
  if (operation === 'TransactWriteItems') {
    for (const t of (input.TransactItems ?? []) as Record<string, Record<string, unknown>>[]) {
      const op = t.Put ?? t.Update ?? t.Delete;
      if (!op) continue;
      keys.push([op.TableName as string, t.Put ? keyOf(op.Item as AttributeMap) : (op.Key as AttributeMap)]);
    }
    return keys;
  }
  const requestItems = input.RequestItems as Record<
    string,
    { PutRequest?: { Item: AttributeMap }; DeleteRequest?: { Key: AttributeMap } }[]
  >;
  for (const [table, requests] of Object.entries(requestItems)) {
    for (const r of requests) {
      keys.push([table, r.PutRequest ? keyOf(r.PutRequest.Item) : (r.DeleteRequest?.Key as AttributeMap)]);
    }
  }
  return keys;
};
