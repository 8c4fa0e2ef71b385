/**
 * Single-table keys, shared by the CDK table construct, the local table, the repository and the
 * tests. docs/architecture.md lists every item type and access pattern built from these.
 */
export const TABLE = {
  partitionKey: 'PK',
  sortKey: 'SK',
  ttlAttribute: 'expiresAt',
  /** Latest events overall, written sharded so no partition takes every new event. */
  latestIndex: { name: 'GSI1', partitionKey: 'GSI1PK', sortKey: 'GSI1SK', projection: 'ALL' },
  /**
   * Events of one day, as events written before day entries carried them (`DAY#<date>[#<shard>]`):
   * read until `tidings migrate` has moved them to day entries (table items `DAY#<date>#<shard>`),
   * dropped in a later release. New events carry no key of it.
   */
  dayIndex: { name: 'GSI2', partitionKey: 'GSI2PK', sortKey: 'GSI2SK', projection: 'ALL' },
  /**
   * Sparse: confirmed subscribers by cadence, the people a digest run goes to. Keys only: the
   * planner needs ids (the sort key), and no other change to a subscriber rewrites the index.
   */
  digestIndex: { name: 'GSI3', partitionKey: 'GSI3PK', sortKey: 'GSI3SK', projection: 'KEYS_ONLY' },
} as const;

/** Every secondary index of the table, in the order the table declares them. */
/** A secondary index as the table declares it. */
export type IndexDefinition =
  | { name: string; partitionKey: string; sortKey: string; projection: 'ALL' | 'KEYS_ONLY' }
  | {
      name: string;
      partitionKey: string;
      sortKey: string;
      projection: 'INCLUDE';
      nonKeyAttributes: readonly string[];
    };

export const TABLE_INDEXES: readonly IndexDefinition[] = [
  TABLE.latestIndex,
  TABLE.dayIndex,
  TABLE.digestIndex,
];

/** Every key attribute of the table and its indexes, each once. */
export const KEY_ATTRIBUTES = [
  ...new Set([
    TABLE.partitionKey,
    TABLE.sortKey,
    ...TABLE_INDEXES.flatMap((i) => [i.partitionKey, i.sortKey]),
  ]),
];

/** How many partitions the "latest overall" listing is spread over; a read queries them all and merges. */
export const LATEST_SHARDS = 8;

/**
 * The first characters of every partition key, by owner. The stack binds each function's table
 * grant to the prefixes it owns (`dynamodb:LeadingKeys`), so a new kind of item gets its prefix here.
 */
export const PARTITION_PREFIX = {
  event: 'EVENT#',
  tagEntry: 'TAG#',
  /** A tag's count, sharded: `COUNT#<slug>#<shard>`. */
  counter: 'COUNT#',
  /** The tag summaries: one partition, `TAGS` exactly. */
  tags: 'TAGS',
  /** The topic labels events have had: one partition, `TOPICS` exactly. */
  topics: 'TOPICS',
  apiKey: 'APIKEY#',
  changeLog: 'CHANGES#',
  subscriber: 'SUBSCRIBER#',
  mark: 'MARK#',
  lease: 'LEASE#',
  /** Sign-up rate limits (per mailbox, per client, the global confirmation budget). */
  limit: 'LIMIT#',
  /** Switches the service flips on itself (confirmation sending paused on SES reputation). */
  control: 'CONTROL#',
  /** Webhooks the API created, per API key. */
  webhook: 'WEBHOOK#',
  /** Event changes the stream handler failed on, kept for `tidings redrive` (one per event). */
  parked: 'PARKED#',
  /** A day's events: one keys-only entry per live event, `DAY#<date>#<shard>`, written by the stream. */
  day: 'DAY#',
  /** The WebSub hub: subscriptions by feed and by callback host, and deliveries it gave up on. */
  websub: 'WEBSUB#',
  /**
   * Who follows what, for instant alerts: `FOLLOW#<kind>#<slug>` (kind `tag` or `topic`), one item
   * per follower keyed by subscriber id, kept while the subscriber is confirmed with instant cadence.
   */
  follow: 'FOLLOW#',
  /** What instant alerts queued of each event: `ALERTED#<event id>`. */
  alerted: 'ALERTED#',
  /** Each instant subscriber's receipt of the last alert the mail service accepted: `ALERTSENT#<subscriber id>`. */
  alertSent: 'ALERTSENT#',
  /**
   * The full publish as a distributed job: `JOB#publish` (the job under way or last run, its
   * progress and whether it was cancelled) and `JOB#publish#<job id>` (one item per slice done).
   */
  job: 'JOB#',
} as const;

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

/** How many partitions a day's events are spread over on the day index (today's take every new event). */
export const DAY_SHARDS = 8;
/** The day index partition of an event: `DAY#<date>#<shard>`. */
export const dayPartition = (date: string, id: string): string =>
  `DAY#${date}#${latestShardOf(id) % DAY_SHARDS}`;
/** Every partition a day's events may be in: the shards, and `DAY#<date>` where events written before sharding are. */
export const dayPartitions = (date: string): string[] => [
  `DAY#${date}`,
  ...Array.from({ length: DAY_SHARDS }, (_, s) => `DAY#${date}#${s}`),
];
export const daySortKey = (publishedAt: string, id: string): string => `${publishedAt}#${id}`;
/**
 * A live event's entry in its day's listing (table item, keys only): the day page and
 * `?date=` read the entries of the day's shards merged, then the events themselves.
 */
export const dayEntryKey = (date: string, id: string, publishedAt: string): Key => ({
  PK: dayPartition(date, id),
  SK: daySortKey(publishedAt, id),
});
/** The day entry partitions of a day (the shards only: entries were never unsharded). */
export const dayEntryPartitions = (date: string): string[] =>
  Array.from({ length: DAY_SHARDS }, (_, s) => `DAY#${date}#${s}`);

/**
 * A tag's entries and its count are spread over TAG_SHARDS partitions each, by event id: a tag on
 * half of the events puts a quarter of that on each key. One event's entry and the counter that
 * counts it are on the same shard number.
 */
export const TAG_SHARDS = 4;
export const tagShardOf = (id: string): number => latestShardOf(id) % TAG_SHARDS;
export const tagEntryPartition = (slug: string, shard: number): string => `TAG#${slug}#${shard}`;
export const TAG_ENTRY_PREFIX = 'EVENT#';
export const tagEntrySortKey = (date: string, id: string): string => `${TAG_ENTRY_PREFIX}${date}#${id}`;
export const tagEntryKey = (slug: string, date: string, id: string): Key => ({
  PK: tagEntryPartition(slug, tagShardOf(id)),
  SK: tagEntrySortKey(date, id),
});

/** One shard of a tag's count. */
export const COUNTER_SK = 'COUNT';
export const counterKey = (slug: string, shard: number): Key => ({
  PK: `${PARTITION_PREFIX.counter}${slug}#${shard}`,
  SK: COUNTER_SK,
});

/** All tag summaries live in one partition, sorted by slug; written only when a count crosses zero. */
export const TAGS_PARTITION = 'TAGS';
export const tagKey = (slug: string): Key => ({ PK: TAGS_PARTITION, SK: `TAG#${slug}` });

/**
 * Every topic label an event has carried, one item each in one partition, sorted by slug: written
 * once, when the change stream first meets the label (subscribers choose labels from it).
 */
export const TOPICS_PARTITION = 'TOPICS';
export const topicKey = (slug: string): Key => ({ PK: TOPICS_PARTITION, SK: `TOPIC#${slug}` });

/**
 * Publishing marks: what the publisher must rebuild. A batch of changes writes one item per kind
 * (and per 200 keys), its keys a string set, on one of MARK_SHARDS partitions of the kind chosen
 * by its nonce, never over another batch's; a run removes exactly the keys it read.
 */
export const MARK_SHARDS = 4;
export const markPartition = (kind: string, shard: number): string => `MARK#${kind}#${shard}`;
export const markKey = (kind: string, at: string, nonce: string, chunk: number): Key => ({
  PK: markPartition(kind, latestShardOf(nonce) % MARK_SHARDS),
  SK: `${at}#${nonce}#${chunk}`,
});

/** A lease: at most one holder at a time (the publisher's runs: one at a time). */
export const leaseKey = (name: string): Key => ({ PK: `LEASE#${name}`, SK: 'LEASE' });

/** The full publish job under way, or the last one: its plan's totals and progress. */
export const publishJobKey = (): Key => ({ PK: 'JOB#publish', SK: 'JOB' });

/** A slice of a full publish job, done: written once, so a slice delivered twice counts once. */
export const publishSliceKey = (job: string, slice: string): Key => ({
  PK: `JOB#publish#${job}`,
  SK: `SLICE#${slice}`,
});

export const apiKeyKey = (hash: string): Key => ({ PK: `APIKEY#${hash}`, SK: 'APIKEY' });

/**
 * A webhook the API created, under the key that created it (`apiKeyIdOf` of its hash): the API lists
 * and deletes only these, and counts them against WEBHOOKS_PER_KEY. The SK is the subscription id.
 */
export const webhookPartition = (keyId: string): string => `${PARTITION_PREFIX.webhook}${keyId}`;
export const webhookOwnerKey = (keyId: string, subscriptionId: string): Key => ({
  PK: webhookPartition(keyId),
  SK: subscriptionId,
});

/**
 * The change log: one small item per projected change of an event (id, revision, when), in a
 * partition per UTC day of the change, spread over shards. A digest run reads its window here
 * once (a few queries a day), whatever the number of topics and subscribers.
 */
export const CHANGE_LOG_SHARDS = 4;
export const changeLogPartition = (day: string, shard: number): string => `CHANGES#${day}#${shard}`;
export const changeLogKey = (changedAt: string, id: string): Key => ({
  PK: changeLogPartition(changedAt.slice(0, 10), latestShardOf(id) % CHANGE_LOG_SHARDS),
  SK: `${changedAt}#${id}`,
});

/** A subscriber, keyed by an HMAC of the address so a repeat sign-up finds it without an email index. */
export const SUBSCRIBER_SK = 'SUBSCRIBER';
export const subscriberKey = (subscriberId: string): Key => ({
  PK: `SUBSCRIBER#${subscriberId}`,
  SK: SUBSCRIBER_SK,
});
/** A suppressed address (hard bounce, complaint): sits beside the subscriber, outlives unsubscribing. */
export const suppressionKey = (subscriberId: string): Key => ({
  PK: `SUBSCRIBER#${subscriberId}`,
  SK: 'SUPPRESSED',
});

/**
 * Where the digest job keeps a subscriber's cursor (the end of their last digest window) and a
 * note of the last digest sent: an item of its own, so the job writes cursors in batches and never
 * races the subscriber's own changes. Until the first digest, the subscriber item's cursor holds.
 */
export const digestCursorKey = (subscriberId: string): Key => ({
  PK: `SUBSCRIBER#${subscriberId}`,
  SK: 'DIGEST_CURSOR',
});

/** Confirmed subscribers of one cadence on the change index, spread over shards. */
export const DIGEST_SHARDS = 4;
export const digestPartition = (cadence: string, shard: number): string => `DIGEST#${cadence}#${shard}`;
export const digestShardOf = (subscriberId: string): number => latestShardOf(subscriberId) % DIGEST_SHARDS;

/**
 * On the digest index, a subscriber who chose their delivery time sorts under its bucket:
 * `!<zone>#<local hour>#` (weekly: `…#<hour>#<weekday>#`) then the id, so the planner reads the
 * buckets due at a quarter hour with one `begins_with` query per shard each. The key names local
 * time, so it never changes when clocks do. Records without a choice keep the bare id (hex, which
 * sorts after `!`): the default bucket, read as the range from DIGEST_DEFAULT_BUCKET_FROM.
 */
export const digestBucket = (cadence: string, timeZone: string, hour: number, weekday: number): string =>
  `!${timeZone}#${String(hour).padStart(2, '0')}#${cadence === 'weekly' ? `${weekday}#` : ''}`;
/** Where the bare ids (subscribers on the deployment's default delivery time) start on the index. */
export const DIGEST_DEFAULT_BUCKET_FROM = '0';

/** The digest ledger: one item per subscriber, cadence and window, claimed before sending. */
export const ledgerKey = (subscriberId: string, cadence: string, windowStart: string): Key => ({
  PK: `SUBSCRIBER#${subscriberId}`,
  SK: `DIGEST#${cadence}#${windowStart}`,
});

/**
 * A switch the service flips on itself: `CONTROL#confirmations` holds `paused` (boolean), `reason`
 * and `at`, written when an SES reputation alarm changes state and read before a confirmation is sent.
 */
export const controlKey = (name: string): Key => ({ PK: `CONTROL#${name}`, SK: 'CONTROL' });
export const CONFIRMATIONS_CONTROL = 'confirmations';
/** The last publish run that did its work, for `tidings status`. */
export const LAST_PUBLISH_CONTROL = 'last-publish';

/**
 * A sign-up limit: `LIMIT#mailbox#<mac>`, `LIMIT#client#<mac>` (a keyed hash of the canonical
 * mailbox or client address, never the address) or `LIMIT#confirmations#<hour>` (the global budget).
 */
export const limitKey = (kind: 'mailbox' | 'client' | 'confirmations', name: string): Key => ({
  PK: `${PARTITION_PREFIX.limit}${kind}#${name}`,
  SK: 'LIMIT',
});

/**
 * A change the stream handler failed on: one item per event (its latest failed revision), kept
 * after the stream record expires (24 h) until a projection of that revision or a later one
 * succeeds, from the stream or from `tidings redrive`.
 */
export const parkedChangeKey = (id: string): Key => ({ PK: `${PARTITION_PREFIX.parked}${id}`, SK: 'PARKED' });

/** What a subscriber can follow and be alerted about: a tag, or a topic label. */
export type FollowKind = 'tag' | 'topic';
/** The followers of one tag or topic label: one partition, a query away for each change. */
export const followPartition = (kind: FollowKind, slug: string): string =>
  `${PARTITION_PREFIX.follow}${kind}#${slug}`;
export const followKey = (kind: FollowKind, slug: string, subscriberId: string): Key => ({
  PK: followPartition(kind, slug),
  SK: subscriberId,
});

/**
 * A subscriber's instant alerts: what waits to be sent (event ids), when it is due, the last send,
 * and the day's count for the cap. Written by the alert worker only (conditional on `version`).
 */
export const alertStateKey = (subscriberId: string): Key => ({
  PK: `SUBSCRIBER#${subscriberId}`,
  SK: 'ALERTS',
});
/**
 * The receipt of a subscriber's last alert sent: the claim it finished and the message id. Written
 * in batches after the sends (a put, in a partition of its own so that the worker's batch writes
 * reach no subscriber item); a claim without it is a send that may not have happened.
 */
export const alertReceiptKey = (subscriberId: string): Key => ({
  PK: `${PARTITION_PREFIX.alertSent}${subscriberId}`,
  SK: 'ALERTSENT',
});
/**
 * What the alert worker last queued of an event for its followers (revision, headline, whether the
 * queuing finished): one item per event, so a redelivered change is not queued twice and a
 * correction only when its headline changed.
 */
export const eventAlertKey = (eventId: string): Key => ({
  PK: `${PARTITION_PREFIX.alerted}${eventId}`,
  SK: 'ALERTED',
});

/**
 * A WebSub subscription, in its feed's partition (`WEBSUB#feed#<feed path>`), keyed by a hash of
 * its callback URL (a URL may be longer than a sort key); a copy of its key and lease sits in its
 * callback host's partition (`WEBSUB#host#<host>`), which the per-host cap counts. Both expire
 * with the lease (TTL).
 */
export const websubFeedPartition = (topic: string): string => `${PARTITION_PREFIX.websub}feed#${topic}`;
export const websubHostPartition = (host: string): string => `${PARTITION_PREFIX.websub}host#${host}`;
export const websubKey = (topic: string, callbackId: string): Key => ({
  PK: websubFeedPartition(topic),
  SK: `SUB#${callbackId}`,
});
export const websubHostKey = (host: string, topic: string, callbackId: string): Key => ({
  PK: websubHostPartition(host),
  SK: `${topic}#${callbackId}`,
});
/** Deliveries the hub gave up on, newest last, each kept 30 days (TTL), for `tidings websub failed`. */
export const WEBSUB_FAILED_PARTITION = `${PARTITION_PREFIX.websub}failed`;
export const websubFailureKey = (at: string, topic: string, callbackId: string): Key => ({
  PK: WEBSUB_FAILED_PARTITION,
  SK: `${at}#${topic}#${callbackId}`,
});
