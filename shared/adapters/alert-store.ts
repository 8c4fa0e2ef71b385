import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  type AlertState,
  type EventAlertRecord,
  type FollowRef,
  type SentRecord,
  type StoredAlertState,
  settleAlertState,
} from '../domain/alerts.js';
import type { StoredEvent } from '../domain/event.js';
import type { Subscriber } from '../domain/subscription.js';
import {
  alertReceiptKey,
  alertStateKey,
  eventAlertKey,
  eventKey,
  followPartition,
  type Key,
  subscriberKey,
  suppressionKey,
  TABLE,
} from '../keys.js';
import { logger } from '../logger.js';
import { fromEventItem } from './event-store.js';
import { BATCH_GET_MAX, BATCH_WRITE_MAX, type Item, isConditionFailure, sleep } from './items.js';
import { fromSubscriberItem } from './subscription-store.js';

/** The client every request of the store goes through: a `DynamoDBClient` (the document client sends its commands too). */
export type StateWriter = Pick<DynamoDBClient, 'send'>;

/** A subscriber as the alert worker sees it: the record with its zone and quiet hours, suppression, state. */
export interface AlertRecipient {
  subscriber: Subscriber;
  suppressed: boolean;
  state: AlertState;
}

/** A claim: the send it takes, recorded before it happens (undone if it does not). */
export interface AlertClaim {
  claimId: string;
  claimedAt: string;
  /** The events the alert lists or drops: off the waiting set, into the claim's `sending`. */
  handled: readonly string[];
  /** The send's record: its window and its day's count. */
  record: Required<SentRecord>;
  /** The record as it was, to undo the claim by. */
  before: SentRecord;
  /** The claim and last send as read (`AlertState.read`): the claim is written only if neither changed. */
  read: NonNullable<AlertState['read']>;
}

/** That the mail service accepted a claim's alert. */
export interface AlertReceipt {
  subscriberId: string;
  claimId: string;
  messageId: string;
  sentAt: string;
}

/** What the alert worker reads and writes: followers, each subscriber's waiting events, what they were sent. */
export interface AlertStore {
  /** Everyone following a tag or topic label (a query of its follower partition). */
  followers(ref: FollowRef): Promise<string[]>;
  /**
   * Adds events to a subscriber's waiting set (each once, however often added). `starts` when the
   * set was empty before: this arrival opens an alert, and whoever added it must schedule a look.
   * `known` when every id was already waiting (a redelivered change, whose look may have been lost).
   */
  addPending(
    subscriberId: string,
    eventIds: readonly string[],
  ): Promise<{ starts: boolean; known: boolean; lastSentAt?: string }>;
  /** Subscribers with their suppression and alert state, read strongly consistent. */
  getRecipients(ids: readonly string[]): Promise<Map<string, AlertRecipient>>;
  /** The events as they are now (tombstones included). */
  readEvents(ids: readonly string[]): Promise<Map<string, StoredEvent>>;
  /** What was last queued of each of these events. */
  eventRecords(ids: readonly string[]): Promise<Map<string, EventAlertRecord>>;
  /**
   * Takes the queuing of an event's revision: no record, an older revision's, or this revision's
   * left unfinished by a worker that died (older than `staleBefore`). False when another has it.
   */
  claimEvent(id: string, record: EventAlertRecord, staleBefore: string): Promise<boolean>;
  /** The revision's queuing finished: redeliveries of it are skipped from now on. */
  markEventQueued(id: string, revision: number): Promise<void>;
  /** The revision's queuing failed: its redelivery may take it at once. */
  releaseEvent(id: string, revision: number): Promise<void>;
  /**
   * Takes the subscriber's send and records it in one conditional write, before the send: only if
   * the claim and last send are as read (no other worker claimed, or sent what was read here).
   * Returns what still waits (events that arrived since the read, whose look is now the caller's),
   * or undefined when the state changed.
   */
  claim(subscriberId: string, claim: AlertClaim): Promise<{ pending: string[] } | undefined>;
  /** Undoes a claim whose send failed (its events wait again, its record is as before), so a retry can take it at once. */
  release(
    subscriberId: string,
    claimId: string,
    handled: readonly string[],
    before: SentRecord,
  ): Promise<void>;
  /** Receipts of alerts the mail service accepted: each finishes its claim (batched puts). */
  recordSent(receipts: readonly AlertReceipt[]): Promise<void>;
  /**
   * Finishes a claim on the state itself, only if it is still this one (a send that took so long
   * that another worker may take the claim over must not be recorded over that worker's). False
   * when it was taken over.
   */
  finishClaim(subscriberId: string, claimId: string, messageId: string): Promise<boolean>;
  /**
   * Takes `state.pending` off the waiting set, sending nothing; an unfinished claim as read is
   * undone with it. Returns what still waits, or undefined when the claim changed meanwhile.
   */
  drop(subscriberId: string, state: AlertState): Promise<{ pending: string[] } | undefined>;
}

/** An event's record outlives any correction worth an alert by far, then expires (TTL). */
const EVENT_RECORD_TTL_SECONDS = 90 * 24 * 60 * 60;

const setOf = (value: unknown): string[] =>
  value instanceof Set ? [...value].map(String) : Array.isArray(value) ? value.map(String) : [];

const recordOf = (value: unknown): SentRecord | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Item;
  return {
    ...(typeof record.lastSentAt === 'string' ? { lastSentAt: record.lastSentAt } : {}),
    ...(typeof record.day === 'string' ? { day: record.day } : {}),
    sentToday: typeof record.sentToday === 'number' ? record.sentToday : 0,
  };
};

const storedOf = (item: Item | undefined): StoredAlertState => {
  const state: StoredAlertState = {
    pending: setOf(item?.pending),
    sentToday: typeof item?.sentToday === 'number' ? item.sentToday : 0,
    sending: setOf(item?.sending),
  };
  if (typeof item?.lastSentAt === 'string') state.lastSentAt = item.lastSentAt;
  if (typeof item?.day === 'string') state.day = item.day;
  if (typeof item?.claimId === 'string') state.claimId = item.claimId;
  if (typeof item?.claimedAt === 'string') state.claimedAt = item.claimedAt;
  const before = recordOf(item?.before);
  if (before) state.before = before;
  return state;
};

/** SET (or REMOVE, when absent) of a send's record, as an update's clauses. */
const recordUpdate = (record: SentRecord, values: Record<string, AttributeValue>) => {
  const sets = ['sentToday = :sentToday'];
  const removes: string[] = [];
  values[':sentToday'] = { N: String(record.sentToday) };
  if (record.lastSentAt === undefined) removes.push('lastSentAt');
  else {
    sets.push('lastSentAt = :lastSentAt');
    values[':lastSentAt'] = { S: record.lastSentAt };
  }
  if (record.day === undefined) removes.push('#day');
  else {
    sets.push('#day = :day');
    values[':day'] = { S: record.day };
  }
  return { sets, removes };
};

const CLAIM_NAMES = {
  '#i': 'claimId',
  '#t': 'claimedAt',
  '#s': 'sending',
  '#b': 'before',
  '#l': 'lastSentAt',
  '#d': 'day',
  '#n': 'sentToday',
  '#p': 'pending',
};

/** The subscriber with its zone and quiet hours (the subscription store reads them, checked). */
const subscriberOf = (item: Item): Subscriber | undefined => {
  try {
    return fromSubscriberItem(item);
  } catch (error) {
    logger.warn('unreadable subscriber item skipped', { key: String(item.PK), error: error as Error });
    return undefined;
  }
};

const idOfPartition = (pk: unknown): string => String(pk).slice('SUBSCRIBER#'.length);

/** A key as the low-level client writes it. */
const keyOf = (key: Key): Record<string, AttributeValue> => ({ PK: { S: key.PK }, SK: { S: key.SK } });

/**
 * The alert store over `db`. Every request goes through `writes` (`createLowLevelClient`: a
 * follower's arrival, the claim and the record are the requests each email costs, and the
 * low-level client resolves its middleware once and skips the document client's translation);
 * without it, through `db`, which sends the same commands.
 */
export const makeAlertStore = (
  db: DynamoDBDocumentClient,
  tableName: string,
  writes: StateWriter = db as unknown as StateWriter,
): AlertStore => {
  const stateKey = (subscriberId: string) => keyOf(alertStateKey(subscriberId));
  const setOfAttribute = (value: AttributeValue | undefined): string[] => value?.SS ?? [];
  /** Items by key, strongly consistent: the requests of 100 keys at once, unprocessed keys retried. */
  const batchGet = async (keys: readonly Key[]): Promise<Item[]> => {
    const chunks: Record<string, AttributeValue>[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX)
      chunks.push(keys.slice(i, i + BATCH_GET_MAX).map(keyOf));
    const found: Item[] = [];
    await Promise.all(
      chunks.map(async (chunk) => {
        let pending: Record<string, AttributeValue>[] | undefined = chunk;
        for (let attempt = 0; pending && pending.length > 0; attempt++) {
          if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
          const out: BatchGetItemCommandOutput = await writes.send(
            new BatchGetItemCommand({
              RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } },
            }),
          );
          for (const item of out.Responses?.[tableName] ?? []) found.push(unmarshall(item));
          pending = out.UnprocessedKeys?.[tableName]?.Keys;
        }
      }),
    );
    return found;
  };
  return {
    async followers(ref) {
      const ids: string[] = [];
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const out: QueryCommandOutput = await writes.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': { S: followPartition(ref.kind, ref.slug) } },
            ProjectionExpression: 'SK',
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        for (const item of out.Items ?? []) if (item.SK?.S !== undefined) ids.push(item.SK.S);
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return ids;
    },

    async addPending(subscriberId, eventIds) {
      const { Attributes } = await writes.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: stateKey(subscriberId),
          UpdateExpression: 'SET #type = :type ADD pending :ids',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: { ':type': { S: 'alerts' }, ':ids': { SS: [...new Set(eventIds)] } },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const waiting = new Set(setOfAttribute(Attributes?.pending));
      const lastSentAt = Attributes?.lastSentAt?.S;
      return {
        starts: waiting.size === 0,
        known: eventIds.every((id) => waiting.has(id)),
        ...(lastSentAt ? { lastSentAt } : {}),
      };
    },

    async getRecipients(ids) {
      const keys = [...new Set(ids)].flatMap((id) => [
        subscriberKey(id),
        suppressionKey(id),
        alertStateKey(id),
        alertReceiptKey(id),
      ]);
      const subscribers = new Map<string, Subscriber>();
      const suppressed = new Set<string>();
      const states = new Map<string, StoredAlertState>();
      const receipts = new Map<string, string>();
      const receiptPrefix = alertReceiptKey('').PK;
      for (const item of await batchGet(keys)) {
        const pk = String(item.PK);
        if (pk.startsWith(receiptPrefix)) {
          if (typeof item.claimId === 'string') receipts.set(pk.slice(receiptPrefix.length), item.claimId);
          continue;
        }
        const id = idOfPartition(pk);
        if (item.SK === suppressionKey('').SK) suppressed.add(id);
        else if (item.SK === alertStateKey('').SK) states.set(id, storedOf(item));
        else {
          const subscriber = subscriberOf(item);
          if (subscriber) subscribers.set(id, subscriber);
        }
      }
      return new Map(
        [...subscribers].map(([id, subscriber]) => [
          id,
          {
            subscriber,
            suppressed: suppressed.has(id),
            state: settleAlertState(states.get(id) ?? storedOf(undefined), receipts.get(id)),
          },
        ]),
      );
    },

    async readEvents(ids) {
      const items = await batchGet([...new Set(ids)].map(eventKey));
      return new Map(
        items.map((item) => {
          const event = fromEventItem(item);
          return [event.id, event];
        }),
      );
    },

    async eventRecords(ids) {
      const items = await batchGet([...new Set(ids)].map(eventAlertKey));
      const records = new Map<string, EventAlertRecord>();
      for (const item of items) {
        const { id, revision, headline, state, at } = item;
        if (typeof id !== 'string' || typeof revision !== 'number' || typeof headline !== 'string') continue;
        records.set(id, {
          revision,
          headline,
          state: state === 'queued' ? 'queued' : 'queuing',
          at: typeof at === 'string' ? at : '',
        });
      }
      return records;
    },

    async claimEvent(id, record, staleBefore) {
      try {
        await writes.send(
          new PutItemCommand({
            TableName: tableName,
            Item: marshall({
              ...eventAlertKey(id),
              type: 'eventAlert',
              id,
              ...record,
              [TABLE.ttlAttribute]: Math.floor(Date.parse(record.at) / 1000) + EVENT_RECORD_TTL_SECONDS,
            }),
            ConditionExpression:
              'attribute_not_exists(PK) OR revision < :r OR (revision = :r AND #state = :queuing AND #at < :stale)',
            ExpressionAttributeNames: { '#state': 'state', '#at': 'at' },
            ExpressionAttributeValues: {
              ':r': { N: String(record.revision) },
              ':queuing': { S: 'queuing' },
              ':stale': { S: staleBefore },
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async markEventQueued(id, revision) {
      try {
        await writes.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: keyOf(eventAlertKey(id)),
            UpdateExpression: 'SET #state = :queued',
            ConditionExpression: 'revision = :r',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':queued': { S: 'queued' }, ':r': { N: String(revision) } },
          }),
        );
      } catch (error) {
        // A later revision took the record over: its own queuing speaks for the event now.
        if (!isConditionFailure(error)) throw error;
      }
    },

    async releaseEvent(id, revision) {
      try {
        await writes.send(
          new DeleteItemCommand({
            TableName: tableName,
            Key: keyOf(eventAlertKey(id)),
            ConditionExpression: 'revision = :r AND #state = :queuing',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':r': { N: String(revision) }, ':queuing': { S: 'queuing' } },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },

    async claim(subscriberId, { claimId, claimedAt, handled, record, before, read }) {
      // Every attribute by a short name: the one request each alert costs is parsed by the local
      // store (dynalite) character by character, several times slower with plain names.
      const values: Record<string, AttributeValue> = {
        ':i': { S: claimId },
        ':t': { S: claimedAt },
        ':h': { SS: [...new Set(handled)] },
        ':b': { M: marshall(before, { removeUndefinedValues: true }) },
        ':l': { S: record.lastSentAt },
        ':d': { S: record.day },
        ':n': { N: String(record.sentToday) },
      };
      // As read (AlertState.read): a claim read is enough alone, as every claim writes a new id
      // and whatever else moves lastSentAt (a release, a finish on the state, a drop) removes it.
      let condition: string;
      if (read.claimId !== undefined) {
        condition = '#i = :r';
        values[':r'] = { S: read.claimId };
      } else if (read.lastSentAt !== undefined) {
        condition = 'attribute_not_exists(#i) AND #l = :r';
        values[':r'] = { S: read.lastSentAt };
      } else condition = 'attribute_exists(PK) AND attribute_not_exists(#i) AND attribute_not_exists(#l)';
      try {
        const { Attributes } = await writes.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: stateKey(subscriberId),
            UpdateExpression:
              'SET #i = :i, #t = :t, #s = :h, #b = :b, #l = :l, #d = :d, #n = :n DELETE #p :h',
            ConditionExpression: condition,
            ExpressionAttributeNames: CLAIM_NAMES,
            ExpressionAttributeValues: values,
            // Only what the claim changed (the waiting set among it), not the whole item.
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        return { pending: setOfAttribute(Attributes?.pending) };
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
    },

    async release(subscriberId, claimId, handled, before) {
      const values: Record<string, AttributeValue> = {
        ':id': { S: claimId },
        ':handled': { SS: [...new Set(handled)] },
      };
      const { sets, removes } = recordUpdate(before, values);
      try {
        await writes.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: stateKey(subscriberId),
            // The claim's events back into the waiting set, beside any that arrived meanwhile.
            UpdateExpression: `SET ${sets.join(', ')} ADD pending :handled REMOVE ${[...removes, 'claimId', 'claimedAt', 'sending', '#before'].join(', ')}`,
            ConditionExpression: 'claimId = :id',
            ExpressionAttributeNames: { '#before': 'before', '#day': 'day' },
            ExpressionAttributeValues: values,
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },

    async recordSent(receipts) {
      const items = receipts.map((r) => ({
        PutRequest: {
          Item: marshall({
            ...alertReceiptKey(r.subscriberId),
            type: 'alertReceipt',
            claimId: r.claimId,
            messageId: r.messageId,
            sentAt: r.sentAt,
          }),
        },
      }));
      for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) {
        let pending = items.slice(i, i + BATCH_WRITE_MAX);
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
          const out: BatchWriteItemCommandOutput = await writes.send(
            new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }),
          );
          pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
        }
      }
    },

    async finishClaim(subscriberId, claimId, messageId) {
      try {
        await writes.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: stateKey(subscriberId),
            UpdateExpression: 'SET lastMessageId = :mid REMOVE claimId, claimedAt, sending, #before',
            ConditionExpression: 'claimId = :id',
            ExpressionAttributeNames: { '#before': 'before' },
            ExpressionAttributeValues: { ':id': { S: claimId }, ':mid': { S: messageId } },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async drop(subscriberId, state) {
      const values: Record<string, AttributeValue> = {};
      const names: Record<string, string> = {};
      const sets: string[] = [];
      const removes: string[] = [];
      const clauses: string[] = [];
      if (state.pending.length > 0) values[':handled'] = { SS: [...new Set(state.pending)] };
      let condition: string | undefined;
      if (state.claimId !== undefined) {
        // An unfinished claim's send never happened as far as anyone knows: undone, its events dropped with the rest.
        const record = recordUpdate(state, values);
        sets.push(...record.sets);
        removes.push(...record.removes, 'claimId', 'claimedAt', 'sending', '#before');
        names['#before'] = 'before';
        names['#day'] = 'day';
        values[':claim'] = { S: state.claimId };
        condition = 'claimId = :claim';
      }
      if (sets.length > 0) clauses.push(`SET ${sets.join(', ')}`);
      if (removes.length > 0) clauses.push(`REMOVE ${removes.join(', ')}`);
      if (values[':handled']) clauses.push('DELETE pending :handled');
      if (clauses.length === 0) return { pending: [] };
      try {
        const { Attributes } = await writes.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: stateKey(subscriberId),
            UpdateExpression: clauses.join(' '),
            ...(condition ? { ConditionExpression: condition } : {}),
            ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
            ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { pending: setOfAttribute(Attributes?.pending) };
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
    },
  };
};
