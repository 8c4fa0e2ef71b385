import {
  CONFIRMATIONS_CONTROL,
  controlKey,
  LAST_PUBLISH_CONTROL,
  PARTITION_PREFIX,
  publishJobKey,
  publishSliceKey,
  TABLE,
} from '../shared/keys.js';

/** The item-level DynamoDB actions the code uses. Never Scan, never a transaction. */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem';

/** The first characters of each index's partition keys (shared/keys.ts builds them). */
export const INDEX_PREFIX = {
  latest: 'LATEST#',
  day: 'DAY#',
  digest: 'DIGEST#',
} as const;

export type IndexSpec = (typeof TABLE)['latestIndex' | 'dayIndex' | 'digestIndex'];

/**
 * What one function may do in the table: actions on the items of some partitions, and queries of
 * some indexes, each bound to the partitions it names (`dynamodb:LeadingKeys`).
 */
export interface TableAccess {
  items: readonly { partitions: readonly string[]; actions: readonly TableAction[] }[];
  queries?: readonly { index: IndexSpec; partitions: readonly string[] }[];
}

const P = PARTITION_PREFIX;
/** Switches are granted one by one: a function flipping one may not flip another. */
const CONFIRMATIONS_SWITCH = controlKey(CONFIRMATIONS_CONTROL).PK;
const READ_WRITE: TableAction[] = ['GetItem', 'PutItem', 'UpdateItem'];

/**
 * The sign-up and link functions: subscriber items (sign-up creates them, links only change
 * them), and the tag and topic label names they show and check.
 */
const subscriptionAccess = (
  subscriber: readonly TableAction[],
  extra: TableAccess['items'] = [],
): TableAccess => ({
  items: [
    { partitions: [P.subscriber], actions: subscriber },
    // The followers index of instant alerts, kept in step with the subscriber (puts and deletes).
    { partitions: [P.follow], actions: ['BatchWriteItem'] },
    // Tags are tag summaries: sign-up and manage check and list them (BatchGet, Query of TAGS),
    // with how many events each has (its counter shards); topic labels likewise (TOPICS).
    { partitions: [P.tags], actions: ['BatchGetItem', 'Query'] },
    { partitions: [P.counter], actions: ['BatchGetItem'] },
    { partitions: [P.topics], actions: ['BatchGetItem', 'Query'] },
    ...extra,
  ],
});

const eventWriter: TableAccess = { items: [{ partitions: [P.event], actions: ['GetItem', 'PutItem'] }] };

/**
 * The full publish job's items, and no other job's: its progress (`JOB#publish`) and its slices
 * done (`JOB#publish#<job id>`), granted by those two partitions rather than the whole `JOB#`.
 */
export const PUBLISH_JOB_PARTITION = publishJobKey().PK;
export const PUBLISH_SLICES_PREFIX = publishSliceKey('', '').PK;

/**
 * The publisher, whether it runs an incremental run, plans a full publish (publish-site) or
 * renders one of its slices (publish-slice): the same reads, repairs, lease and records.
 */
const publisherAccess: TableAccess = {
  items: [
    // Marks: read, removed whole (batch) or in part (a key set shrunk, then the empty item deleted).
    { partitions: [P.mark], actions: ['Query', 'BatchWriteItem', 'UpdateItem', 'DeleteItem'] },
    { partitions: [P.event], actions: ['BatchGetItem'] },
    // Day entries: the day pages' listings.
    { partitions: [P.day], actions: ['Query'] },
    // Tag entries: listings, and counted shard by shard when a run finds a count wrong.
    { partitions: [P.tagEntry], actions: ['Query', 'BatchGetItem'] },
    // Counter shards: read, and set from the entries by that repair (guarded by their version).
    { partitions: [P.counter], actions: ['BatchGetItem', 'UpdateItem'] },
    // Tag summaries: read, and their snapshot rewritten by the repair.
    { partitions: [P.tags], actions: ['GetItem', 'BatchGetItem', 'Query', 'PutItem'] },
    // One run at a time: the lease is a conditional put and delete.
    { partitions: [P.lease], actions: ['PutItem', 'DeleteItem'] },
    // The last run's report (`CONTROL#last-publish`), for `tidings status`.
    { partitions: [controlKey(LAST_PUBLISH_CONTROL).PK], actions: ['PutItem'] },
    // A full publish: the job's plan and progress (read, started, counted, cancelled) ...
    { partitions: [PUBLISH_JOB_PARTITION], actions: ['GetItem', 'PutItem', 'UpdateItem'] },
    // ... and its slices done: a conditional put each, so a slice delivered twice counts once,
    // and the query that lists them.
    { partitions: [PUBLISH_SLICES_PREFIX], actions: ['PutItem', 'Query'] },
  ],
  queries: [
    { index: TABLE.latestIndex, partitions: [INDEX_PREFIX.latest] },
    { index: TABLE.dayIndex, partitions: [INDEX_PREFIX.day] },
  ],
};

/**
 * Every function that reaches the table, by its file under functions/, and what it does there,
 * read from its code (functions → shared/services → shared/adapters, keys from shared/keys.ts).
 * A function with no entry gets no table and no TABLE_NAME.
 */
export const TABLE_ACCESS: Readonly<Record<string, TableAccess>> = {
  // Looks up the bearer key's hash: one GetItem.
  'authorize-request': { items: [{ partitions: [P.apiKey], actions: ['GetItem'] }] },
  'post-event': eventWriter,
  'post-events-batch': eventWriter,
  'put-event': eventWriter,
  'delete-event': eventWriter,
  'get-event': { items: [{ partitions: [P.event], actions: ['GetItem'] }] },
  'list-events': {
    items: [
      // A tag's summary (its name) and counter shards (its count); its entries' shards, then their events.
      { partitions: [P.tags], actions: ['GetItem'] },
      { partitions: [P.counter], actions: ['BatchGetItem'] },
      { partitions: [P.tagEntry], actions: ['Query'] },
      // A day's entries (its events written before them still on the day index, below).
      { partitions: [P.day], actions: ['Query'] },
      { partitions: [P.event], actions: ['BatchGetItem'] },
    ],
    queries: [
      { index: TABLE.latestIndex, partitions: [INDEX_PREFIX.latest] },
      { index: TABLE.dayIndex, partitions: [INDEX_PREFIX.day] },
    ],
  },
  // Tag summaries (names), then each tag's counter shards (counts).
  'list-tags': {
    items: [
      { partitions: [P.tags], actions: ['Query'] },
      { partitions: [P.counter], actions: ['BatchGetItem'] },
    ],
  },
  // get-openapi has no entry, on purpose: it serves a document built from the code alone.
  // A webhook's owner record: create checks the key's count and undoes itself over the cap; listing
  // drops records whose subscription is gone; delete checks ownership.
  'create-webhook': { items: [{ partitions: [P.webhook], actions: ['Query', 'PutItem', 'DeleteItem'] }] },
  'list-webhooks': { items: [{ partitions: [P.webhook], actions: ['Query', 'DeleteItem'] }] },
  'delete-webhook': { items: [{ partitions: [P.webhook], actions: ['GetItem', 'DeleteItem'] }] },
  // Sign-up also counts its limits (per mailbox, per client, the hourly budget) and reads the
  // switch that pauses confirmations.
  'create-subscription': subscriptionAccess(READ_WRITE, [
    { partitions: [P.limit], actions: READ_WRITE },
    { partitions: [CONFIRMATIONS_SWITCH], actions: ['GetItem'] },
  ]),
  'confirm-subscription': subscriptionAccess(['GetItem', 'UpdateItem']),
  unsubscribe: subscriptionAccess(['GetItem', 'UpdateItem']),
  'manage-subscription': subscriptionAccess(['GetItem', 'UpdateItem']),
  // A private feed: the subscriber (a strongly consistent read), then the change log of the last
  // days and the events it names, as the digest job reads them.
  'get-subscriber-feed': {
    items: [
      { partitions: [P.subscriber], actions: ['GetItem'] },
      { partitions: [P.changeLog], actions: ['Query'] },
      { partitions: [P.event], actions: ['BatchGetItem'] },
    ],
  },
  // Suppresses an address: puts the suppression item beside the subscriber, updates the subscriber.
  'handle-email-feedback': {
    items: [
      { partitions: [P.subscriber], actions: ['PutItem', 'UpdateItem'] },
      // A suppressed subscriber's follower items go too.
      { partitions: [P.follow], actions: ['BatchWriteItem'] },
    ],
  },
  // Flips the confirmation switch on SES reputation alarms (a read, then a conditional put).
  'handle-reputation-alarm': {
    items: [{ partitions: [CONFIRMATIONS_SWITCH], actions: ['GetItem', 'PutItem'] }],
  },
  // The widest: reads changed events, projects tag entries, counts, the change log and marks.
  'process-changes': {
    items: [
      { partitions: [P.event], actions: ['BatchGetItem'] },
      // Tag entries: read in batches, put and deleted conditionally (never queried: no recount here).
      { partitions: [P.tagEntry], actions: ['BatchGetItem', 'PutItem', 'DeleteItem'] },
      // Counter shards: read in batches, moved by ops (one UpdateItem per shard and batch).
      { partitions: [P.counter], actions: ['BatchGetItem', 'UpdateItem'] },
      // Tag summaries: read with the counters when one crosses zero, put when the tag appears or goes.
      { partitions: [P.tags], actions: ['BatchGetItem', 'PutItem'] },
      // Topic labels: read once per warm worker, put (conditionally) when a label first appears.
      { partitions: [P.topics], actions: ['BatchGetItem', 'PutItem'] },
      // The change log, marks and day entries: unconditional puts (and day entries' deletes), in batches.
      { partitions: [P.changeLog, P.mark, P.day], actions: ['BatchWriteItem'] },
      // Changes it failed on, parked for `tidings redrive` (written again on each failure, conditional
      // on the revision) and removed once projected.
      { partitions: [P.parked], actions: ['UpdateItem', 'DeleteItem'] },
    ],
  },
  'publish-site': publisherAccess,
  // A full publish's slices: the same pages, feeds and records as a run of publish-site.
  'publish-slice': publisherAccess,
  // The WebSub hub's route: a subscription's state, the pending record (a conditional put, and its
  // host's copy), and the caps counted by queries of the feed's and the host's partitions.
  'websub-hub': { items: [{ partitions: [P.websub], actions: ['GetItem', 'PutItem', 'Query'] }] },
  // Its worker: activates (both copies in one batch), removes on unsubscribe or denial, lists a
  // feed's subscribers, records deliveries it gave up on.
  'websub-worker': {
    items: [
      { partitions: [P.websub], actions: ['GetItem', 'PutItem', 'DeleteItem', 'Query', 'BatchWriteItem'] },
    ],
  },
  'send-alerts': {
    items: [
      // Followers of each changed tag or topic label.
      { partitions: [P.follow], actions: ['Query'] },
      // Each event's record of what was queued: read in batches, claimed, marked, released.
      { partitions: [P.alerted], actions: ['BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem'] },
      // Subscribers with their suppression and alert state (read in batches); the state's waiting
      // set, claim and record (conditional updates).
      { partitions: [P.subscriber], actions: ['BatchGetItem', 'UpdateItem'] },
      // The waiting events as they are now.
      { partitions: [P.event], actions: ['BatchGetItem'] },
      // Each subscriber's receipt of the last alert accepted: read with the state, put in batches.
      { partitions: [P.alertSent], actions: ['BatchGetItem', 'BatchWriteItem'] },
    ],
  },
  'send-digests': {
    items: [
      // Recipients with their suppression and cursor; ledger claims (put, update, delete); cursor moves.
      {
        partitions: [P.subscriber],
        actions: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem'],
      },
      { partitions: [P.changeLog], actions: ['Query'] },
      { partitions: [P.event], actions: ['BatchGetItem'] },
    ],
    queries: [{ index: TABLE.digestIndex, partitions: [INDEX_PREFIX.digest] }],
  },
};

/**
 * The `dynamodb:LeadingKeys` pattern of a partition prefix: `EVENT#` → `EVENT#*`; a prefix that is
 * a whole partition key (`TAGS`) matches only itself.
 */
export const leadingKeysPattern = (prefix: string): string => (prefix.endsWith('#') ? `${prefix}*` : prefix);
