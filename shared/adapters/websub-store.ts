import { createHash } from 'node:crypto';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { callbackHost, type HubSubscription, isLive } from '../domain/websub.js';
import {
  PARTITION_PREFIX,
  WEBSUB_FAILED_PARTITION,
  websubFailureKey,
  websubFeedPartition,
  websubHostKey,
  websubHostPartition,
  websubKey,
} from '../keys.js';
import { type Item, isConditionFailure, queryAll } from './items.js';

/** A delivery the hub gave up on. */
export interface FailedDelivery {
  at: string;
  topic: string;
  /** Without its query string, which may carry the reader's secret. */
  callback: string;
  attempts: number;
  reason: string;
}

const withoutQuery = (url: string): string => url.replace(/[?#].*$/s, '');

/** How long a failed delivery is kept for the operator. */
const FAILURE_KEPT_SECONDS = 30 * 86_400;

/** The hub's subscriptions in the table. Every read ignores lapsed leases: dynalite has no TTL, and DynamoDB's is late. */
export interface WebSubStore {
  get(topic: string, callback: string, nowSeconds: number): Promise<HubSubscription | undefined>;
  /**
   * Records a request waiting for its verification, unless a live subscription is there: an
   * active one stays active (and delivered to) until its renewal is verified.
   */
  putPending(sub: HubSubscription, nowSeconds: number): Promise<void>;
  /** Writes an active subscription (verified), in its feed's and its host's partitions. */
  activate(sub: HubSubscription): Promise<void>;
  /** Removes the subscription; with `onlyPending`, only while it still waits for verification. */
  remove(topic: string, callback: string, options?: { onlyPending?: boolean }): Promise<void>;
  /** Live subscriptions (pending ones included) of a feed and of a callback host: what the caps count. */
  countForFeed(topic: string, nowSeconds: number): Promise<number>;
  countForHost(host: string, nowSeconds: number): Promise<number>;
  /** The feed's active subscriptions: who a distribution goes to. */
  listActive(topic: string, nowSeconds: number): Promise<HubSubscription[]>;
  recordFailure(failure: FailedDelivery, nowSeconds: number): Promise<void>;
}

/** The sort key part of a callback: its URL can be longer than a sort key may be. */
export const callbackId = (callback: string): string =>
  createHash('sha256').update(callback).digest('base64url').slice(0, 32);

const toItem = (sub: HubSubscription): Item => ({
  ...websubKey(sub.topic, callbackId(sub.callback)),
  type: 'websub',
  ...sub,
});

export const subscriptionOf = (item: Item): HubSubscription | undefined => {
  const { topic, callback, state, leaseSeconds, secret, expiresAt, createdAt, verifiedAt } = item;
  if (
    typeof topic !== 'string' ||
    typeof callback !== 'string' ||
    (state !== 'pending' && state !== 'active') ||
    typeof leaseSeconds !== 'number' ||
    typeof expiresAt !== 'number' ||
    typeof createdAt !== 'string'
  )
    return undefined;
  return {
    topic,
    callback,
    state,
    leaseSeconds,
    expiresAt,
    createdAt,
    ...(typeof secret === 'string' ? { secret } : {}),
    ...(typeof verifiedAt === 'string' ? { verifiedAt } : {}),
  };
};

const hostItem = (sub: HubSubscription): Item => ({
  ...websubHostKey(callbackHost(sub.callback), sub.topic, callbackId(sub.callback)),
  type: 'websub-host',
  expiresAt: sub.expiresAt,
});

export const makeWebSubStore = (db: DynamoDBDocumentClient, tableName: string): WebSubStore => {
  const countLive = async (pk: string, nowSeconds: number): Promise<number> =>
    (
      await queryAll(db, {
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: { ':pk': pk, ':now': nowSeconds },
        Select: 'COUNT',
        ConsistentRead: true,
      })
    ).count;

  return {
    async get(topic, callback, nowSeconds) {
      const { Item } = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: websubKey(topic, callbackId(callback)),
          ConsistentRead: true,
        }),
      );
      const sub = Item && subscriptionOf(Item);
      return sub && isLive(sub, nowSeconds) ? sub : undefined;
    },

    async putPending(sub, nowSeconds) {
      try {
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: toItem(sub),
            ConditionExpression: 'attribute_not_exists(PK) OR expiresAt <= :now OR #state = :pending',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':now': nowSeconds, ':pending': 'pending' },
          }),
        );
      } catch (error) {
        // A live active subscription: kept as it is until the renewal is verified.
        if (isConditionFailure(error)) return;
        throw error;
      }
      await db.send(new PutCommand({ TableName: tableName, Item: hostItem(sub) }));
    },

    async activate(sub) {
      await db.send(
        new BatchWriteCommand({
          RequestItems: {
            [tableName]: [{ PutRequest: { Item: toItem(sub) } }, { PutRequest: { Item: hostItem(sub) } }],
          },
        }),
      );
    },

    async remove(topic, callback, options = {}) {
      const id = callbackId(callback);
      try {
        await db.send(
          new DeleteCommand({
            TableName: tableName,
            Key: websubKey(topic, id),
            ...(options.onlyPending
              ? {
                  ConditionExpression: '#state = :pending',
                  ExpressionAttributeNames: { '#state': 'state' },
                  ExpressionAttributeValues: { ':pending': 'pending' },
                }
              : {}),
          }),
        );
      } catch (error) {
        if (isConditionFailure(error)) return;
        throw error;
      }
      await db.send(
        new DeleteCommand({ TableName: tableName, Key: websubHostKey(callbackHost(callback), topic, id) }),
      );
    },

    countForFeed: (topic, nowSeconds) => countLive(websubFeedPartition(topic), nowSeconds),
    countForHost: (host, nowSeconds) => countLive(websubHostPartition(host), nowSeconds),

    async listActive(topic, nowSeconds) {
      const { items } = await queryAll(db, {
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        FilterExpression: 'expiresAt > :now AND #state = :active',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':pk': websubFeedPartition(topic),
          ':now': nowSeconds,
          ':active': 'active',
        },
      });
      return items.flatMap((item) => subscriptionOf(item) ?? []);
    },

    async recordFailure(failure, nowSeconds) {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...websubFailureKey(failure.at, failure.topic, callbackId(failure.callback)),
            type: 'websub-failure',
            ...failure,
            callback: withoutQuery(failure.callback),
            expiresAt: nowSeconds + FAILURE_KEPT_SECONDS,
          },
        }),
      );
    },
  };
};

/** A subscription as the operator sees it: never its secret, its callback without the query. */
export interface WebSubListing {
  topic: string;
  callback: string;
  state: 'pending' | 'active';
  expiresAt: string;
  signed: boolean;
  createdAt: string;
  verifiedAt?: string;
}

/**
 * Every live subscription and every failed delivery kept, for the operator (`tidings websub`):
 * one scan, with the operator's credentials or the local runtime's. No function scans.
 */
export const operatorWebSubView = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  nowSeconds: number,
): Promise<{ subscriptions: WebSubListing[]; failures: FailedDelivery[] }> => {
  const subscriptions: WebSubListing[] = [];
  const failures: FailedDelivery[] = [];
  let startKey: Item | undefined;
  do {
    const out = await db.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'begins_with(PK, :p) AND expiresAt > :now',
        ExpressionAttributeValues: { ':p': PARTITION_PREFIX.websub, ':now': nowSeconds },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of (out.Items ?? []) as Item[]) {
      if (item.PK === WEBSUB_FAILED_PARTITION) {
        failures.push({
          at: String(item.at),
          topic: String(item.topic),
          callback: withoutQuery(String(item.callback)),
          attempts: Number(item.attempts),
          reason: String(item.reason),
        });
        continue;
      }
      const sub = subscriptionOf(item);
      if (!sub) continue;
      subscriptions.push({
        topic: sub.topic,
        callback: withoutQuery(sub.callback),
        state: sub.state,
        expiresAt: new Date(sub.expiresAt * 1000).toISOString(),
        signed: sub.secret !== undefined,
        createdAt: sub.createdAt,
        ...(sub.verifiedAt ? { verifiedAt: sub.verifiedAt } : {}),
      });
    }
    startKey = out.LastEvaluatedKey as Item | undefined;
  } while (startKey);
  subscriptions.sort((a, b) => a.topic.localeCompare(b.topic) || a.callback.localeCompare(b.callback));
  failures.sort((a, b) => a.at.localeCompare(b.at));
  return { subscriptions, failures };
};
