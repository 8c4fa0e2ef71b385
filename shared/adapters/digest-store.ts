import {
  type AttributeValue,
  DeleteItemCommand,
  type DeleteItemCommandOutput,
  GetItemCommand,
  type GetItemCommandOutput,
  PutItemCommand,
  type PutItemCommandInput,
  type PutItemCommandOutput,
  UpdateItemCommand,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DigestChange } from '../domain/digest.js';
import type { NewsEvent } from '../domain/event.js';
import type { DigestCadence, Subscriber } from '../domain/subscription.js';
import {
  CHANGE_LOG_SHARDS,
  changeLogPartition,
  DIGEST_DEFAULT_BUCKET_FROM,
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
import { batchGetAll, type Item, isConditionFailure } from './items.js';
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

/** What the digest job reads and writes: subscribers by cadence, event changes by window, the ledger. */
export interface DigestStore {
  /**
   * One page of the ids of confirmed subscribers of a cadence on one shard (a query, never a
   * scan): all of them, or those of one delivery bucket (`digestBucket`; '' is the default one).
   */
  listSubscriberIds(
    cadence: DigestCadence,
    shard: number,
    limit: number,
    startKey?: string,
    bucket?: string,
  ): Promise<{ ids: string[]; next?: string }>;
  /** Subscribers and their suppression, read strongly consistent. */
  getRecipients(ids: readonly string[]): Promise<Map<string, DigestRecipient>>;
  /**
   * The events changed in `(after, upTo]`, each once at its latest change, as they are now
   * (deleted events left out), oldest change first: read from the change log, then the events.
   */
  windowChanges(after: string, upTo: string): Promise<DigestChange[]>;
  /**
   * Claims the digest of (subscriber, cadence, window start). Succeeds if nobody has, or if an
   * earlier claim was never sent and is older than `staleBefore` (its run died before sending).
   * Otherwise says whether that claim was sent (and where its window ended) or is still held.
   */
  claimDigest(claim: DigestClaim): Promise<ClaimOutcome>;
  /** Gives an unsent claim up after a failed send, so a retry can claim it at once. */
  releaseDigest(claim: DigestClaim): Promise<void>;
  /**
   * Marks a claim sent once the mail service has accepted its message, if it is still this claim
   * (its id). A sent claim is never taken over. False when another run took it over meanwhile.
   */
  markDigestSent(claim: DigestClaim, sent: { messageId: string; sentAt: string }): Promise<boolean>;
  /**
   * Moves subscribers' cursors to where their next digests start (recording the digest just sent,
   * if one was), each only forward: a move to a cursor at or before the stored one changes nothing.
   * Once a cursor has moved past a window, that window is never due again.
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
  cadence: DigestCadence;
  windowStart: string;
  windowEnd: string;
  claimId: string;
  claimedAt: string;
  staleBefore: string;
}

/**
 * What claiming found: the window is this run's to send; another run holds it (within its lease,
 * not sent yet); or it was sent, by a run that may have died before moving the cursor.
 */
export type ClaimOutcome = { kind: 'claimed' } | { kind: 'held' } | { kind: 'sent'; windowEnd: string };

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

/**
 * What the per-digest ledger and cursor writes need of a client: a `DynamoDBClient` fits, and so
 * does the document client.
 */
export interface LedgerClient {
  send(command: PutItemCommand): Promise<PutItemCommandOutput>;
  send(command: UpdateItemCommand): Promise<UpdateItemCommandOutput>;
  send(command: GetItemCommand): Promise<GetItemCommandOutput>;
  send(command: DeleteItemCommand): Promise<DeleteItemCommandOutput>;
}

/** Conditional cursor writes in flight at once per `recordCursors` call (BatchWriteItem takes no conditions). */
const CURSOR_WRITES_AT_ONCE = 8;

/** Runs a conditional write; false when its condition did not hold. */
const conditionally = async (write: Promise<unknown>): Promise<boolean> => {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
};

const CLAIMED: ClaimOutcome = { kind: 'claimed' };
const HELD: ClaimOutcome = { kind: 'held' };

/**
 * The digest store over `db`. `claims`, when given, is the client the per-digest ledger and cursor
 * writes go through (`createLowLevelClient`: they are the requests each email costs); otherwise
 * they go through `db` as well.
 */
export const makeDigestStore = (
  db: DynamoDBDocumentClient,
  tableName: string,
  claims: LedgerClient = db,
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
  // The per-email requests are low-level, their items already in DynamoDB's form, which skips
  // the document client's translation passes over input and output.
  const ledger = (claim: Pick<DigestClaim, 'subscriberId' | 'cadence' | 'windowStart'>) => {
    const key = ledgerKey(claim.subscriberId, claim.cadence, claim.windowStart);
    return { PK: { S: key.PK }, SK: { S: key.SK } };
  };
  const moveCursor = async (move: CursorMove): Promise<void> => {
    const key = digestCursorKey(move.subscriberId);
    const values: Record<string, AttributeValue> = {
      ':type': { S: 'digestCursor' },
      ':cursor': { S: move.cursor },
    };
    if (move.sent) {
      const { windowStart, windowEnd, messageId, events, sentAt } = move.sent;
      values[':last'] = {
        M: {
          windowStart: { S: windowStart },
          windowEnd: { S: windowEnd },
          messageId: { S: messageId },
          events: { N: String(events) },
          sentAt: { S: sentAt },
        },
      };
    }
    // Only forward: a run that read an older cursor (an overlapping run, a late retry) must not
    // move it back, or the window between would be due, and sent, again. A failed condition
    // means the cursor is already at or past this move: nothing to do.
    await conditionally(
      claims.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { PK: { S: key.PK }, SK: { S: key.SK } },
          UpdateExpression: `SET #type = :type, #cursor = :cursor${move.sent ? ', lastDigest = :last' : ''}`,
          ConditionExpression: 'attribute_not_exists(#cursor) OR #cursor < :cursor',
          ExpressionAttributeNames: { '#type': 'type', '#cursor': 'cursor' },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  };

  return {
    async listSubscriberIds(cadence, shard, limit, startKey, bucket) {
      // A chosen bucket is a prefix of the sort key; the default one is the bare ids, which sort after it.
      const range =
        bucket === undefined
          ? { condition: '', values: {} }
          : bucket === ''
            ? { condition: ' AND #sk >= :from', values: { ':from': DIGEST_DEFAULT_BUCKET_FROM } }
            : { condition: ' AND begins_with(#sk, :bucket)', values: { ':bucket': bucket } };
      const out = await db.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.name,
          KeyConditionExpression: `#pk = :pk${range.condition}`,
          ExpressionAttributeNames: {
            '#pk': index.partitionKey,
            ...(range.condition ? { '#sk': index.sortKey } : {}),
          },
          ExpressionAttributeValues: { ':pk': digestPartition(cadence, shard), ...range.values },
          ExclusiveStartKey: decodeKey(startKey),
          Limit: limit,
        }),
      );
      // Keys only: the index's sort key ends with the subscriber's id (after its bucket, if any).
      const ids = (out.Items ?? []).flatMap((item) => {
        const key = item[index.sortKey];
        return typeof key === 'string' ? [key.slice(key.lastIndexOf('#') + 1)] : [];
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
      const changes: DigestChange[] = [];
      for (const [id, changedAt] of latest) {
        const event = events.get(id);
        if (event && !('deleted' in event)) changes.push({ event: event as NewsEvent, changedAt });
      }
      return changes.sort((a, b) => a.changedAt.localeCompare(b.changedAt));
    },

    async claimDigest(claim) {
      // One conditional write per digest, the job's most frequent request.
      const key = ledger(claim);
      const item: Record<string, AttributeValue> = {
        ...key,
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
      // A claim released or taken over between two of these steps is looked at again.
      for (let pass = 0; pass < 3; pass++) {
        // Nearly always the window is unclaimed: the simplest condition first.
        if (await conditionally(put({ ConditionExpression: 'attribute_not_exists(PK)' }))) return CLAIMED;
        // The rare path (a redelivery, an overlapping run, a dead run): whose claim, and was it sent?
        const found = (
          await claims.send(
            new GetItemCommand({
              TableName: tableName,
              Key: key,
              ConsistentRead: true,
              ProjectionExpression: 'claimId, claimedAt, sentAt, windowEnd',
            }),
          )
        ).Item;
        if (!found) continue;
        const windowEnd = found.windowEnd?.S;
        if (found.sentAt && windowEnd) return { kind: 'sent', windowEnd };
        const seen = found.claimId;
        const claimedAt = found.claimedAt?.S;
        if (!seen || claimedAt === undefined || claimedAt >= claim.staleBefore) return HELD;
        // Stale and never sent: its run died before sending. Take over exactly that claim, and
        // only while it is still unsent (its run may have been slow rather than dead).
        const takenOver = await conditionally(
          put({
            ConditionExpression: 'claimId = :seen AND attribute_not_exists(sentAt)',
            ExpressionAttributeValues: { ':seen': seen },
          }),
        );
        if (takenOver) return CLAIMED;
      }
      return HELD;
    },

    async releaseDigest(claim) {
      await conditionally(
        claims.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: ledger(claim),
            ConditionExpression: 'claimId = :claimId AND attribute_not_exists(sentAt)',
            ExpressionAttributeValues: { ':claimId': { S: claim.claimId } },
          }),
        ),
      );
    },

    async markDigestSent(claim, sent) {
      return conditionally(
        claims.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: ledger(claim),
            UpdateExpression: 'SET #status = :sent, sentAt = :sentAt, messageId = :messageId',
            // Only this run's claim: one taken over (this send outlived the lease) is not ours to mark.
            ConditionExpression: 'claimId = :claimId',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':sent': { S: 'sent' },
              ':sentAt': { S: sent.sentAt },
              ':messageId': { S: sent.messageId },
              ':claimId': { S: claim.claimId },
            },
          }),
        ),
      );
    },

    async recordCursors(moves) {
      const pending = [...moves];
      const writer = async () => {
        for (let move = pending.shift(); move; move = pending.shift()) await moveCursor(move);
      };
      await Promise.all(Array.from({ length: Math.min(CURSOR_WRITES_AT_ONCE, pending.length) }, writer));
    },
  };
};
