import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';

/** A DynamoDB item as the document client gives it. */
export type Item = Record<string, unknown>;

/** BatchGetItem takes up to 100 keys, BatchWriteItem up to 25 requests. */
export const BATCH_GET_MAX = 100;
export const BATCH_WRITE_MAX = 25;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConditionalCheckFailedException;

/** A required string attribute; a stored item without it is corrupt. */
export const str = (item: Item, key: string): string => {
  const value = item[key];
  if (typeof value !== 'string') throw new TypeError(`stored item ${String(item.PK)} has no string ${key}`);
  return value;
};
export const optStr = (item: Item, key: string): string | undefined =>
  typeof item[key] === 'string' ? (item[key] as string) : undefined;
export const num = (item: Item, key: string): number => {
  const value = item[key];
  if (typeof value !== 'number') throw new TypeError(`stored item ${String(item.PK)} has no number ${key}`);
  return value;
};

/** Reads any number of keys, 100 per request, retrying unprocessed keys with backoff. */
export const batchGetAll = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Item[],
  consistent: boolean,
): Promise<Item[]> => {
  const found: Item[] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
    let pending: Item[] | undefined = keys.slice(i, i + BATCH_GET_MAX);
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
      const out = await db.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: consistent } } }),
      );
      found.push(...(out.Responses?.[tableName] ?? []));
      pending = out.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined;
    }
  }
  return found;
};

export type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Item } };

/**
 * Any number of unconditional writes, 25 per request, retrying unprocessed ones with backoff. One
 * request may not name a key twice: callers write each key once.
 */
export const batchWriteAll = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  requests: readonly WriteRequest[],
): Promise<void> => {
  for (let i = 0; i < requests.length; i += BATCH_WRITE_MAX) {
    let pending = requests.slice(i, i + BATCH_WRITE_MAX);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: [...pending] } }));
      pending = (out.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
    }
  }
};

/** Puts any number of items, 25 per request, retrying unprocessed ones with backoff. */
export const batchPutAll = (db: DynamoDBDocumentClient, tableName: string, items: readonly Item[]) =>
  batchWriteAll(
    db,
    tableName,
    items.map((Item) => ({ PutRequest: { Item } })),
  );

/** Deletes any number of items by key, 25 per request, retrying unprocessed ones with backoff. */
export const batchDeleteAll = (db: DynamoDBDocumentClient, tableName: string, keys: readonly Item[]) =>
  batchWriteAll(
    db,
    tableName,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
  );

/**
 * Every page of one query, in order: the items (none under `Select: 'COUNT'`) and how many matched.
 * For partitions read whole; a listing that pages for its caller keeps its own cursor instead.
 */
export const queryAll = async (
  db: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<{ items: Item[]; count: number }> => {
  const items: Item[] = [];
  let count = 0;
  let startKey: Item | undefined;
  do {
    const out = await db.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...((out.Items ?? []) as Item[]));
    count += out.Count ?? 0;
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return { items, count };
};
