import type { DynamoDBDocumentClient, QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { counterKey, PARTITION_PREFIX, TAG_SHARDS, TAGS_PARTITION } from '../keys.js';
import type { TagSummary } from './event-store.js';
import { batchGetAll, type Item, queryAll, str } from './items.js';

/** Every tag summary (the one `TAGS` partition), page after page; `projection` narrows what each holds. */
export const queryTagSummaries = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  projection?: Pick<QueryCommandInput, 'ProjectionExpression' | 'ExpressionAttributeNames'>,
): Promise<Item[]> =>
  (
    await queryAll(db, {
      TableName: tableName,
      KeyConditionExpression: 'PK = :pk',
      ExpressionAttributeValues: { ':pk': TAGS_PARTITION },
      ...projection,
    })
  ).items;

/**
 * Tag summaries with their counts summed from the counter shards (a summary's own `count` is a
 * snapshot taken when the tag appeared or went), or taken from `counted`; tags counted 0 are left out.
 */
export const withCounts = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  summaries: readonly Item[],
  counted: ReadonlyMap<string, number> = new Map(),
): Promise<TagSummary[]> => {
  const keys = summaries
    .filter((item) => !counted.has(str(item, 'slug')))
    .flatMap((item) =>
      Array.from({ length: TAG_SHARDS }, (_, shard) => ({ ...counterKey(str(item, 'slug'), shard) })),
    );
  const sums = new Map<string, number>(counted);
  for (const item of await batchGetAll(db, tableName, keys, false)) {
    const pk = str(item, 'PK');
    const slug = pk.slice(PARTITION_PREFIX.counter.length, pk.lastIndexOf('#'));
    sums.set(slug, (sums.get(slug) ?? 0) + (typeof item.count === 'number' ? item.count : 0));
  }
  return summaries
    .map((item) => ({
      slug: str(item, 'slug'),
      name: str(item, 'name'),
      count: sums.get(str(item, 'slug')) ?? 0,
    }))
    .filter((t) => t.count > 0);
};

/** Every tag with events, and how many. */
export const listTagsWithCounts = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  counted?: ReadonlyMap<string, number>,
): Promise<TagSummary[]> => withCounts(db, tableName, await queryTagSummaries(db, tableName), counted);
