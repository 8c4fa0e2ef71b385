import {
  type AttributeValue,
  PutItemCommand,
  type PutItemCommandInput,
  type PutItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { TopicChange } from '../domain/digest.js';
import type { NewsEvent } from '../domain/event.js';
import type { Cadence, Subscriber } from '../domain/subscription.js';
import {
  CHANGE_LOG_SHARDS,
  changeLogPartition,
  digestCursorKey,
  digestPartition,
  eventKey,
  ledgerKey,
  subscriberKey,
  suppressionKey,
  TABLE,
} from '../keys.js';
import { logger } from '../logger.js';
import { fromEventItem } from './event-store.js';
import { batchGetAll, batchPutAll, type Item, isConditionFailure } from './items.js';
import { fromSubscriberItem } from './subscription-store.js';

/** A subscriber as the digest job sees it: the record, and whether the address is suppressed. */
export interface DigestRecipient {
  subscriber: Subscriber;
  suppressed: boolean;
}

/** What the subscriber item records of the last digest sent (for operators and support). */
export interface LastDigest {
  windowStart: string;
  windowEnd: string;
  messageId: string;
  events: number;
  sentAt: string;
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
  /**
   * The events changed in `(after, upTo]`, each once at its latest change, as they are now
   * (deleted events left out), oldest change first: read from the change log, then the events.
   */
  windowChanges(after: string, upTo: string): Promise<TopicChange[]>;
  /**
   * Claims the digest of (subscriber, cadence, window start): succeeds if nobody has, or if an
   * earlier claim was never completed and is older than `staleBefore` (its run crashed).
   */
  claimDigest(claim: DigestClaim): Promise<boolean>;
  /** Gives a claim up after a failed send, so a retry can claim it at once. */
  releaseDigest(claim: DigestClaim): Promise<void>;
  /**
   * Records where subscribers' next digests start (and the digest just sent, if one was), in
   * batches. Once a cursor has moved past a window, that window is never due again.
   */
  recordCursors(moves: readonly CursorMove[]): Promise<void>;
}

export interface CursorMove {
  subscriberId: string;
  cursor: string;
  sent?: LastDigest;
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

const DAY_MS = 24 * 60 * 60 * 1000;
/** Ledger items outlive any retry and any cursor question by far, then expire (TTL). */
const LEDGER_TTL_SECONDS = 180 * 24 * 60 * 60;

/** Reads a subscriber item; a malformed one counts as not subscribed (and is logged). */
const subscriberOf = (item: Item): Subscriber | undefined => {
  try {
    return fromSubscriberItem(item);
  } catch (error) {
    logger.warn('unreadable subscriber item skipped', { key: String(item.PK), error: error as Error });
    return undefined;
  }
};

const encodeKey = (key: Item | undefined): string | undefined =>
  key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
const decodeKey = (key: string | undefined): Item | undefined =>
  key ? (JSON.parse(Buffer.from(key, 'base64url').toString('utf8')) as Item) : undefined;

/** What the ledger claims need of a client: a `DynamoDBClient` fits, and so does the document client. */
export interface ClaimClient {
  send(command: PutItemCommand): Promise<PutItemCommandOutput>;
}

/**
 * The digest store over `db`. `claims`, when given, is the client the per-digest ledger claims go
 * through (`createLowLevelClient`: the claim is the one request each email costs); otherwise
 * they go through `db` as well.
 */
export const makeDigestStore = (
  db: DynamoDBDocumentClient,
  tableName: string,
  claims: ClaimClient = db,
): DigestStore => {
  const index = TABLE.digestIndex;
  const batchGet = (keys: Item[], consistent: boolean) => batchGetAll(db, tableName, keys, consistent);
  const readEvents = async (ids: string[]) => {
    const items = await batchGet(
      ids.map((id) => ({ ...eventKey(id) })),
      true,
    );
    return new Map(items.map((item) => [String(item.id), fromEventItem(item)]));
  };
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
      // Keys only: the subscriber's id is the index's sort key.
      const ids = (out.Items ?? []).flatMap((item) => {
        const id = item[index.sortKey];
        return typeof id === 'string' ? [id] : [];
      });
      const next = encodeKey(out.LastEvaluatedKey);
      return next ? { ids, next } : { ids };
    },

    async getRecipients(ids) {
      const subscribers = new Map<string, Subscriber>();
      const suppressed = new Set<string>();
      const cursors = new Map<string, string>();
      const keys: Item[] = [...new Set(ids)].flatMap((id) => [
        { ...subscriberKey(id) },
        { ...suppressionKey(id) },
        { ...digestCursorKey(id) },
      ]);
      for (const item of await batchGet(keys, true)) {
        const id = String(item.PK).slice('SUBSCRIBER#'.length);
        if (item.SK === suppressionKey('').SK) suppressed.add(id);
        else if (item.SK === digestCursorKey('').SK) {
          if (typeof item.cursor === 'string') cursors.set(id, item.cursor);
        } else {
          const subscriber = subscriberOf(item);
          if (subscriber) subscribers.set(subscriber.id, subscriber);
        }
      }
      return new Map(
        [...subscribers].map(([id, subscriber]) => {
          // The job's own cursor once it has sent (or passed) a digest; the first confirmation's before.
          const cursor = cursors.get(id) ?? subscriber.cursor;
          const current = cursor ? { ...subscriber, cursor } : subscriber;
          return [id, { subscriber: current, suppressed: suppressed.has(id) }];
        }),
      );
    },

    async windowChanges(after, upTo) {
      // Every day partition the window touches, on every shard: a handful of queries a day.
      const latest = new Map<string, string>();
      const days: string[] = [];
      for (
        let day = Date.parse(`${after.slice(0, 10)}T00:00:00.000Z`);
        day <= Date.parse(upTo);
        day += DAY_MS
      ) {
        days.push(new Date(day).toISOString().slice(0, 10));
      }
      const queries = days.flatMap((day) =>
        Array.from({ length: CHANGE_LOG_SHARDS }, (_, shard) => changeLogPartition(day, shard)),
      );
      await Promise.all(
        queries.map(async (partition) => {
          let startKey: Item | undefined;
          do {
            const out = await db.send(
              new QueryCommand({
                TableName: tableName,
                // Sort keys are `<changedAt>#<id>`; U+FFFF sorts after any id, so the range is (after, upTo].
                KeyConditionExpression: 'PK = :pk AND SK BETWEEN :lo AND :hi',
                ExpressionAttributeValues: {
                  ':pk': partition,
                  ':lo': `${after}#\uffff`,
                  ':hi': `${upTo}#\uffff`,
                },
                ProjectionExpression: 'id, changedAt',
                ExclusiveStartKey: startKey,
              }),
            );
            for (const item of out.Items ?? []) {
              const { id, changedAt } = item;
              if (typeof id !== 'string' || typeof changedAt !== 'string') continue;
              const known = latest.get(id);
              if (known === undefined || changedAt > known) latest.set(id, changedAt);
            }
            startKey = out.LastEvaluatedKey;
          } while (startKey);
        }),
      );
      // The events as they are now: corrections show their latest text and tags; deleted ones drop out.
      const events = await readEvents([...latest.keys()]);
      const changes: TopicChange[] = [];
      for (const [id, changedAt] of latest) {
        const event = events.get(id);
        if (event && !('deleted' in event)) changes.push({ event: event as NewsEvent, changedAt });
      }
      return changes.sort((a, b) => a.changedAt.localeCompare(b.changedAt));
    },

    async claimDigest(claim) {
      // One conditional write per digest sent, the job's most frequent request: written as a
      // low-level PutItem with the item already in DynamoDB's form, which skips the document
      // client's translation passes over input and output.
      const key = ledger(claim);
      const item: Record<string, AttributeValue> = {
        PK: { S: key.PK },
        SK: { S: key.SK },
        type: { S: 'digest' },
        status: { S: 'claimed' },
        claimId: { S: claim.claimId },
        claimedAt: { S: claim.claimedAt },
        windowEnd: { S: claim.windowEnd },
        [TABLE.ttlAttribute]: {
          N: String(Math.floor(Date.parse(claim.claimedAt) / 1000) + LEDGER_TTL_SECONDS),
        },
      };
      const put = (
        condition: Pick<
          PutItemCommandInput,
          'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
        >,
      ) => claims.send(new PutItemCommand({ TableName: tableName, Item: item, ...condition }));
      try {
        // Nearly always the window is unclaimed: the simplest condition first.
        await put({ ConditionExpression: 'attribute_not_exists(PK)' });
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      try {
        // Claimed before: take it over only if that claim is stale (its run died before sending).
        await put({
          ConditionExpression: '#status = :claimed AND claimedAt < :staleBefore',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':claimed': { S: 'claimed' },
            ':staleBefore': { S: claim.staleBefore },
          },
        });
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
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

    async recordCursors(moves) {
      await batchPutAll(
        db,
        tableName,
        moves.map((move) => ({
          ...digestCursorKey(move.subscriberId),
          type: 'digestCursor',
          cursor: move.cursor,
          ...(move.sent ? { lastDigest: move.sent } : {}),
        })),
      );
    },
  };
};
