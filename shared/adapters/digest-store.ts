import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { TopicChange } from '../domain/digest.js';
import type { NewsEvent } from '../domain/event.js';
import { CADENCES, type Cadence, type Subscriber, type TopicRef } from '../domain/subscription.js';
import {
  digestPartition,
  ledgerKey,
  subscriberKey,
  suppressionKey,
  TABLE,
  tagChangesPartition,
} from '../keys.js';
import { fromEventItem } from './event-store.js';

type Item = Record<string, unknown>;

/** A subscriber as the digest job sees it: the record, and whether the address is suppressed. */
export interface DigestRecipient {
  subscriber: Subscriber;
  suppressed: boolean;
}

export type LedgerStatus = 'claimed' | 'sent';

export interface LedgerEntry {
  status: LedgerStatus;
  claimId: string;
  claimedAt: string;
  windowEnd: string;
}

/** What the digest job reads and writes: subscribers by cadence, topic changes by window, the ledger. */
export interface DigestStore {
  /** One page of the ids of confirmed subscribers of a cadence on one shard (a query, never a scan). */
  listSubscriberIds(
    cadence: Cadence,
    shard: number,
    limit: number,
    startKey?: string,
  ): Promise<{ ids: string[]; next?: string }>;
  /** Subscribers and their suppression, read strongly consistent. */
  getRecipients(ids: readonly string[]): Promise<Map<string, DigestRecipient>>;
  /** A topic's events that changed in `(after, upTo]`, oldest change first. */
  topicChanges(slug: string, after: string, upTo: string): Promise<TopicChange[]>;
  /**
   * Claims the digest of (subscriber, cadence, window start): succeeds if nobody has, or if an
   * earlier claim was never completed and is older than `staleBefore` (its run crashed).
   */
  claimDigest(claim: DigestClaim): Promise<boolean>;
  getLedger(subscriberId: string, cadence: Cadence, windowStart: string): Promise<LedgerEntry | undefined>;
  /** Records that the claimed digest went out. */
  completeDigest(claim: DigestClaim, messageId: string, events: number, sentAt: string): Promise<void>;
  /** Gives a claim up after a failed send, so a retry can claim it at once. */
  releaseDigest(claim: DigestClaim): Promise<void>;
  /** Moves a subscriber's cursor from `from` to `to`; false if it had moved already. */
  advanceCursor(subscriberId: string, from: string, to: string): Promise<boolean>;
}

export interface DigestClaim {
  subscriberId: string;
  cadence: Cadence;
  windowStart: string;
  windowEnd: string;
  claimId: string;
  claimedAt: string;
  staleBefore: string;
}

const BATCH_GET_MAX = 100;
/** Ledger items outlive any retry and any cursor question by far, then expire (TTL). */
const LEDGER_TTL_SECONDS = 180 * 24 * 60 * 60;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isConditionFailure = (error: unknown): boolean => error instanceof ConditionalCheckFailedException;

const topicsOf = (value: unknown): TopicRef[] =>
  Array.isArray(value)
    ? value.flatMap((t) =>
        t && typeof t === 'object' && typeof t.slug === 'string' && typeof t.name === 'string'
          ? [{ slug: t.slug, name: t.name }]
          : [],
      )
    : [];

const optional = (item: Item, name: string): string | undefined =>
  typeof item[name] === 'string' ? (item[name] as string) : undefined;

/** Reads a subscriber item defensively: a malformed one is treated as not subscribed. */
export const subscriberFromItem = (item: Item): Subscriber | undefined => {
  const { id, email, cadence, status, createdAt } = item;
  if (typeof id !== 'string' || typeof email !== 'string' || typeof createdAt !== 'string') return undefined;
  if (!CADENCES.includes(cadence as Cadence)) return undefined;
  if (status !== 'pending' && status !== 'confirmed' && status !== 'unsubscribed') return undefined;
  const confirmedAt = optional(item, 'confirmedAt');
  const cursor = optional(item, 'cursor');
  return {
    id,
    email,
    topics: topicsOf(item.topics),
    cadence: cadence as Cadence,
    status,
    createdAt,
    ...(confirmedAt !== undefined ? { confirmedAt } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
    tokenVersion: typeof item.tokenVersion === 'number' ? item.tokenVersion : 0,
  };
};

const encodeKey = (key: Item | undefined): string | undefined =>
  key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
const decodeKey = (key: string | undefined): Item | undefined =>
  key ? (JSON.parse(Buffer.from(key, 'base64url').toString('utf8')) as Item) : undefined;

export const makeDigestStore = (db: DynamoDBDocumentClient, tableName: string): DigestStore => {
  const index = TABLE.changeIndex;
  const ledger = (claim: Pick<DigestClaim, 'subscriberId' | 'cadence' | 'windowStart'>) =>
    ledgerKey(claim.subscriberId, claim.cadence, claim.windowStart);

  return {
    async listSubscriberIds(cadence, shard, limit, startKey) {
      const out = await db.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': index.partitionKey },
          ExpressionAttributeValues: { ':pk': digestPartition(cadence, shard) },
          ExclusiveStartKey: decodeKey(startKey),
          Limit: limit,
        }),
      );
      const ids = (out.Items ?? []).flatMap((item) => (typeof item.id === 'string' ? [item.id] : []));
      const next = encodeKey(out.LastEvaluatedKey);
      return next ? { ids, next } : { ids };
    },

    async getRecipients(ids) {
      const subscribers = new Map<string, Subscriber>();
      const suppressed = new Set<string>();
      const keys: Item[] = [...new Set(ids)].flatMap((id) => [
        { ...subscriberKey(id) },
        { ...suppressionKey(id) },
      ]);
      for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
        let pending: Item[] | undefined = keys.slice(i, i + BATCH_GET_MAX);
        for (let attempt = 0; pending && pending.length > 0; attempt++) {
          if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
          const out = await db.send(
            new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
          );
          for (const item of out.Responses?.[tableName] ?? []) {
            if (item.SK === suppressionKey('').SK) {
              suppressed.add(String(item.PK).slice('SUBSCRIBER#'.length));
              continue;
            }
            const subscriber = subscriberFromItem(item);
            if (subscriber) subscribers.set(subscriber.id, subscriber);
          }
          pending = out.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined;
        }
      }
      return new Map(
        [...subscribers].map(([id, subscriber]) => [id, { subscriber, suppressed: suppressed.has(id) }]),
      );
    },

    async topicChanges(slug, after, upTo) {
      const changes: TopicChange[] = [];
      let startKey: Item | undefined;
      do {
        const out = await db.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: index.name,
            // Sort keys are `<changedAt>#<id>`; U+FFFF sorts after any id, so the range is (after, upTo].
            KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :lo AND :hi',
            ExpressionAttributeNames: { '#pk': index.partitionKey, '#sk': index.sortKey },
            ExpressionAttributeValues: {
              ':pk': tagChangesPartition(slug),
              ':lo': `${after}#\uffff`,
              ':hi': `${upTo}#\uffff`,
            },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of out.Items ?? []) {
          const event = fromEventItem(item);
          if ('deleted' in event) continue;
          const sortKey = String(item[index.sortKey]);
          changes.push({ event: event as NewsEvent, changedAt: sortKey.slice(0, sortKey.indexOf('#')) });
        }
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return changes;
    },

    async claimDigest(claim) {
      try {
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...ledger(claim),
              type: 'digest',
              status: 'claimed' satisfies LedgerStatus,
              claimId: claim.claimId,
              claimedAt: claim.claimedAt,
              windowEnd: claim.windowEnd,
              [TABLE.ttlAttribute]: Math.floor(Date.parse(claim.claimedAt) / 1000) + LEDGER_TTL_SECONDS,
            },
            ConditionExpression:
              'attribute_not_exists(PK) OR (#status = :claimed AND claimedAt < :staleBefore)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':claimed': 'claimed', ':staleBefore': claim.staleBefore },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async getLedger(subscriberId, cadence, windowStart) {
      const out = await db.send(
        new GetCommand({
          TableName: tableName,
          Key: ledgerKey(subscriberId, cadence, windowStart),
          ConsistentRead: true,
        }),
      );
      const item = out.Item;
      if (!item) return undefined;
      return {
        status: item.status as LedgerStatus,
        claimId: String(item.claimId),
        claimedAt: String(item.claimedAt),
        windowEnd: String(item.windowEnd),
      };
    },

    async completeDigest(claim, messageId, events, sentAt) {
      await db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: ledger(claim),
          UpdateExpression: 'SET #status = :sent, messageId = :messageId, events = :events, sentAt = :sentAt',
          ConditionExpression: 'claimId = :claimId',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':sent': 'sent',
            ':messageId': messageId,
            ':events': events,
            ':sentAt': sentAt,
            ':claimId': claim.claimId,
          },
        }),
      );
    },

    async releaseDigest(claim) {
      try {
        await db.send(
          new DeleteCommand({
            TableName: tableName,
            Key: ledger(claim),
            ConditionExpression: 'claimId = :claimId AND #status = :claimed',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':claimId': claim.claimId, ':claimed': 'claimed' },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },

    async advanceCursor(subscriberId, from, to) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: subscriberKey(subscriberId),
            UpdateExpression: 'SET #cursor = :to',
            ConditionExpression: '#cursor = :from OR (attribute_not_exists(#cursor) AND confirmedAt = :from)',
            ExpressionAttributeNames: { '#cursor': 'cursor' },
            ExpressionAttributeValues: { ':from': from, ':to': to },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
  };
};
