import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AlertState, EventAlertRecord, FollowRef } from '../domain/alerts.js';
import type { StoredEvent } from '../domain/event.js';
import type { Subscriber } from '../domain/subscription.js';
import {
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
import { BATCH_GET_MAX, type Item, isConditionFailure, sleep } from './items.js';
import { fromSubscriberItem } from './subscription-store.js';

/** The client every request of the store goes through: a `DynamoDBClient` (the document client sends its commands too). */
export type StateWriter = Pick<DynamoDBClient, 'send'>;

/** A subscriber as the alert worker sees it: the record with its zone and quiet hours, suppression, state. */
export interface AlertRecipient {
  subscriber: Subscriber;
  suppressed: boolean;
  state: AlertState;
}

/** What an alert sent records on the subscriber's state. */
export interface SentAlert {
  lastSentAt: string;
  day: string;
  sentToday: number;
  messageId: string;
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
   * Takes the subscriber's send: no other worker holds it, or its holder's claim is older than
   * `staleBefore` (that worker died), and no alert went out since the state was read (`lastSentAt`
   * as read: a worker that read the same waiting events and finished first sent them). False otherwise.
   */
  claim(
    subscriberId: string,
    claim: { claimId: string; claimedAt: string; staleBefore: string; lastSentAt: string | undefined },
  ): Promise<boolean>;
  /** Gives a claim up after a failed send, so the retry can take it at once. */
  release(subscriberId: string, claimId: string): Promise<void>;
  /**
   * Takes `handled` off the waiting set; with `sent`, records the alert and gives the claim up (only
   * this claim's). Returns what still waits: events that arrived meanwhile, whose look is now the caller's.
   */
  finish(
    subscriberId: string,
    handled: readonly string[],
    sent?: { claimId: string; alert: SentAlert },
  ): Promise<{ pending: string[] }>;
}

/** An event's record outlives any correction worth an alert by far, then expires (TTL). */
const EVENT_RECORD_TTL_SECONDS = 90 * 24 * 60 * 60;

const setOf = (value: unknown): string[] =>
  value instanceof Set ? [...value].map(String) : Array.isArray(value) ? value.map(String) : [];

const stateOf = (item: Item | undefined): AlertState => {
  const state: AlertState = {
    pending: setOf(item?.pending),
    sentToday: typeof item?.sentToday === 'number' ? item.sentToday : 0,
  };
  if (typeof item?.lastSentAt === 'string') state.lastSentAt = item.lastSentAt;
  if (typeof item?.day === 'string') state.day = item.day;
  if (typeof item?.claimId === 'string') state.claimId = item.claimId;
  if (typeof item?.claimedAt === 'string') state.claimedAt = item.claimedAt;
  return state;
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
      ]);
      const subscribers = new Map<string, Subscriber>();
      const suppressed = new Set<string>();
      const states = new Map<string, AlertState>();
      for (const item of await batchGet(keys)) {
        const id = idOfPartition(item.PK);
        if (item.SK === suppressionKey('').SK) suppressed.add(id);
        else if (item.SK === alertStateKey('').SK) states.set(id, stateOf(item));
        else {
          const subscriber = subscriberOf(item);
          if (subscriber) subscribers.set(id, subscriber);
        }
      }
      return new Map(
        [...subscribers].map(([id, subscriber]) => [
          id,
          { subscriber, suppressed: suppressed.has(id), state: states.get(id) ?? stateOf(undefined) },
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

    async claim(subscriberId, { claimId, claimedAt, staleBefore, lastSentAt }) {
      const unsent = lastSentAt === undefined ? 'attribute_not_exists(lastSentAt)' : 'lastSentAt = :last';
      try {
        await writes.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: stateKey(subscriberId),
            UpdateExpression: 'SET claimId = :id, claimedAt = :at',
            ConditionExpression: `attribute_exists(PK) AND (attribute_not_exists(claimId) OR claimedAt < :stale) AND ${unsent}`,
            ExpressionAttributeValues: {
              ':id': { S: claimId },
              ':at': { S: claimedAt },
              ':stale': { S: staleBefore },
              ...(lastSentAt === undefined ? {} : { ':last': { S: lastSentAt } }),
            },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async release(subscriberId, claimId) {
      try {
        await writes.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: stateKey(subscriberId),
            UpdateExpression: 'REMOVE claimId, claimedAt',
            ConditionExpression: 'claimId = :id',
            ExpressionAttributeValues: { ':id': { S: claimId } },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    },

    async finish(subscriberId, handled, sent) {
      const sets: string[] = [];
      const values: Record<string, AttributeValue> = {};
      const names: Record<string, string> = {};
      let update = '';
      if (handled.length > 0) {
        update += ' DELETE pending :handled';
        values[':handled'] = { SS: [...new Set(handled)] };
      }
      if (sent) {
        names['#day'] = 'day';
        Object.assign(values, {
          ':last': { S: sent.alert.lastSentAt },
          ':day': { S: sent.alert.day },
          ':n': { N: String(sent.alert.sentToday) },
          ':mid': { S: sent.alert.messageId },
          ':claim': { S: sent.claimId },
        });
        sets.push('lastSentAt = :last', '#day = :day', 'sentToday = :n', 'lastMessageId = :mid');
        update += ' REMOVE claimId, claimedAt';
      }
      if (sets.length === 0 && handled.length === 0) return { pending: [] };
      const { Attributes } = await writes.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: stateKey(subscriberId),
          UpdateExpression: `${sets.length > 0 ? `SET ${sets.join(', ')}` : ''}${update}`.trim(),
          // Only the claim's holder records a send: one taken over (a send that outlived the lease) is not.
          ...(sent ? { ConditionExpression: 'claimId = :claim' } : {}),
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { pending: setOfAttribute(Attributes?.pending) };
    },
  };
};
