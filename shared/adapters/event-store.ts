import { randomBytes } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  type ScanCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Attribution,
  type Image,
  isTombstone,
  type NewsEvent,
  type Source,
  type StoredEvent,
  type Tag,
  type Tombstone,
} from '../domain/event.js';
import type { EventSummary } from '../domain/related.js';
import { type CountOp, opMarker, parseOpMarker, unreflected } from '../domain/tag-count.js';
import { ConcurrentWriteError, ValidationError } from '../errors.js';
import {
  changeLogKey,
  counterKey,
  dayEntryKey,
  dayEntryPartitions,
  dayPartitions,
  EVENT_SK,
  eventKey,
  LATEST_SHARDS,
  latestPartition,
  latestShardOf,
  latestSortKey,
  MARK_SHARDS,
  markKey,
  markPartition,
  PARTITION_PREFIX,
  TABLE,
  TAG_ENTRY_PREFIX,
  TAG_SHARDS,
  TAGS_PARTITION,
  tagEntryKey,
  tagEntryPartition,
  tagKey,
} from '../keys.js';
import { mapLimit } from '../map-limit.js';
import {
  batchDeleteAll,
  batchGetAll,
  batchPutAll,
  batchWriteAll,
  type Item,
  isConditionFailure,
  num,
  optStr,
  queryAll,
  str,
} from './items.js';
import { listTagsWithCounts, queryTagSummaries, withCounts } from './tag-summaries.js';

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
  /** Derived items of the layout before issue 16: whole-event tag entries, one-key marks. */
  scanLegacyDerived(page: PageRequest): Promise<Page<LegacyDerived>>;
  /**
   * Writes an old entry as a slim one in its shard (unless one at its revision or newer is there),
   * then deletes the old one. True when the slim entry was written.
   */
  moveLegacyEntry(entry: Extract<LegacyDerived, { kind: 'entry' }>): Promise<boolean>;
  /** Rewrites old marks as packed ones (with their times), then deletes them. */
  moveLegacyMarks(marks: readonly Extract<LegacyDerived, { kind: 'mark' }>[]): Promise<void>;
  /** Writes the day entries of events still on the day index, then takes them off it. */
  moveLegacyDays(days: readonly Extract<LegacyDerived, { kind: 'day' }>[]): Promise<void>;
}

/** A derived item of the old layout, as the migration reads it. */
export type LegacyDerived =
  | { kind: 'entry'; slug: string; event: NewsEvent; changedAt: string; key: { PK: string; SK: string } }
  | { kind: 'mark'; mark: Mark; markedAt: string; key: { PK: string; SK: string } }
  | { kind: 'day'; entry: DayEntry; key: { PK: string; SK: string } };

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
  /**
   * Every tag with events, and how many: the counts of tags in `counted` as given (a reader that
   * knows them, e.g. the publisher's last run), the others summed from their counter shards.
   */
  listTags(counted?: ReadonlyMap<string, number>): Promise<TagSummary[]>;
}

/** A tag's entry of an event, as the projection reads it. */
export interface EntryState {
  revision: number;
  /** The revision whose `+` op counted this entry (see shared/domain/tag-count.ts). */
  counted: number;
  /** When this revision was first projected (the change log's time for it, kept for replays). */
  changedAt: string;
}

/** One shard of a tag's count, with the ops applied to it that are still marked. */
export interface CounterState {
  count: number;
  version: number;
  ops: CountOp[];
}

/** A counter shard after some ops: its count before and after them. */
export interface CounterMove {
  before: number;
  after: number;
}

/** One shard of a tag as `npm run counts` sees it. */
export interface ShardAudit {
  shard: number;
  /** Entries in the shard (a COUNT query). */
  entries: number;
  /** What the counter says. */
  counted: number;
  /** Ops on the counter not yet shown by their entries: a change in flight, not repaired now. */
  inFlight: number;
  repaired: boolean;
}

/** Where an entry is: `${slug}\n${id}`, as `readEntries` keys its answer. */
export const entryRef = (slug: string, id: string): string => `${slug}\n${id}`;
/** Where a counter shard is: `${slug}#${shard}`, as `readCounters` keys its answer. */
export const counterRef = (slug: string, shard: number): string => `${slug}#${shard}`;

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

/**
 * The batch of changes a mark's stamp came from. One batch marks its events and their days (and
 * tags, and the site) together: a day mark whose batch has no event mark left was marked with
 * events whose marks are cleared.
 */
export const markBatchOf = (stamp: string): string => {
  const sk = stamp.slice(stamp.indexOf('\n') + 1);
  return sk.slice(0, sk.lastIndexOf('#'));
};

/** What the publisher reads and clears. */
export interface PublishStore {
  /** What is marked, one record per key. */
  listMarks(kind: Mark['kind']): Promise<MarkRecord[]>;
  /**
   * What is marked, oldest first, a stored mark at a time: each of its keys with that mark's stamp
   * (a key marked by several batches comes once per batch). Reads a page of each shard at a time,
   * so a backlog of any size is walked in bounded memory; `clearMarks` takes what it yields.
   */
  walkMarks(kind: Mark['kind']): AsyncGenerator<MarkRecord[]>;
  /**
   * Removes the stored marks these records were read from, unconditionally and in batches. A change
   * that arrived since wrote a mark of its own, which stays.
   */
  clearMarks(marks: readonly MarkRecord[]): Promise<void>;
  /**
   * One shard (0 to LATEST_SHARDS - 1) of the latest-events index, newest first (by date, then id):
   * walking every shard reads every live event once, in pages of up to 1 MB.
   */
  listLatestShard(shard: number, page: PageRequest, month?: string): Promise<Page<NewsEvent>>;
  /**
   * One shard of the latest-events index for one month (`YYYY-MM`), or all of it, newest first,
   * with what listings show only: the month's archive reads every event of it without their
   * bodies, the full publish's plan every event.
   */
  listMonthSummaries(shard: number, page: PageRequest, month?: string): Promise<Page<EventSummary>>;
  /** A tag's events newest first, like `listTag`, with what listings show only (its entries' listings). */
  listTagSummaries(slug: string, page: PageRequest): Promise<Page<EventSummary>>;
}

/** The derived listings and publishing marks, kept by the change-stream projection. */
export interface ListingStore {
  /** Strongly consistent reads of many events (missing ids are absent from the map). */
  getEventsNow(ids: readonly string[]): Promise<Map<string, StoredEvent>>;
  /** Strongly consistent reads of tag entries, keyed by `entryRef` (absent ones missing). */
  readEntries(refs: readonly { slug: string; date: string; id: string }[]): Promise<Map<string, EntryState>>;
  /** Strongly consistent reads of counter shards, keyed by `counterRef` (absent ones missing). */
  readCounters(shards: readonly { slug: string; shard: number }[]): Promise<Map<string, CounterState>>;
  /**
   * Applies `ops` to one counter shard in one write, each with its marker (a marker already there
   * fails the whole write: the caller reads again), and removes the markers of `prune`.
   */
  applyCountOps(
    slug: string,
    shard: number,
    name: string,
    ops: readonly CountOp[],
    prune: readonly CountOp[],
  ): Promise<CounterMove>;
  /**
   * Writes a tag's entry of an event, counted at `counted`, only if the stored entry is the one
   * planned from: counted at `expected`, or absent when `expected` is undefined. False otherwise.
   */
  putTagEntry(
    slug: string,
    event: NewsEvent,
    changedAt: string,
    counted: number,
    expected: number | undefined,
  ): Promise<boolean>;
  /** Removes a tag's entry of an event if it is still counted at `counted`. False otherwise. */
  deleteTagEntry(slug: string, date: string, id: string, counted: number): Promise<boolean>;
  /**
   * Brings the tag's summary (`TAGS`) in line with its counter shards when it is missing, renamed,
   * or on the wrong side of zero: its name and a snapshot of its count, guarded by the counters'
   * summed versions so an older snapshot never lands last. Otherwise writes nothing.
   */
  refreshTagSummary(slug: string, name: string): Promise<void>;
  /**
   * Puts the day entries of live events and deletes the others (unconditional, idempotent: each
   * names an event and the time it was published, nothing that changes). Each key at most once.
   */
  writeDayEntries(puts: readonly DayEntry[], deletes: readonly DayEntry[]): Promise<void>;
  /** Logs that an event changed at `changedAt` (idempotent: the same change logs the same item). */
  logChanges(changes: readonly LoggedChange[]): Promise<void>;
  /** Marks what the publisher must rebuild, stamped with `at`, beside any marks already there. */
  markDirty(marks: readonly Mark[], at: string): Promise<void>;
  /**
   * Sets each counter shard of a tag from its entries where it differs and nothing is in flight
   * there (guarded by its version), refreshes the summary, and returns the tag's count. An
   * operator's and the publisher's repair: it counts the tag's entries, never on the change path.
   */
  recountTag(slug: string, name: string): Promise<number>;
  /** Each shard of a tag: its entries, its counter, ops in flight; repairs when asked (see recountTag). */
  auditTag(slug: string, repair: boolean, name?: string): Promise<ShardAudit[]>;
  /** Every tag summary's slug and name, whatever its count (an operator's walk over the tags). */
  listTagNames(): Promise<{ slug: string; name: string }[]>;
}

/** An event's place in its day's listing. */
export interface DayEntry {
  date: string;
  id: string;
  publishedAt: string;
}

/** One line of the change log. */
export interface LoggedChange {
  id: string;
  revision: number;
  changedAt: string;
}

/** Change log items expire (TTL) well after any digest window could still need them. */
const CHANGE_LOG_TTL_SECONDS = 62 * 24 * 60 * 60;

interface IndexKeys {
  name: string;
  pk: string;
  sk: string;
}
/** The day index, where events written before day entries are listed (read until migrated). */
const LEGACY_DAY_INDEX: IndexKeys = {
  name: TABLE.dayIndex.name,
  pk: TABLE.dayIndex.partitionKey,
  sk: TABLE.dayIndex.sortKey,
};

// Named condition fragments.
const IS_ABSENT = 'attribute_not_exists(PK)';
const IS_AT_REVISION = 'revision = :expected';
const IS_COUNTED_AT = 'counted = :counted';
const AT_VERSION = 'attribute_not_exists(PK) OR version = :version';
const OLDER_SNAPSHOT = 'attribute_not_exists(PK) OR attribute_not_exists(v) OR v < :v';
/** Keys of one batch's mark item: the publisher may clear some and leave the rest. */
const MARK_KEYS_PER_ITEM = 200;
/**
 * Stored marks read per query when walking a kind's marks (`walkMarks`): a page of each of the 4
 * shards is held at once, each mark at most 200 keys.
 */
const MARK_WALK_PAGE = 100;

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
    // No day index key: a day's listing is its day entries, which the stream writes (keys only,
    // where a copy of the whole event in an index cost three times the units).
  }
  return item;
};

/** The stored item of a day entry (keys only: readers read the event). */
export const toDayEntryItem = (entry: DayEntry): Item => ({
  ...dayEntryKey(entry.date, entry.id, entry.publishedAt),
  type: 'day',
  date: entry.date,
  id: entry.id,
  publishedAt: entry.publishedAt,
});

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

/**
 * A tag entry's `listing`: its event's summary as JSON, one string to decode rather than some 25
 * attribute values.
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
 * A tag entry's attributes besides its key: what listings show (`listing`), the revision, the op
 * that counted it (`counted`) and `changedAt`, when this revision was first projected (the change
 * log's time for it, kept for replays). Nothing else of the event: listings read only this.
 */
export const tagEntryAttributes = (
  _slug: string,
  event: NewsEvent,
  changedAt: string,
  counted: number = event.revision,
): Item => ({
  type: 'tagEntry',
  listing: listingOf(event),
  revision: event.revision,
  counted,
  changedAt,
});

/** A summary from a tag entry, or undefined for an item without a listing. */
const fromListingItem = (item: Item): EventSummary | undefined => {
  const listing = optStr(item, 'listing');
  if (listing === undefined) return undefined;
  const fields = JSON.parse(listing) as Item & { tags: [string, string][] };
  return fromSummaryItem({ ...fields, tags: fields.tags.map(([slug, name]) => ({ slug, name })) });
};

/** The attributes of an event item a summary is made of (`fromSummaryItem`). */
const SUMMARY_ATTRIBUTES = [
  'id',
  'date',
  'headline',
  'topic',
  'tags',
  'publishedAt',
  'updatedAt',
  'revision',
];

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

/** A counter shard: its count, version and the op markers on it. */
const counterOf = (item: Item): CounterState => ({
  count: typeof item.count === 'number' ? item.count : 0,
  version: typeof item.version === 'number' ? item.version : 0,
  ops: Object.keys(item).flatMap((name) => parseOpMarker(name) ?? []),
});

const liveOnly = (events: StoredEvent[]): NewsEvent[] =>
  events.filter((e): e is NewsEvent => !('deleted' in e));

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

  /**
   * A page of one latest shard, newest first; with `month` (`YYYY-MM`), of that month's events only;
   * with `attributes`, of those only.
   */
  const latestShardPage = async (
    shard: number,
    page: PageRequest,
    month?: string,
    attributes?: readonly string[],
  ) => {
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
        KeyConditionExpression: month ? '#pk = :pk AND begins_with(#sk, :month)' : '#pk = :pk',
        ExpressionAttributeValues: { ':pk': listing, ...(month ? { ':month': `${month}-` } : {}) },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: startKey,
        ExpressionAttributeNames: {
          '#pk': pk,
          ...(month ? { '#sk': sk } : {}),
          ...Object.fromEntries((attributes ?? []).map((name, i) => [`#a${i}`, name])),
        },
        ...(attributes ? { ProjectionExpression: attributes.map((_, i) => `#a${i}`).join(', ') } : {}),
      }),
    );
    const cursor = encodeCursor(listing, out.LastEvaluatedKey);
    return { items: out.Items ?? [], ...(cursor ? { cursor } : {}) };
  };

  const MIN_SHARE = 25;

  /**
   * A page of a listing spread over partitions (of the table, or of an index): the newest `limit`
   * items of all, by their sort keys, which every source of one listing writes alike. Sources are
   * read backwards from the cursor, each for its share of the page and a little more (shards split
   * a listing about evenly); a source is read further only while what it holds may still be among
   * the newest `limit`, so a page costs about its own size, not `limit` from every source. The
   * cursor is the last sort key kept.
   */
  const mergedPage = async (
    listing: string,
    sources: readonly { pk: string; index?: IndexKeys }[],
    page: PageRequest,
    projection?: string,
  ): Promise<{ items: Item[]; cursor?: string }> => {
    const after = decodeCursor(listing, page.cursor, ['after'])?.after as string | undefined;
    // At least a few dozen: a request costs more than some items, and a small listing (a day's,
    // over 17 sources of which the legacy ones are mostly empty) is then read in one round.
    const share = Math.min(
      page.limit,
      Math.max(MIN_SHARE, Math.ceil((page.limit * 5) / (4 * sources.length)) + 2),
    );
    const states = sources.map((source) => ({
      source,
      keys: source.index ?? { pk: TABLE.partitionKey, sk: TABLE.sortKey },
      items: [] as { item: Item; sk: string }[],
      next: undefined as Item | undefined,
    }));
    const readMore = (state: (typeof states)[number], limit: number) =>
      (async () => {
        const { source, keys } = state;
        const out = await db.send(
          new QueryCommand({
            TableName: tableName,
            ...(source.index ? { IndexName: source.index.name } : {}),
            KeyConditionExpression: after ? '#pk = :pk AND #sk < :after' : '#pk = :pk',
            ExpressionAttributeNames: { '#pk': keys.pk, ...(after || projection ? { '#sk': keys.sk } : {}) },
            ExpressionAttributeValues: { ':pk': source.pk, ...(after ? { ':after': after } : {}) },
            ScanIndexForward: false,
            Limit: limit,
            ExclusiveStartKey: state.next,
            ...(projection ? { ProjectionExpression: projection } : {}),
          }),
        );
        state.items.push(...(out.Items ?? []).map((item) => ({ item, sk: String(item[keys.sk]) })));
        state.next = out.LastEvaluatedKey;
      })();
    const newestFirst = (a: { sk: string }, b: { sk: string }) => (a.sk < b.sk ? 1 : a.sk > b.sk ? -1 : 0);
    let merged: { item: Item; sk: string }[] = [];
    for (let pending = states; pending.length > 0; ) {
      await Promise.all(pending.map((state) => readMore(state, share)));
      merged = states.flatMap((state) => state.items).sort(newestFirst);
      // The newest `limit` are known once no source left unread could hold one newer than the last of them.
      const threshold = merged.length >= page.limit ? merged[page.limit - 1]?.sk : undefined;
      pending = states.filter(
        (state) =>
          state.next !== undefined && (threshold === undefined || (state.items.at(-1)?.sk ?? '') > threshold),
      );
    }
    const kept = merged.slice(0, page.limit);
    const more = merged.length > page.limit || states.some((state) => state.next !== undefined);
    const last = kept.at(-1);
    const cursor = more && last ? encodeCursor(listing, { after: last.sk }) : undefined;
    return { items: kept.map((k) => k.item), ...(cursor ? { cursor } : {}) };
  };

  const tagPartitions = (slug: string) =>
    Array.from({ length: TAG_SHARDS }, (_, shard) => tagEntryPartition(slug, shard));

  /** A tag's entries newest first, merged over its shards: their listings only. */
  const tagEntriesPage = (slug: string, page: PageRequest) =>
    mergedPage(
      `TAG#${slug}`,
      tagPartitions(slug).map((pk) => ({ pk })),
      page,
      '#sk, listing',
    );

  const listTagSummaries: PublishStore['listTagSummaries'] = async (slug, page) => {
    const { items, cursor } = await tagEntriesPage(slug, page);
    return { items: items.flatMap((item) => fromListingItem(item) ?? []), ...(cursor ? { cursor } : {}) };
  };

  const readCounters: ListingStore['readCounters'] = async (shards) => {
    const unique = new Map(shards.map((s) => [counterRef(s.slug, s.shard), s]));
    const keys = [...unique.values()].map((s) => ({ ...counterKey(s.slug, s.shard) }));
    const found = new Map<string, CounterState>();
    for (const item of await batchGetAll(db, tableName, keys, true)) {
      const pk = str(item, 'PK');
      const at = pk.lastIndexOf('#');
      found.set(`${pk.slice('COUNT#'.length, at)}#${pk.slice(at + 1)}`, counterOf(item));
    }
    return found;
  };

  const readEntries: ListingStore['readEntries'] = async (refs) => {
    const keys = [...new Map(refs.map((r) => [entryRef(r.slug, r.id), r])).values()].map((r) => ({
      ...tagEntryKey(r.slug, r.date, r.id),
    }));
    const found = new Map<string, EntryState>();
    for (const item of await batchGetAll(db, tableName, keys, true)) {
      const pk = str(item, 'PK');
      const slug = pk.slice('TAG#'.length, pk.lastIndexOf('#'));
      // `EVENT#<date>#<id>`: the date is ten characters.
      const id = str(item, 'SK').slice(TAG_ENTRY_PREFIX.length + 11);
      const revision = num(item, 'revision');
      found.set(entryRef(slug, id), {
        revision,
        counted: typeof item.counted === 'number' ? item.counted : revision,
        changedAt: optStr(item, 'changedAt') ?? '',
      });
    }
    return found;
  };

  const refreshTagSummary: ListingStore['refreshTagSummary'] = async (slug, name) => {
    const keys: Item[] = [
      tagKey(slug),
      ...Array.from({ length: TAG_SHARDS }, (_, shard) => counterKey(slug, shard)),
    ].map((key) => ({ ...key }));
    let count = 0;
    let v = 0;
    let summary: Item | undefined;
    for (const item of await batchGetAll(db, tableName, keys, true)) {
      if (item.PK === TAGS_PARTITION) summary = item;
      else {
        const counter = counterOf(item);
        count += counter.count;
        v += counter.version;
      }
    }
    // One partition holds every summary: it is written when a tag appears, goes or is renamed,
    // not on every move of its count (readers sum the counters; this count is a snapshot).
    const shown = typeof summary?.count === 'number' && summary.count > 0;
    if (summary && summary.name === name && shown === count > 0 && typeof summary.v === 'number') return;
    try {
      await db.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...tagKey(slug), type: 'tag', slug, name, count: Math.max(count, 0), v },
          ConditionExpression: OLDER_SNAPSHOT,
          ExpressionAttributeValues: { ':v': v },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // A snapshot of later counters is there already.
    }
  };

  const countEntries = async (slug: string, shard: number): Promise<number> =>
    (
      await queryAll(db, {
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': tagEntryPartition(slug, shard) },
        Select: 'COUNT',
        ConsistentRead: true,
      })
    ).count;

  const auditShard = async (
    slug: string,
    shard: number,
    repair: boolean,
    name?: string,
  ): Promise<ShardAudit> => {
    const counter = (await readCounters([{ slug, shard }])).get(counterRef(slug, shard));
    const ops = counter?.ops ?? [];
    const entries = await readEntries(ops.map((op) => ({ slug, date: op.date, id: op.id })));
    const byId = new Map<string, CountOp[]>();
    for (const op of ops) byId.set(op.id, [...(byId.get(op.id) ?? []), op]);
    let inFlight = 0;
    const reflected: CountOp[] = [];
    for (const [id, mine] of byId) {
      const open = unreflected(mine, entries.get(entryRef(slug, id)));
      inFlight += open.length;
      reflected.push(...mine.filter((op) => !open.includes(op)));
    }
    const counted = counter?.count ?? 0;
    const found = await countEntries(slug, shard);
    let repaired = false;
    if (repair && inFlight === 0 && (found !== counted || reflected.length > 0)) {
      const names: Record<string, string> = { '#count': 'count', '#type': 'type' };
      const removes = reflected.map((op, i) => {
        names[`#p${i}`] = opMarker(op);
        return `#p${i}`;
      });
      if (name !== undefined) names['#name'] = 'name';
      try {
        await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: counterKey(slug, shard),
            UpdateExpression:
              `SET #type = :type, #count = :count, version = :next, slug = :slug${name !== undefined ? ', #name = :name' : ''}` +
              (removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''),
            ConditionExpression: AT_VERSION,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ':count': found,
              ':next': (counter?.version ?? 0) + 1,
              ':version': counter?.version ?? 0,
              ':slug': slug,
              ':type': 'counter',
              ...(name !== undefined ? { ':name': name } : {}),
            },
          }),
        );
        repaired = found !== counted;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // A change moved the counter meanwhile: a later run settles it.
      }
    }
    return { shard, entries: found, counted, inFlight, repaired };
  };

  const auditTag: ListingStore['auditTag'] = async (slug, repair, name) => {
    const shards: ShardAudit[] = [];
    // One shard at a time: each count reads one shard's entries.
    for (let shard = 0; shard < TAG_SHARDS; shard++) shards.push(await auditShard(slug, shard, repair, name));
    return shards;
  };

  const markDirty: ListingStore['markDirty'] = async (marks, at) => {
    // Two batches of changes stamped the same millisecond still write marks of their own.
    const nonce = randomBytes(4).toString('hex');
    const byKind = new Map<Mark['kind'], Set<string>>();
    for (const mark of marks) byKind.set(mark.kind, (byKind.get(mark.kind) ?? new Set()).add(mark.key));
    const items: Item[] = [];
    for (const [kind, keys] of byKind) {
      const all = [...keys];
      for (let chunk = 0; chunk * MARK_KEYS_PER_ITEM < all.length; chunk++) {
        items.push({
          ...markKey(kind, at, nonce, chunk),
          type: 'mark',
          kind,
          keys: new Set(all.slice(chunk * MARK_KEYS_PER_ITEM, (chunk + 1) * MARK_KEYS_PER_ITEM)),
          markedAt: at,
        });
      }
    }
    await batchPutAll(db, tableName, items);
  };

  /** One page of a (one-off, operator's) scan, strongly consistent; its cursor is the last key, opaque. */
  const scanPage = async (
    page: { limit: number; cursor?: string },
    filter: Pick<
      ScanCommandInput,
      'FilterExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<{ items: Item[]; cursor?: string }> => {
    const out = await db.send(
      new ScanCommand({
        TableName: tableName,
        ...filter,
        Limit: page.limit,
        ExclusiveStartKey: decodeScanCursor(page.cursor),
        ConsistentRead: true,
      }),
    );
    const items = (out.Items ?? []) as Item[];
    return out.LastEvaluatedKey
      ? { items, cursor: Buffer.from(JSON.stringify(out.LastEvaluatedKey)).toString('base64url') }
      : { items };
  };

  /** Which partitions and which mark item each stored mark came from: clearing needs them. */
  const markItemSizes = new Map<string, number>();
  const stampOf = (pk: string, sk: string) => `${pk}\n${sk}`;

  return {
    getEvent: (id) => getEvent(id, true),

    async scanEvents(page) {
      const { items, cursor } = await scanPage(page, {
        FilterExpression: 'begins_with(PK, :event) AND SK = :sk',
        ExpressionAttributeValues: { ':event': PARTITION_PREFIX.event, ':sk': EVENT_SK },
      });
      return { items: items.map(fromEventRecordItem), ...(cursor ? { cursor } : {}) };
    },

    async scanLegacyDerived(page) {
      const scanned = await scanPage(page, {
        // Old entries copy their event (an `id`); old marks name one `key` (new ones hold `keys`);
        // events written before day entries carry the day index's key.
        FilterExpression:
          '(begins_with(PK, :tag) AND attribute_exists(#id)) OR (begins_with(PK, :mark) AND attribute_exists(#key))' +
          ' OR (begins_with(PK, :event) AND attribute_exists(#day))',
        ExpressionAttributeNames: { '#id': 'id', '#key': 'key', '#day': TABLE.dayIndex.partitionKey },
        ExpressionAttributeValues: { ':tag': 'TAG#', ':mark': 'MARK#', ':event': 'EVENT#' },
      });
      const { cursor } = scanned;
      const items = scanned.items.flatMap((item): LegacyDerived[] => {
        const key = { PK: str(item, 'PK'), SK: str(item, 'SK') };
        if (key.PK.startsWith('MARK#')) {
          const kind = str(item, 'kind') as Mark['kind'];
          return [
            { kind: 'mark', mark: { kind, key: str(item, 'key') }, markedAt: str(item, 'markedAt'), key },
          ];
        }
        const event = fromEventItem(item);
        if (key.PK.startsWith('EVENT#')) {
          const entry = { date: event.date, id: event.id, publishedAt: event.publishedAt };
          return [{ kind: 'day', entry, key }];
        }
        if (isTombstone(event)) return [];
        const slug = key.PK.slice('TAG#'.length);
        return [{ kind: 'entry', slug, event, changedAt: optStr(item, 'changedAt') ?? event.updatedAt, key }];
      });
      return { items, ...(cursor ? { cursor } : {}) };
    },

    async moveLegacyEntry({ slug, event, changedAt, key }) {
      let written = true;
      try {
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...tagEntryKey(slug, event.date, event.id),
              ...tagEntryAttributes(slug, event, changedAt),
            },
            ConditionExpression: 'attribute_not_exists(PK) OR revision < :revision',
            ExpressionAttributeValues: { ':revision': event.revision },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // The projection wrote this entry in the new layout already, at this revision or later.
        written = false;
      }
      await db.send(new DeleteCommand({ TableName: tableName, Key: key }));
      return written;
    },

    async moveLegacyMarks(marks) {
      const byTime = new Map<string, Mark[]>();
      for (const m of marks) byTime.set(m.markedAt, [...(byTime.get(m.markedAt) ?? []), m.mark]);
      for (const [at, group] of byTime) await markDirty(group, at);
      await batchDeleteAll(
        db,
        tableName,
        marks.map((m) => m.key),
      );
    },

    async moveLegacyDays(days) {
      await batchPutAll(
        db,
        tableName,
        days.map(({ entry }) => toDayEntryItem(entry)),
      );
      await mapLimit(days, 16, async ({ key }) => {
        try {
          await db.send(
            new UpdateCommand({
              TableName: tableName,
              Key: key,
              UpdateExpression: 'REMOVE #pk, #sk',
              // An event rewritten since the scan carries no day index key any more.
              ConditionExpression: 'attribute_exists(#pk)',
              ExpressionAttributeNames: { '#pk': TABLE.dayIndex.partitionKey, '#sk': TABLE.dayIndex.sortKey },
            }),
          );
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      });
    },

    async getEventRecord(id) {
      const { Item } = await db.send(
        new GetCommand({ TableName: tableName, Key: eventKey(id), ConsistentRead: true }),
      );
      return Item ? fromEventRecordItem(Item) : undefined;
    },

    async listLatestShard(shard, page, month) {
      if (month !== undefined && !/^\d{4}-\d{2}$/.test(month)) throw new RangeError(`not a month: ${month}`);
      const { items, cursor } = await latestShardPage(shard, page, month);
      return { items: liveOnly(items.map(fromEventItem)), ...(cursor ? { cursor } : {}) };
    },

    async listMonthSummaries(shard, page, month) {
      if (month !== undefined && !/^\d{4}-\d{2}$/.test(month)) throw new RangeError(`not a month: ${month}`);
      const { items, cursor } = await latestShardPage(shard, page, month, SUMMARY_ATTRIBUTES);
      return { items: items.map(fromSummaryItem), ...(cursor ? { cursor } : {}) };
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

    listDay: async (date, page) => {
      // Day entries, and events written before them that still carry the day index's keys (until
      // `tidings migrate`): one merged order, as both sort by `<publishedAt>#<id>`.
      const { items, cursor } = await mergedPage(
        `DAY#${date}`,
        [
          ...dayEntryPartitions(date).map((pk) => ({ pk })),
          ...dayPartitions(date).map((pk) => ({ pk, index: LEGACY_DAY_INDEX })),
        ],
        page,
      );
      const ids = new Set(items.flatMap((item) => (item.type === 'event' ? [] : [str(item, 'id')])));
      const events = new Map<string, StoredEvent>();
      for (const item of await batchGetAll(
        db,
        tableName,
        [...ids].map((id) => ({ ...eventKey(id) })),
        false,
      )) {
        const event = fromEventItem(item);
        events.set(event.id, event);
      }
      const seen = new Set<string>();
      const listed = items.flatMap((item) => {
        const event = item.type === 'event' ? fromEventItem(item) : events.get(str(item, 'id'));
        // An entry left by an earlier life of the id (deleted, then created again) names another time.
        if (!event || seen.has(event.id) || event.date !== date) return [];
        if (item.type !== 'event' && event.publishedAt !== str(item, 'publishedAt')) return [];
        seen.add(event.id);
        return [event];
      });
      return { items: liveOnly(listed), ...(cursor ? { cursor } : {}) };
    },

    async listTag(slug, page) {
      const { items, cursor } = await tagEntriesPage(slug, page);
      const ids = items.flatMap((item) => fromListingItem(item)?.id ?? []);
      const events = new Map<string, StoredEvent>();
      for (const item of await batchGetAll(
        db,
        tableName,
        ids.map((id) => ({ ...eventKey(id) })),
        false,
      )) {
        const event = fromEventItem(item);
        events.set(event.id, event);
      }
      const listed = ids.flatMap((id) => events.get(id) ?? []);
      return { items: liveOnly(listed), ...(cursor ? { cursor } : {}) };
    },

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
      if (!Item) return undefined;
      return (await withCounts(db, tableName, [Item]))[0];
    },

    listTags: (counted) => listTagsWithCounts(db, tableName, counted),

    async listTagNames() {
      const summaries = await queryTagSummaries(db, tableName, {
        ProjectionExpression: 'slug, #name',
        ExpressionAttributeNames: { '#name': 'name' },
      });
      return summaries.map((item) => ({ slug: str(item, 'slug'), name: str(item, 'name') }));
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

    readEntries,
    readCounters,
    refreshTagSummary,
    auditTag,

    async applyCountOps(slug, shard, name, ops, prune) {
      const names: Record<string, string> = { '#type': 'type', '#name': 'name', '#count': 'count' };
      const values: Record<string, unknown> = { ':type': 'counter', ':slug': slug, ':name': name, ':one': 1 };
      const delta = ops.reduce((sum, op) => sum + op.sign, 0);
      values[':delta'] = delta;
      // When each op was applied: for an operator reading a counter, nothing decides on it.
      if (ops.length > 0) values[':at'] = new Date().toISOString();
      const sets = ops.map((op, i) => {
        names[`#o${i}`] = opMarker(op);
        return `#o${i} = :at`;
      });
      const added = new Set(ops.map(opMarker));
      const removes = prune
        .filter((op) => !added.has(opMarker(op)))
        .map((op, i) => {
          names[`#p${i}`] = opMarker(op);
          return `#p${i}`;
        });
      const out = await db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: counterKey(slug, shard),
          UpdateExpression:
            `SET #type = :type, slug = :slug, #name = :name${sets.map((x) => `, ${x}`).join('')}` +
            ' ADD #count :delta, version :one' +
            (removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''),
          ...(ops.length > 0
            ? { ConditionExpression: ops.map((_, i) => `attribute_not_exists(#o${i})`).join(' AND ') }
            : {}),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const after = typeof out.Attributes?.count === 'number' ? out.Attributes.count : delta;
      return { before: after - delta, after };
    },

    async putTagEntry(slug, event, changedAt, counted, expected) {
      try {
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...tagEntryKey(slug, event.date, event.id),
              ...tagEntryAttributes(slug, event, changedAt, counted),
            },
            ConditionExpression: expected === undefined ? IS_ABSENT : IS_COUNTED_AT,
            ...(expected === undefined ? {} : { ExpressionAttributeValues: { ':counted': expected } }),
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return false;
      }
    },

    async deleteTagEntry(slug, date, id, counted) {
      try {
        await db.send(
          new DeleteCommand({
            TableName: tableName,
            Key: tagEntryKey(slug, date, id),
            ConditionExpression: IS_COUNTED_AT,
            ExpressionAttributeValues: { ':counted': counted },
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        return false;
      }
    },

    async recountTag(slug, name) {
      const shards = await auditTag(slug, true, name);
      await refreshTagSummary(slug, name);
      // A shard left alone (a change in flight there) counts what its counter says.
      return shards.reduce((sum, s) => sum + (s.inFlight > 0 ? s.counted : s.entries), 0);
    },

    async writeDayEntries(puts, deletes) {
      await batchWriteAll(db, tableName, [
        ...puts.map((e) => ({ PutRequest: { Item: toDayEntryItem(e) } })),
        ...deletes.map((e) => ({ DeleteRequest: { Key: { ...dayEntryKey(e.date, e.id, e.publishedAt) } } })),
      ]);
    },

    async logChanges(changes) {
      // Unconditional puts (the same change logs the same item): 25 to a request.
      await batchPutAll(
        db,
        tableName,
        changes.map((change) => ({
          ...changeLogKey(change.changedAt, change.id),
          type: 'change',
          ...change,
          [TABLE.ttlAttribute]: Math.floor(Date.parse(change.changedAt) / 1000) + CHANGE_LOG_TTL_SECONDS,
        })),
      );
    },

    async listMarks(kind) {
      const marks = new Map<string, MarkRecord>();
      await Promise.all(
        Array.from({ length: MARK_SHARDS }, async (_, shard) => {
          const { items } = await queryAll(db, {
            TableName: tableName,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': markPartition(kind, shard) },
            ConsistentRead: true,
          });
          for (const item of items) {
            const stamp = stampOf(str(item, 'PK'), str(item, 'SK'));
            const markedAt = str(item, 'markedAt');
            const keys = item.keys instanceof Set ? [...(item.keys as Set<string>)] : [];
            markItemSizes.set(stamp, keys.length);
            for (const key of keys) {
              const mark = marks.get(key);
              if (!mark) marks.set(key, { kind, key, markedAt, stamps: [stamp] });
              else {
                mark.stamps.push(stamp);
                if (markedAt > mark.markedAt) mark.markedAt = markedAt;
              }
            }
          }
        }),
      );
      return [...marks.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async *walkMarks(kind) {
      interface Shard {
        items: Item[];
        at: number;
        next?: Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>;
      }
      const read = (shard: number, start?: Item) => {
        const page = db.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': markPartition(kind, shard) },
            ConsistentRead: true,
            Limit: MARK_WALK_PAGE,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        ) as Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>;
        // Read ahead: if the walk stops on another shard's failure, this one's must not go unhandled.
        page.catch(() => undefined);
        return page;
      };
      const shards: Shard[] = Array.from({ length: MARK_SHARDS }, (_, shard) => ({
        items: [],
        at: 0,
        next: read(shard),
      }));
      for (;;) {
        let oldest: Shard | undefined;
        for (const [number, shard] of shards.entries()) {
          while (shard.at >= shard.items.length && shard.next) {
            const page = await shard.next;
            shard.items = page.Items ?? [];
            shard.at = 0;
            shard.next = page.LastEvaluatedKey ? read(number, page.LastEvaluatedKey) : undefined;
          }
          const head = shard.items[shard.at];
          // Sort keys start with the time marked (ISO 8601): in order, they are oldest first.
          if (head && (!oldest || str(head, 'SK') < str(oldest.items[oldest.at] as Item, 'SK')))
            oldest = shard;
        }
        if (!oldest) return;
        const item = oldest.items[oldest.at++] as Item;
        const stamp = stampOf(str(item, 'PK'), str(item, 'SK'));
        const markedAt = str(item, 'markedAt');
        const keys = item.keys instanceof Set ? [...(item.keys as Set<string>)] : [];
        markItemSizes.set(stamp, keys.length);
        yield keys.map((key) => ({ kind, key, markedAt, stamps: [stamp] }));
      }
    },

    async clearMarks(marks) {
      const cleared = new Map<string, Set<string>>();
      for (const mark of marks)
        for (const stamp of mark.stamps) cleared.set(stamp, (cleared.get(stamp) ?? new Set()).add(mark.key));
      const whole: Item[] = [];
      const partial: [Item, Set<string>][] = [];
      for (const [stamp, keys] of cleared) {
        const [PK, SK] = stamp.split('\n') as [string, string];
        if (keys.size >= (markItemSizes.get(stamp) ?? Number.POSITIVE_INFINITY)) whole.push({ PK, SK });
        else partial.push([{ PK, SK }, keys]);
      }
      await batchDeleteAll(db, tableName, whole);
      // An item holding keys this run did not read or handle keeps them.
      await mapLimit(partial, 8, async ([key, keys]) => {
        const out = await db
          .send(
            new UpdateCommand({
              TableName: tableName,
              Key: key,
              UpdateExpression: 'DELETE #keys :keys',
              ConditionExpression: 'attribute_exists(PK)',
              ExpressionAttributeNames: { '#keys': 'keys' },
              ExpressionAttributeValues: { ':keys': keys },
              ReturnValues: 'ALL_NEW',
            }),
          )
          .catch((error: unknown) => {
            if (isConditionFailure(error)) return undefined;
            throw error;
          });
        if (out?.Attributes && out.Attributes.keys === undefined) {
          await db
            .send(
              new DeleteCommand({
                TableName: tableName,
                Key: key,
                ConditionExpression: 'attribute_not_exists(#keys)',
                ExpressionAttributeNames: { '#keys': 'keys' },
              }),
            )
            .catch((error: unknown) => {
              if (!isConditionFailure(error)) throw error;
            });
        }
      });
    },

    markDirty,
  };
};

export { EVENT_SK };
