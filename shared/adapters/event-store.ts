import { randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Attribution, Image, NewsEvent, Source, StoredEvent, Tag, Tombstone } from '../domain/event.js';
import type { EventSummary } from '../domain/related.js';
import { ConcurrentWriteError, ValidationError } from '../errors.js';
import {
  changeLogKey,
  dayPartition,
  daySortKey,
  EVENT_SK,
  eventKey,
  LATEST_SHARDS,
  latestPartition,
  latestShardOf,
  latestSortKey,
  markKey,
  markPartition,
  TABLE,
  TAG_ENTRY_PREFIX,
  TAGS_PARTITION,
  tagEntryKey,
  tagEntryPartition,
  tagKey,
  tagListingKey,
} from '../keys.js';
import { logger } from '../logger.js';
import {
  batchDeleteAll,
  batchGetAll,
  batchPutAll,
  type Item,
  isConditionFailure,
  num,
  optStr,
  str,
} from './items.js';

export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  cursor?: string;
}

export interface TagSummary {
  slug: string;
  name: string;
  count: number;
}

/**
 * What a write stores beside the event and never hands back to readers: the writer's nonce and
 * who published and last changed the event.
 */
export interface WriteStamp {
  /**
   * Unique to this write: a writer whose answer was lost recognises its own write by it. Times
   * and revisions cannot tell two writers apart (two corrections planned the same millisecond
   * from the same revision carry the same `updatedAt` and `revision`).
   */
  writeId: string;
  publishedBy?: Attribution;
  updatedBy?: Attribution;
}

/** A stored event with its write stamp (consistent read): what a writer plans from. */
export interface EventRecord {
  event: StoredEvent;
  /** Absent on items written before write ids existed. */
  writeId?: string;
  publishedBy?: Attribution;
  updatedBy?: Attribution;
}

/**
 * What a one-off migration reads: every event item of the table (tombstones too), in pages. A
 * Scan: the operator runs it with their own credentials; no function is granted Scan.
 */
export interface MigrationStore {
  scanEvents(page: PageRequest): Promise<Page<EventRecord>>;
}

/** The event store as the API sees it: one conditional PutItem per write, reads by key and index. */
export interface EventStore {
  getEvent(id: string): Promise<StoredEvent | undefined>;
  /** The event with its write stamp, read consistently. */
  getEventRecord(id: string): Promise<EventRecord | undefined>;
  /**
   * Writes `next` only if the stored item is still `previous` (same revision, or absent when
   * `previous` is undefined), with `stamp` beside it. Throws ConcurrentWriteError when another
   * writer got there first.
   */
  putEvent(next: StoredEvent, previous: StoredEvent | undefined, stamp?: WriteStamp): Promise<void>;
  listDay(date: string, page: PageRequest): Promise<Page<NewsEvent>>;
  listTag(slug: string, page: PageRequest): Promise<Page<NewsEvent>>;
  listLatest(page: PageRequest): Promise<Page<NewsEvent>>;
  getTag(slug: string): Promise<TagSummary | undefined>;
  listTags(): Promise<TagSummary[]>;
}

/**
 * What upserting a tag entry did: created it (not yet counted), replaced an older revision of a
 * counted entry, replaced one whose count was never settled, or found it already as new.
 */
export type EntryUpsert = 'created' | 'updated' | 'uncounted' | 'current';
/**
 * What removing a tag entry did: removed a counted entry, removed one whose count was never
 * settled, found none, or kept it because it is newer.
 */
export type EntryRemoval = 'removed' | 'removed-uncounted' | 'absent' | 'newer';

/** Something the publisher must rebuild. */
export interface Mark {
  kind: 'tag' | 'day' | 'event' | 'site';
  key: string;
}

/**
 * What to rebuild as stored: the time of the newest change that asked for it, and the sort keys of
 * the stored marks it stands for (one per batch of changes that asked), which clearing removes.
 */
export interface MarkRecord extends Mark {
  markedAt: string;
  stamps: string[];
}

/** What the publisher reads and clears. */
export interface PublishStore {
  /** What is marked, one record per key. */
  listMarks(kind: Mark['kind']): Promise<MarkRecord[]>;
  /**
   * Removes the stored marks these records were read from, unconditionally and in batches. A change
   * that arrived since wrote a mark of its own, which stays.
   */
  clearMarks(marks: readonly MarkRecord[]): Promise<void>;
  /**
   * One shard (0 to LATEST_SHARDS - 1) of the latest-events index, newest first (by date, then id):
   * walking every shard reads every live event once, in pages of up to 1 MB.
   */
  listLatestShard(shard: number, page: PageRequest): Promise<Page<NewsEvent>>;
  /**
   * A tag's events newest first, like `listTag`, with what listings show only: from the tag listing
   * index, or from the entries themselves (which hold whole events, so read more) when asked.
   */
  listTagSummaries(slug: string, page: PageRequest, from?: 'index' | 'entries'): Promise<Page<EventSummary>>;
}

/** The derived listings and publishing marks, kept by the change-stream projection. */
export interface ListingStore {
  /** Strongly consistent reads of many events (missing ids are absent from the map). */
  getEventsNow(ids: readonly string[]): Promise<Map<string, StoredEvent>>;
  /** Puts a tag's copy of an event unless an entry at this revision or newer is already there. */
  /**
   * `changedAt` (when the change is projected, defaults to the event's `updatedAt`) is kept on
   * the entry: a replay of the same revision finds it and logs the change at the same time.
   */
  upsertTagEntry(slug: string, event: NewsEvent, changedAt?: string): Promise<EntryUpsert>;
  /** When a tag's entry of an event was projected, and at which revision (undefined if absent). */
  entryChangedAt(
    slug: string,
    date: string,
    id: string,
  ): Promise<{ changedAt: string; revision: number } | undefined>;
  /** Logs that an event changed at `changedAt` (idempotent: the same change logs the same item). */
  logChange(change: LoggedChange): Promise<void>;
  /** Records that an entry's creation is reflected in its tag's count. */
  markEntryCounted(slug: string, date: string, id: string): Promise<void>;
  /** Removes a tag's copy of an event unless it is newer than `revision`. */
  removeTagEntry(slug: string, date: string, id: string, revision: number): Promise<EntryRemoval>;
  /** Adds `delta` to a tag's count (atomic ADD); a count that reaches zero removes the summary. */
  adjustTagCount(slug: string, name: string, delta: number): Promise<void>;
  /**
   * Sets a tag's count from its entries. Guarded by the summary's version, which every
   * adjustment bumps: a recount that raced an adjustment starts again, so the figure is exact.
   */
  recountTag(slug: string, name: string): Promise<number>;
  /** Marks what the publisher must rebuild, stamped with `at`, beside any marks already there. */
  markDirty(marks: readonly Mark[], at: string): Promise<void>;
}

/** One line of the change log. */
export interface LoggedChange {
  id: string;
  revision: number;
  changedAt: string;
}

/** Change log items expire (TTL) well after any digest window could still need them. */
const CHANGE_LOG_TTL_SECONDS = 62 * 24 * 60 * 60;

// Named condition fragments.
const IS_ABSENT = 'attribute_not_exists(PK)';
const IS_AT_REVISION = 'revision = :expected';
const OLDER_THAN = 'attribute_not_exists(PK) OR revision < :revision';
const EXISTS_NOT_NEWER = 'attribute_exists(PK) AND revision <= :revision';
const AT_VERSION = 'attribute_not_exists(version) OR version = :version';
const IS_EMPTY = '#count <= :zero';

const records = (value: unknown): Item[] =>
  Array.isArray(value) ? value.filter((v): v is Item => typeof v === 'object' && v !== null) : [];

const tagsOf = (item: Item): Tag[] =>
  records(item.tags).map((t) => ({ slug: str(t, 'slug'), name: str(t, 'name') }));
const sourcesOf = (item: Item): Source[] =>
  records(item.sources).map((s) => ({ name: str(s, 'name'), url: str(s, 'url') }));
const imageOf = (item: Item): Image | undefined => {
  const image = item.image;
  if (typeof image !== 'object' || image === null) return undefined;
  const url = str(image as Item, 'url');
  const caption = optStr(image as Item, 'caption');
  return caption === undefined ? { url } : { url, caption };
};

/** Fields an event may lack; a listing copy must lose them when the event does. */
const OPTIONAL_EVENT_FIELDS = ['topic', 'image'] as const;

/** The attributes an event or tombstone is stored with (without keys). */
const eventAttributes = (event: StoredEvent): Item => ({ ...event });

/**
 * The stored item of an event. The stamp's attributes (`writeId`, `publishedBy`, `updatedBy`) are
 * the operator's: `fromEventItem` never reads them, so no API read, feed, page or change message
 * carries them.
 */
export const toEventItem = (event: StoredEvent, stamp?: WriteStamp): Item => {
  const item: Item = { ...eventKey(event.id), type: 'event', ...eventAttributes(event) };
  if (stamp) {
    item.writeId = stamp.writeId;
    if (stamp.publishedBy) item.publishedBy = { ...stamp.publishedBy };
    if (stamp.updatedBy) item.updatedBy = { ...stamp.updatedBy };
  }
  if (!('deleted' in event)) {
    // Sparse indexes: a tombstone carries no index keys, so it drops out of every listing.
    item[TABLE.latestIndex.partitionKey] = latestPartition(latestShardOf(event.id));
    item[TABLE.latestIndex.sortKey] = latestSortKey(event.date, event.id);
    item[TABLE.dayIndex.partitionKey] = dayPartition(event.date);
    item[TABLE.dayIndex.sortKey] = daySortKey(event.publishedAt, event.id);
  }
  return item;
};

/** Maps an event item, a tombstone item or a tag entry back to the domain, field by field. */
export const fromEventItem = (item: Item): StoredEvent => {
  const base = {
    id: str(item, 'id'),
    date: str(item, 'date'),
    headline: str(item, 'headline'),
    tags: tagsOf(item),
    publishedAt: str(item, 'publishedAt'),
    updatedAt: str(item, 'updatedAt'),
    revision: num(item, 'revision'),
  };
  const topic = optStr(item, 'topic');
  if (item.deleted === true) {
    const tombstone: Tombstone = { ...base, deletedAt: str(item, 'deletedAt'), deleted: true };
    if (topic !== undefined) tombstone.topic = topic;
    return tombstone;
  }
  const event: NewsEvent = { ...base, body: optStr(item, 'body') ?? '', sources: sourcesOf(item) };
  if (topic !== undefined) event.topic = topic;
  const image = imageOf(item);
  if (image) event.image = image;
  // Keep the field order of a freshly created event for stable JSON.
  return {
    id: event.id,
    date: event.date,
    headline: event.headline,
    body: event.body,
    ...(event.topic !== undefined ? { topic: event.topic } : {}),
    tags: event.tags,
    sources: event.sources,
    ...(event.image ? { image: event.image } : {}),
    publishedAt: event.publishedAt,
    updatedAt: event.updatedAt,
    revision: event.revision,
  };
};

const attributionOf = (value: unknown): Attribution | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const keyId = optStr(value as Item, 'keyId');
  const keyName = optStr(value as Item, 'keyName');
  return keyId !== undefined && keyName !== undefined ? { keyId, keyName } : undefined;
};

/** An event item with its write stamp. */
export const fromEventRecordItem = (item: Item): EventRecord => {
  const record: EventRecord = { event: fromEventItem(item) };
  const writeId = optStr(item, 'writeId');
  const publishedBy = attributionOf(item.publishedBy);
  const updatedBy = attributionOf(item.updatedBy);
  if (writeId !== undefined) record.writeId = writeId;
  if (publishedBy) record.publishedBy = publishedBy;
  if (updatedBy) record.updatedBy = updatedBy;
  return record;
};

/** The fields `fromSummaryItem` reads: a projection of event items for listings. */
const SUMMARY_PROJECTION = {
  ProjectionExpression: '#id, #date, headline, topic, tags, publishedAt, updatedAt, revision',
  ExpressionAttributeNames: { '#id': 'id', '#date': 'date' },
};

/**
 * A tag entry's `listing`: its event's summary as JSON (the tag listing index holds only this).
 * Tags are kept as `[slug, name]` pairs.
 */
const listingOf = (event: NewsEvent): string =>
  JSON.stringify({
    id: event.id,
    date: event.date,
    headline: event.headline,
    ...(event.topic !== undefined ? { topic: event.topic } : {}),
    tags: event.tags.map((t) => [t.slug, t.name]),
    publishedAt: event.publishedAt,
    updatedAt: event.updatedAt,
    revision: event.revision,
  });

/**
 * A tag entry's attributes besides its key: the event, its place in the tag listing index, and
 * `changedAt`, when this revision was first projected (the change log's time for it, kept for
 * replays).
 */
export const tagEntryAttributes = (slug: string, event: NewsEvent, changedAt: string): Item => ({
  type: 'tagEntry',
  ...eventAttributes(event),
  ...tagListingKey(slug),
  listing: listingOf(event),
  changedAt,
});

/** A summary from the tag listing index, or undefined for an entry written without a listing. */
const fromListingItem = (item: Item): EventSummary | undefined => {
  const listing = optStr(item, 'listing');
  if (listing === undefined) return undefined;
  const fields = JSON.parse(listing) as Item & { tags: [string, string][] };
  return fromSummaryItem({ ...fields, tags: fields.tags.map(([slug, name]) => ({ slug, name })) });
};

const fromSummaryItem = (item: Item): EventSummary => {
  const summary: EventSummary = {
    id: str(item, 'id'),
    date: str(item, 'date'),
    headline: str(item, 'headline'),
    tags: tagsOf(item),
    publishedAt: str(item, 'publishedAt'),
    updatedAt: str(item, 'updatedAt'),
    revision: num(item, 'revision'),
  };
  const topic = optStr(item, 'topic');
  if (topic !== undefined) summary.topic = topic;
  return summary;
};

/** DynamoDB's answer to a query on an index the table does not have. */
const isMissingIndex = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ValidationException' && /specified index/.test(error.message);

const liveOnly = (events: StoredEvent[]): NewsEvent[] =>
  events.filter((e): e is NewsEvent => !('deleted' in e));

const toTagSummary = (item: Item): TagSummary => ({
  slug: str(item, 'slug'),
  name: str(item, 'name'),
  count: num(item, 'count'),
});

interface CursorBody {
  /** The listing the cursor belongs to, so a cursor cannot be replayed against another. */
  l: string;
  k: Item;
}

const encodeCursor = (listing: string, key: Item | undefined): string | undefined =>
  key
    ? Buffer.from(JSON.stringify({ l: listing, k: key } satisfies CursorBody)).toString('base64url')
    : undefined;

/**
 * The key a cursor resumes from. It must hold exactly the attributes `expected` names, all
 * strings, and `partition` must match the listing's partition attribute: anything else is a 400,
 * never a key passed on to DynamoDB.
 */
const decodeCursor = (
  listing: string,
  cursor: string | undefined,
  expected: readonly string[],
  partition?: [attribute: string, value: string],
): Item | undefined => {
  if (cursor === undefined) return undefined;
  const invalid = ValidationError.of(
    'query.cursor',
    'is not a cursor returned by this listing (start again without it)',
  );
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (typeof body !== 'object' || body === null) throw invalid;
  const { l, k } = body as Partial<CursorBody>;
  if (l !== listing || typeof k !== 'object' || k === null || Array.isArray(k)) throw invalid;
  const keys = Object.keys(k).sort();
  if (keys.join() !== [...expected].sort().join()) throw invalid;
  if (!Object.values(k).every((v) => typeof v === 'string' && v.length > 0 && v.length <= 1024))
    throw invalid;
  if (partition && k[partition[0]] !== partition[1]) throw invalid;
  // Only keys of items this listing returns: an event item for a day, a tag entry for a tag.
  const { PK, SK } = k as { PK?: string; SK?: string };
  if (PK !== undefined && !(PK.startsWith('EVENT#') || PK.startsWith('TAG#'))) throw invalid;
  if (SK !== undefined && SK !== EVENT_SK && !SK.startsWith(TAG_ENTRY_PREFIX)) throw invalid;
  if (PK?.startsWith('EVENT#') && SK !== EVENT_SK) throw invalid;
  if (PK?.startsWith('TAG#') && !SK?.startsWith(TAG_ENTRY_PREFIX)) throw invalid;
  return k;
};

/**
 * A scan resumes after any item of the table (the last one it evaluated, whatever the filter kept),
 * so its cursor is that item's key: two strings.
 */
const decodeScanCursor = (cursor: string | undefined): Item | undefined => {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const { PK, SK, ...rest } = (typeof key === 'object' && key !== null ? key : {}) as Item;
  if (typeof PK !== 'string' || typeof SK !== 'string' || Object.keys(rest).length > 0) {
    throw ValidationError.of('cursor', 'is not a cursor printed by this scan (start again without it)');
  }
  return { PK, SK };
};

export const makeEventStore = (
  db: DynamoDBDocumentClient,
  tableName: string,
): EventStore & ListingStore & PublishStore & MigrationStore => {
  const getEvent = async (id: string, consistent = false): Promise<StoredEvent | undefined> => {
    const { Item } = await db.send(
      new GetCommand({ TableName: tableName, Key: eventKey(id), ConsistentRead: consistent }),
    );
    return Item ? fromEventItem(Item) : undefined;
  };

  const queryPage = async (
    listing: string,
    input: Omit<QueryCommandInput, 'TableName'>,
    page: PageRequest,
    keyAttributes: readonly string[],
    partition: [string, string],
  ): Promise<Page<NewsEvent>> => {
    const startKey = decodeCursor(listing, page.cursor, keyAttributes, partition);
    const out = await db.send(
      new QueryCommand({ ...input, TableName: tableName, Limit: page.limit, ExclusiveStartKey: startKey }),
    );
    const cursor = encodeCursor(listing, out.LastEvaluatedKey);
    return { items: liveOnly((out.Items ?? []).map(fromEventItem)), ...(cursor ? { cursor } : {}) };
  };

  const latestShardPage = async (shard: number, page: PageRequest) => {
    if (!Number.isInteger(shard) || shard < 0 || shard >= LATEST_SHARDS)
      throw new RangeError(`no latest shard ${shard}`);
    const { partitionKey: pk, sortKey: sk, name } = TABLE.latestIndex;
    const listing = latestPartition(shard);
    const startKey = decodeCursor(
      listing,
      page.cursor,
      [TABLE.partitionKey, TABLE.sortKey, pk, sk],
      [pk, listing],
    );
    const out = await db.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeValues: { ':pk': listing },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: startKey,
        ExpressionAttributeNames: { '#pk': pk },
      }),
    );
    const cursor = encodeCursor(listing, out.LastEvaluatedKey);
    return { items: out.Items ?? [], ...(cursor ? { cursor } : {}) };
  };

  let tagIndexMissing = false;
  const listTagSummaries: PublishStore['listTagSummaries'] = async (slug, page, from = 'index') => {
    const listing = tagEntryPartition(slug);
    const { name, partitionKey } = TABLE.tagIndex;
    const viaIndex = from === 'index' && !tagIndexMissing;
    const startKey = decodeCursor(
      listing,
      page.cursor,
      viaIndex ? [TABLE.partitionKey, TABLE.sortKey, partitionKey] : [TABLE.partitionKey, TABLE.sortKey],
      [TABLE.partitionKey, listing],
    );
    const query = {
      TableName: tableName,
      ScanIndexForward: false,
      Limit: page.limit,
      ExclusiveStartKey: startKey,
    };
    let out: QueryCommandOutput;
    try {
      out = await db.send(
        viaIndex
          ? new QueryCommand({
              ...query,
              IndexName: name,
              KeyConditionExpression: '#pk = :pk',
              ExpressionAttributeNames: { '#pk': partitionKey },
              ExpressionAttributeValues: { ':pk': listing },
              ProjectionExpression: 'listing',
            })
          : new QueryCommand({
              ...query,
              KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
              ExpressionAttributeValues: { ':pk': listing, ':prefix': TAG_ENTRY_PREFIX },
              ...SUMMARY_PROJECTION,
            }),
      );
    } catch (error) {
      // A local table made before the index existed (dynalite cannot add one): read the entries.
      if (!viaIndex || !isMissingIndex(error)) throw error;
      tagIndexMissing = true;
      logger.warn('the table has no tag listing index; reading tag entries instead', { index: name });
      return listTagSummaries(slug, page, 'entries');
    }
    const cursor = encodeCursor(listing, out.LastEvaluatedKey);
    const items = viaIndex
      ? (out.Items ?? []).flatMap((item) => fromListingItem(item) ?? [])
      : (out.Items ?? []).map(fromSummaryItem);
    return { items, ...(cursor ? { cursor } : {}) };
  };

  return {
    getEvent: (id) => getEvent(id, true),

    async scanEvents(page) {
      const out = await db.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: 'begins_with(PK, :event) AND SK = :sk',
          ExpressionAttributeValues: { ':event': 'EVENT#', ':sk': EVENT_SK },
          Limit: page.limit,
          ExclusiveStartKey: decodeScanCursor(page.cursor),
          ConsistentRead: true,
        }),
      );
      const cursor = out.LastEvaluatedKey
        ? Buffer.from(JSON.stringify(out.LastEvaluatedKey)).toString('base64url')
        : undefined;
      return { items: (out.Items ?? []).map(fromEventRecordItem), ...(cursor ? { cursor } : {}) };
    },

    async getEventRecord(id) {
      const { Item } = await db.send(
        new GetCommand({ TableName: tableName, Key: eventKey(id), ConsistentRead: true }),
      );
      return Item ? fromEventRecordItem(Item) : undefined;
    },

    async listLatestShard(shard, page) {
      const { items, cursor } = await latestShardPage(shard, page);
      return { items: liveOnly(items.map(fromEventItem)), ...(cursor ? { cursor } : {}) };
    },

    listTagSummaries,

    async putEvent(next, previous, stamp) {
      try {
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: toEventItem(next, stamp),
            ConditionExpression: previous ? IS_AT_REVISION : IS_ABSENT,
            ...(previous ? { ExpressionAttributeValues: { ':expected': previous.revision } } : {}),
          }),
        );
      } catch (error) {
        if (isConditionFailure(error)) {
          throw new ConcurrentWriteError(`event ${next.id} changed while it was being written`, {
            cause: error,
          });
        }
        throw error;
      }
    },

    listDay: (date, page) =>
      queryPage(
        dayPartition(date),
        {
          IndexName: TABLE.dayIndex.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': TABLE.dayIndex.partitionKey },
          ExpressionAttributeValues: { ':pk': dayPartition(date) },
          ScanIndexForward: false,
        },
        page,
        [TABLE.partitionKey, TABLE.sortKey, TABLE.dayIndex.partitionKey, TABLE.dayIndex.sortKey],
        [TABLE.dayIndex.partitionKey, dayPartition(date)],
      ),

    listTag: (slug, page) =>
      queryPage(
        tagEntryPartition(slug),
        {
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
          ExpressionAttributeValues: { ':pk': tagEntryPartition(slug), ':prefix': TAG_ENTRY_PREFIX },
          ScanIndexForward: false,
        },
        page,
        [TABLE.partitionKey, TABLE.sortKey],
        [TABLE.partitionKey, tagEntryPartition(slug)],
      ),

    async listLatest(page) {
      const after = decodeCursor('LATEST', page.cursor, ['after'])?.after;
      const { partitionKey: pk, sortKey: sk, name } = TABLE.latestIndex;
      // Scatter over the shards, gather the newest `limit` of all.
      const shards = await Promise.all(
        Array.from({ length: LATEST_SHARDS }, (_, shard) =>
          db.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: name,
              KeyConditionExpression: after ? '#pk = :pk AND #sk < :after' : '#pk = :pk',
              ExpressionAttributeNames: { '#pk': pk, ...(after ? { '#sk': sk } : {}) },
              ExpressionAttributeValues: {
                ':pk': latestPartition(shard),
                ...(after ? { ':after': after } : {}),
              },
              ScanIndexForward: false,
              Limit: page.limit,
            }),
          ),
        ),
      );
      const merged = shards
        .flatMap((out) => out.Items ?? [])
        .sort((a, b) => (String(a[sk]) < String(b[sk]) ? 1 : String(a[sk]) > String(b[sk]) ? -1 : 0));
      const items = merged.slice(0, page.limit);
      const more = merged.length > page.limit || shards.some((out) => out.LastEvaluatedKey !== undefined);
      const last = items.at(-1);
      const cursor = more && last ? encodeCursor('LATEST', { after: String(last[sk]) }) : undefined;
      return { items: liveOnly(items.map(fromEventItem)), ...(cursor ? { cursor } : {}) };
    },

    async getTag(slug) {
      const { Item } = await db.send(new GetCommand({ TableName: tableName, Key: tagKey(slug) }));
      return Item ? toTagSummary(Item) : undefined;
    },

    async listTags() {
      const tags: TagSummary[] = [];
      let startKey: Item | undefined;
      do {
        const out = await db.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': TAGS_PARTITION },
            ExclusiveStartKey: startKey,
          }),
        );
        tags.push(...(out.Items ?? []).map(toTagSummary));
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return tags;
    },

    async getEventsNow(ids) {
      const keys = [...new Set(ids)].map((id) => ({ ...eventKey(id) }));
      const found = new Map<string, StoredEvent>();
      for (const item of await batchGetAll(db, tableName, keys, true)) {
        const event = fromEventItem(item);
        found.set(event.id, event);
      }
      return found;
    },

    async upsertTagEntry(slug, event, changedAt = event.updatedAt) {
      // An update, not a put, so an existing entry keeps its `counted` flag.
      const attributes = tagEntryAttributes(slug, event, changedAt);
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = { ':revision': event.revision, ':false': false };
      const sets = Object.entries(attributes).map(([name, value], i) => {
        names[`#a${i}`] = name;
        values[`:a${i}`] = value;
        return `#a${i} = :a${i}`;
      });
      // A correction that drops the topic or the image must drop it from the listing too.
      const removes = OPTIONAL_EVENT_FIELDS.filter((field) => !(field in attributes)).map((field, i) => {
        names[`#r${i}`] = field;
        return `#r${i}`;
      });
      try {
        const out = await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: tagEntryKey(slug, event.date, event.id),
            UpdateExpression:
              `SET ${sets.join(', ')}, counted = if_not_exists(counted, :false)` +
              (removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''),
            ConditionExpression: OLDER_THAN,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_OLD',
          }),
        );
        if (!out.Attributes) return 'created';
        return out.Attributes.counted === true ? 'updated' : 'uncounted';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return 'current';
      }
    },

    async entryChangedAt(slug, date, id) {
      const out = await db.send(
        new GetCommand({ TableName: tableName, Key: tagEntryKey(slug, date, id), ConsistentRead: true }),
      );
      const item = out.Item;
      if (!item || typeof item.changedAt !== 'string' || typeof item.revision !== 'number') return undefined;
      return { changedAt: item.changedAt, revision: item.revision };
    },

    async logChange(change) {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            ...changeLogKey(change.changedAt, change.id),
            type: 'change',
            ...change,
            [TABLE.ttlAttribute]: Math.floor(Date.parse(change.changedAt) / 1000) + CHANGE_LOG_TTL_SECONDS,
          },
        }),
      );
    },

    async markEntryCounted(slug, date, id) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: tagEntryKey(slug, date, id),
            UpdateExpression: 'SET counted = :true',
            ConditionExpression: 'attribute_exists(PK)',
            ExpressionAttributeValues: { ':true': true },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // Removed meanwhile: nothing left to flag.
      }
    },

    async removeTagEntry(slug, date, id, revision) {
      try {
        const out = await db.send(
          new DeleteCommand({
            TableName: tableName,
            Key: tagEntryKey(slug, date, id),
            ConditionExpression: EXISTS_NOT_NEWER,
            ExpressionAttributeValues: { ':revision': revision },
            ReturnValues: 'ALL_OLD',
          }),
        );
        return out.Attributes?.counted === true ? 'removed' : 'removed-uncounted';
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const { Item } = await db.send(
          new GetCommand({ TableName: tableName, Key: tagEntryKey(slug, date, id), ConsistentRead: true }),
        );
        return Item ? 'newer' : 'absent';
      }
    },

    async adjustTagCount(slug, name, delta) {
      const out = await db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: tagKey(slug),
          UpdateExpression: 'SET #type = :type, slug = :slug, #name = :name ADD #count :delta, version :one',
          ExpressionAttributeNames: { '#type': 'type', '#name': 'name', '#count': 'count' },
          ExpressionAttributeValues: {
            ':type': 'tag',
            ':slug': slug,
            ':name': name,
            ':delta': delta,
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (typeof out.Attributes?.count === 'number' && out.Attributes.count <= 0) {
        try {
          await db.send(
            new DeleteCommand({
              TableName: tableName,
              Key: tagKey(slug),
              ConditionExpression: IS_EMPTY,
              ExpressionAttributeNames: { '#count': 'count' },
              ExpressionAttributeValues: { ':zero': 0 },
            }),
          );
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          // Another change added to the tag in the meantime: it is not empty any more.
        }
      }
    },

    async recountTag(slug, name) {
      for (let attempt = 0; ; attempt++) {
        const { Item: summary } = await db.send(
          new GetCommand({ TableName: tableName, Key: tagKey(slug), ConsistentRead: true }),
        );
        const version = typeof summary?.version === 'number' ? summary.version : undefined;
        let count = 0;
        let startKey: Item | undefined;
        do {
          const out = await db.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
              ExpressionAttributeValues: { ':pk': tagEntryPartition(slug), ':prefix': TAG_ENTRY_PREFIX },
              Select: 'COUNT',
              ConsistentRead: true,
              ExclusiveStartKey: startKey,
            }),
          );
          count += out.Count ?? 0;
          startKey = out.LastEvaluatedKey;
        } while (startKey);
        const guard = {
          ConditionExpression: AT_VERSION,
          ExpressionAttributeValues: { ':version': version ?? 0 },
        };
        try {
          if (count === 0) {
            await db.send(new DeleteCommand({ TableName: tableName, Key: tagKey(slug), ...guard }));
          } else {
            await db.send(
              new PutCommand({
                TableName: tableName,
                Item: { ...tagKey(slug), type: 'tag', slug, name, count, version: (version ?? 0) + 1 },
                ...guard,
              }),
            );
          }
          return count;
        } catch (error) {
          if (!isConditionFailure(error) || attempt >= 5) throw error;
          // An adjustment landed while counting: count again.
        }
      }
    },

    async listMarks(kind) {
      const marks = new Map<string, MarkRecord>();
      let startKey: Item | undefined;
      do {
        const out = await db.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': markPartition(kind) },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of out.Items ?? []) {
          const key = str(item, 'key');
          const markedAt = str(item, 'markedAt');
          const mark = marks.get(key);
          if (!mark) marks.set(key, { kind, key, markedAt, stamps: [str(item, 'SK')] });
          else {
            mark.stamps.push(str(item, 'SK'));
            if (markedAt > mark.markedAt) mark.markedAt = markedAt;
          }
        }
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return [...marks.values()];
    },

    clearMarks: (marks) =>
      batchDeleteAll(
        db,
        tableName,
        marks.flatMap((mark) => mark.stamps.map((SK) => ({ PK: markPartition(mark.kind), SK }))),
      ),

    async markDirty(marks, at) {
      const unique = [...new Map(marks.map((m) => [`${m.kind}#${m.key}`, m])).values()];
      // Two batches of changes stamped the same millisecond still write marks of their own.
      const nonce = randomBytes(4).toString('hex');
      await batchPutAll(
        db,
        tableName,
        unique.map((mark) => ({
          ...markKey(mark.kind, mark.key, at, nonce),
          type: 'mark',
          kind: mark.kind,
          key: mark.key,
          markedAt: at,
        })),
      );
    },
  };
};

export { EVENT_SK };
