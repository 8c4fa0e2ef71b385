/**
 * Single-table keys, shared by the CDK table construct, the local table, the repository and the
 * tests. docs/architecture.md lists every item type and access pattern built from these.
 */
export const TABLE = {
  partitionKey: 'PK',
  sortKey: 'SK',
  ttlAttribute: 'expiresAt',
  /** Latest events overall, written sharded so no partition takes every new event. */
  latestIndex: { name: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK' },
  /** Events of one day. */
  dayIndex: { name: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK' },
} as const;

/** How many partitions the "latest overall" listing is spread over; a read queries them all and merges. */
export const LATEST_SHARDS = 8;

export interface Key {
  PK: string;
  SK: string;
}

export const EVENT_SK = 'EVENT';

export const eventKey = (id: string): Key => ({ PK: `EVENT#${id}`, SK: EVENT_SK });

export const eventIdOfKey = (key: { PK?: unknown }): string | undefined =>
  typeof key.PK === 'string' && key.PK.startsWith('EVENT#') ? key.PK.slice('EVENT#'.length) : undefined;

/** FNV-1a: a fixed, fast spread of ids over shards (not for security). */
export const latestShardOf = (id: string): number => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % LATEST_SHARDS;
};

export const latestPartition = (shard: number): string => `LATEST#${shard}`;
/** Newest first when read backwards: by the day of the event, then id. */
export const latestSortKey = (date: string, id: string): string => `${date}#${id}`;

export const dayPartition = (date: string): string => `DAY#${date}`;
export const daySortKey = (publishedAt: string, id: string): string => `${publishedAt}#${id}`;

export const tagEntryPartition = (slug: string): string => `TAG#${slug}`;
export const TAG_ENTRY_PREFIX = 'EVENT#';
export const tagEntryKey = (slug: string, date: string, id: string): Key => ({
  PK: tagEntryPartition(slug),
  SK: `${TAG_ENTRY_PREFIX}${date}#${id}`,
});

/** All tag summaries live in one partition, sorted by slug. */
export const TAGS_PARTITION = 'TAGS';
export const tagKey = (slug: string): Key => ({ PK: TAGS_PARTITION, SK: `TAG#${slug}` });

/** Publishing marks, one partition per kind: what the publisher must rebuild. */
export const markPartition = (kind: string): string => `MARK#${kind}`;
export const markKey = (kind: string, key: string): Key => ({ PK: markPartition(kind), SK: key });

export const apiKeyKey = (hash: string): Key => ({ PK: `APIKEY#${hash}`, SK: 'APIKEY' });
