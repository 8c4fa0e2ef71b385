import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { followChanges } from '../domain/alerts.js';
import { receivesDigests, type SubscriberRecord } from '../domain/subscriber-changes.js';
import {
  CADENCES,
  type Cadence,
  type DeliveryPreferences,
  hasChosenDelivery,
  isDigestCadence,
  type TagRef,
  type TopicRef,
} from '../domain/subscription.js';
import { ConcurrentWriteError } from '../errors.js';
import {
  digestBucket,
  digestPartition,
  digestShardOf,
  subscriberKey,
  suppressionKey,
  TABLE,
  tagKey,
} from '../keys.js';
import { applyFollowChanges } from './followers.js';
import { type Item, isConditionFailure, num, optStr, str } from './items.js';
import { listTagsWithCounts } from './tag-summaries.js';
import { makeTopicLabelStore } from './topic-labels.js';

export type SuppressionReason = 'bounce' | 'complaint';

export interface Suppression {
  reason: SuppressionReason;
  at: string;
}

/** A tag a subscriber can follow, with its number of events (to offer the most followed first). */
export interface TagSummary extends TagRef {
  count: number;
}

/** Subscribers and suppressed addresses, as the subscription API and the feedback handler use them. */
export interface SubscriptionStore {
  /** The stored record, lapsed or not (`isLapsed` tells); strongly consistent. */
  getSubscriber(id: string): Promise<SubscriberRecord | undefined>;
  getSuppression(id: string): Promise<Suppression | undefined>;
  /**
   * Creates the record, if there is none or `replacing` (a lapsed record) is still what is stored.
   * Throws ConcurrentWriteError when another writer got there first.
   */
  createSubscriber(record: SubscriberRecord, replacing?: SubscriberRecord): Promise<void>;
  /**
   * Writes `next` over `previous` if the stored revision is still the one read; throws
   * ConcurrentWriteError otherwise. Sets or removes the digest index keys from the new state and
   * never moves the digest cursor once set.
   */
  updateSubscriber(next: SubscriberRecord, previous: SubscriberRecord): Promise<SubscriberRecord>;
  /** Records a suppressed address (the first reason stays) and takes its subscriber off the digest index. */
  suppress(id: string, suppression: Suppression): Promise<void>;
  /** The tags among these slugs that exist, by slug. */
  findTags(slugs: readonly string[]): Promise<Map<string, TagRef>>;
  /** Every tag, most used first. */
  listTags(): Promise<TagSummary[]>;
  /** The topic labels among these slugs that events have carried, by slug. */
  findTopics(slugs: readonly string[]): Promise<Map<string, TopicRef>>;
  /** Every topic label events have carried, by name. */
  listTopics(): Promise<TopicRef[]>;
}

// Named condition fragments.
const IS_ABSENT = 'attribute_not_exists(PK)';
const AT_REVISION = 'revision = :expected';
const EXISTS = 'attribute_exists(PK)';

const STATUSES = ['pending', 'confirmed', 'unsubscribed'] as const;

/** The digest index keys a subscriber carries exactly while digests should reach them. */
const digestKeys = (record: SubscriberRecord): Item | undefined => {
  if (!receivesDigests(record) || !isDigestCadence(record.cadence)) return undefined;
  const bucket = hasChosenDelivery(record)
    ? digestBucket(
        record.cadence,
        record.timeZone as string,
        record.deliveryHour as number,
        record.deliveryWeekday as number,
      )
    : '';
  return {
    [TABLE.digestIndex.partitionKey]: digestPartition(record.cadence, digestShardOf(record.id)),
    [TABLE.digestIndex.sortKey]: `${bucket}${record.id}`,
  };
};

/** The delivery preferences of a stored item, each only if well formed (a bad one reads as unset). */
const preferencesOf = (item: Item): DeliveryPreferences => {
  const preferences: DeliveryPreferences = {};
  const hourOf = (value: unknown, max: number) =>
    typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max ? value : undefined;
  const timeZone = optStr(item, 'timeZone');
  if (timeZone !== undefined) preferences.timeZone = timeZone;
  const hour = hourOf(item.deliveryHour, 23);
  if (hour !== undefined) preferences.deliveryHour = hour;
  const weekday = hourOf(item.deliveryWeekday, 6);
  if (weekday !== undefined) preferences.deliveryWeekday = weekday;
  const quiet = item.quietHours as Item | undefined;
  const from = hourOf(quiet?.from, 23);
  const to = hourOf(quiet?.to, 23);
  if (from !== undefined && to !== undefined) preferences.quietHours = { from, to };
  return preferences;
};

/** Optional attributes the subscription side owns: written when set, removed when not. */
const OPTIONAL_FIELDS = ['confirmedAt', 'expiresAt', 'confirmationSentAt', 'unsubscribedAt'] as const;
/** The delivery preferences: quiet hours can be cleared; the rest, once chosen, are only replaced. */
const PREFERENCE_FIELDS = ['timeZone', 'deliveryHour', 'deliveryWeekday', 'quietHours'] as const;

/**
 * Where a record keeps what it follows. Records written before topic labels could be followed hold
 * their tags in `topics` (and no `tags`): a record with `tags` is read by the new names, any other
 * by the old one. Labels go in `topicLabels`, never in `topics`, so code that still reads `topics`
 * as tags (a function of the previous release, during a deploy) never takes labels for tags.
 */
const FOLLOWS = { tags: 'tags', topics: 'topicLabels', legacyTags: 'topics' } as const;

const refs = (value: unknown): { slug: string; name: string }[] =>
  (Array.isArray(value) ? (value as Item[]) : []).map((t) => ({
    slug: str(t, 'slug'),
    name: str(t, 'name'),
  }));

/**
 * The slugs a stored subscriber item follows, for exports that read items raw: tags (under either
 * name) and topic labels. A malformed entry is skipped rather than failing an export.
 */
export const followedSlugsOf = (item: Item): { tags: string[]; topics: string[] } => {
  const slugs = (value: unknown): string[] =>
    Array.isArray(value)
      ? (value as Item[]).flatMap((t) => (typeof t?.slug === 'string' ? [t.slug] : []))
      : [];
  const current = item[FOLLOWS.tags] !== undefined;
  return {
    tags: slugs(current ? item[FOLLOWS.tags] : item[FOLLOWS.legacyTags]),
    topics: current ? slugs(item[FOLLOWS.topics]) : [],
  };
};

export const toSubscriberItem = (record: SubscriberRecord): Item => {
  const item: Item = {
    ...subscriberKey(record.id),
    type: 'subscriber',
    id: record.id,
    email: record.email,
    [FOLLOWS.tags]: record.tags.map((t) => ({ slug: t.slug, name: t.name })),
    [FOLLOWS.topics]: record.topics.map((t) => ({ slug: t.slug, name: t.name })),
    cadence: record.cadence,
    status: record.status,
    createdAt: record.createdAt,
    tokenVersion: record.tokenVersion,
    changedAt: record.changedAt,
    revision: record.revision,
  };
  for (const field of OPTIONAL_FIELDS) if (record[field] !== undefined) item[field] = record[field];
  if (record.nonce !== undefined) item.nonce = record.nonce;
  if (record.linkGeneration !== undefined) item.linkGeneration = record.linkGeneration;
  if (record.cursor !== undefined) item.cursor = record.cursor;
  if (record.suppressedAt !== undefined) item.suppressedAt = record.suppressedAt;
  if (record.timeZone !== undefined) item.timeZone = record.timeZone;
  if (record.deliveryHour !== undefined) item.deliveryHour = record.deliveryHour;
  if (record.deliveryWeekday !== undefined) item.deliveryWeekday = record.deliveryWeekday;
  if (record.quietHours !== undefined) item.quietHours = { ...record.quietHours };
  return { ...item, ...digestKeys(record) };
};

/** A subscriber item back to the domain, field by field (the digest job's own fields are left out). */
export const fromSubscriberItem = (item: Item): SubscriberRecord => {
  const status = str(item, 'status');
  const cadence = str(item, 'cadence');
  if (!STATUSES.includes(status as SubscriberRecord['status']))
    throw new TypeError(`stored item ${String(item.PK)} has an unknown status ${status}`);
  if (!CADENCES.includes(cadence as Cadence))
    throw new TypeError(`stored item ${String(item.PK)} has an unknown cadence ${cadence}`);
  const current = item[FOLLOWS.tags] !== undefined;
  const record: SubscriberRecord = {
    id: str(item, 'id'),
    email: str(item, 'email'),
    tags: refs(current ? item[FOLLOWS.tags] : item[FOLLOWS.legacyTags]),
    topics: current ? refs(item[FOLLOWS.topics]) : [],
    cadence: cadence as Cadence,
    status: status as SubscriberRecord['status'],
    createdAt: str(item, 'createdAt'),
    tokenVersion: num(item, 'tokenVersion'),
    changedAt: optStr(item, 'changedAt') ?? str(item, 'createdAt'),
    revision: typeof item.revision === 'number' ? item.revision : 0,
  };
  const confirmedAt = optStr(item, 'confirmedAt');
  if (confirmedAt !== undefined) record.confirmedAt = confirmedAt;
  const cursor = optStr(item, 'cursor');
  if (cursor !== undefined) record.cursor = cursor;
  if (typeof item.expiresAt === 'number') record.expiresAt = item.expiresAt;
  const sentAt = optStr(item, 'confirmationSentAt');
  if (sentAt !== undefined) record.confirmationSentAt = sentAt;
  const unsubscribedAt = optStr(item, 'unsubscribedAt');
  if (unsubscribedAt !== undefined) record.unsubscribedAt = unsubscribedAt;
  const suppressedAt = optStr(item, 'suppressedAt');
  if (suppressedAt !== undefined) record.suppressedAt = suppressedAt;
  const nonce = optStr(item, 'nonce');
  if (nonce !== undefined) record.nonce = nonce;
  if (typeof item.linkGeneration === 'number') record.linkGeneration = item.linkGeneration;
  return { ...record, ...preferencesOf(item) };
};

export const makeSubscriptionStore = (db: DynamoDBDocumentClient, tableName: string): SubscriptionStore => ({
  async getSubscriber(id) {
    const { Item } = await db.send(
      new GetCommand({ TableName: tableName, Key: subscriberKey(id), ConsistentRead: true }),
    );
    return Item ? fromSubscriberItem(Item) : undefined;
  },

  async getSuppression(id) {
    const { Item } = await db.send(
      new GetCommand({ TableName: tableName, Key: suppressionKey(id), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return { reason: Item.reason === 'complaint' ? 'complaint' : 'bounce', at: str(Item, 'at') };
  },

  async createSubscriber(record, replacing) {
    try {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: toSubscriberItem(record),
          ConditionExpression: replacing ? AT_REVISION : IS_ABSENT,
          ...(replacing ? { ExpressionAttributeValues: { ':expected': replacing.revision } } : {}),
        }),
      );
    } catch (error) {
      if (isConditionFailure(error))
        throw new ConcurrentWriteError(`subscriber ${record.id} was written meanwhile`, { cause: error });
      throw error;
    }
    // After the subscriber's own write, so the followers index never runs ahead of it.
    await applyFollowChanges(db, tableName, record.id, followChanges(replacing, record));
  },

  async updateSubscriber(next, previous) {
    const written: SubscriberRecord = { ...next, revision: previous.revision + 1 };
    // Keys, the digest job's cursor and the feedback handler's mark are not written here.
    const {
      PK: _pk,
      SK: _sk,
      cursor: _cursor,
      suppressedAt: _suppressed,
      ...attributes
    } = toSubscriberItem(written);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':expected': previous.revision };
    const sets = Object.entries(attributes).map(([name, value], i) => {
      names[`#a${i}`] = name;
      values[`:a${i}`] = value;
      return `#a${i} = :a${i}`;
    });
    if (written.cursor !== undefined && previous.cursor === undefined) {
      names['#cursor'] = 'cursor';
      values[':cursor'] = written.cursor;
      sets.push('#cursor = if_not_exists(#cursor, :cursor)');
    }
    // A record stored before labels loses its old list of tags: `tags` holds them now.
    const removes: string[] = [
      FOLLOWS.legacyTags,
      ...[...OPTIONAL_FIELDS, ...PREFERENCE_FIELDS].filter((f) => written[f] === undefined),
    ];
    if (!digestKeys(written)) removes.push(TABLE.digestIndex.partitionKey, TABLE.digestIndex.sortKey);
    const removeNames = removes.map((name, i) => {
      names[`#r${i}`] = name;
      return `#r${i}`;
    });
    try {
      await db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: subscriberKey(next.id),
          UpdateExpression: `SET ${sets.join(', ')}${removeNames.length > 0 ? ` REMOVE ${removeNames.join(', ')}` : ''}`,
          // A suppression bumps the revision too, so this write cannot put a suppressed address back on the index.
          ConditionExpression: AT_REVISION,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error))
        throw new ConcurrentWriteError(`subscriber ${next.id} changed meanwhile`, { cause: error });
      throw error;
    }
    await applyFollowChanges(db, tableName, next.id, followChanges(previous, written));
    return written;
  },

  async suppress(id, suppression) {
    try {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...suppressionKey(id),
            type: 'suppression',
            reason: suppression.reason,
            at: suppression.at,
          },
          ConditionExpression: IS_ABSENT,
        }),
      );
    } catch (error) {
      // Already suppressed: the first reason stays; the subscriber is still made sure of below.
      if (!isConditionFailure(error)) throw error;
    }
    try {
      const { Attributes } = await db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: subscriberKey(id),
          ReturnValues: 'ALL_NEW',
          UpdateExpression:
            'SET suppressedAt = if_not_exists(suppressedAt, :at) ADD revision :one REMOVE #pk, #sk',
          ConditionExpression: EXISTS,
          ExpressionAttributeNames: {
            '#pk': TABLE.digestIndex.partitionKey,
            '#sk': TABLE.digestIndex.sortKey,
          },
          ExpressionAttributeValues: { ':at': suppression.at, ':one': 1 },
        }),
      );
      // No alert reaches a suppressed address: its follower items go too.
      if (Attributes) {
        const record = fromSubscriberItem(Attributes);
        const { suppressedAt: _, ...before } = record;
        await applyFollowChanges(db, tableName, id, followChanges(before, record));
      }
    } catch (error) {
      // No subscriber for the address (it never subscribed, or its record lapsed): the suppression item is enough.
      if (!isConditionFailure(error)) throw error;
    }
  },

  async findTags(slugs) {
    const unique = [...new Set(slugs)];
    const found = new Map<string, TagRef>();
    // At most MAX_TOPICS per request, well under BatchGetItem's 100 keys.
    let keys: Item[] = unique.map((slug) => ({ ...tagKey(slug) }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
      if (attempt > 8) throw new Error('BatchGetItem left keys unprocessed after 8 retries');
      const out = await db.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: keys,
              ProjectionExpression: 'slug, #name',
              ExpressionAttributeNames: { '#name': 'name' },
            },
          },
        }),
      );
      for (const item of out.Responses?.[tableName] ?? []) {
        found.set(str(item, 'slug'), { slug: str(item, 'slug'), name: str(item, 'name') });
      }
      keys = (out.UnprocessedKeys?.[tableName]?.Keys as Item[] | undefined) ?? [];
    }
    return found;
  },

  async listTags() {
    const tags = await listTagsWithCounts(db, tableName);
    return tags.sort((a, b) => b.count - a.count || (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
  },

  // The labels' own store keeps nothing a read needs: one made per call costs nothing.
  findTopics: (slugs) => makeTopicLabelStore(db, tableName).findTopics(slugs),

  async listTopics() {
    const topics = await makeTopicLabelStore(db, tableName).listTopics();
    return topics.sort((a, b) => a.name.localeCompare(b.name, 'en'));
  },
});
