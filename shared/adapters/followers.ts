import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FollowRef } from '../domain/alerts.js';
import { followKey, followPartition } from '../keys.js';
import { batchDeleteAll, batchPutAll, queryAll } from './items.js';

/**
 * Writes a subscriber's follower items after the subscriber's own write: added follows put,
 * dropped ones deleted (both idempotent, so a retried subscription change converges). There is no
 * transaction: a follower item left behind by a crash between the two writes is harmless (the
 * alert worker checks the subscriber before sending), and one missing is written by the next change.
 */
export const applyFollowChanges = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  subscriberId: string,
  changes: { add: readonly FollowRef[]; remove: readonly FollowRef[] },
): Promise<void> => {
  if (changes.add.length > 0) {
    await batchPutAll(
      db,
      tableName,
      changes.add.map((f) => ({
        ...followKey(f.kind, f.slug, subscriberId),
        type: 'follow',
        kind: f.kind,
        slug: f.slug,
      })),
    );
  }
  if (changes.remove.length > 0) {
    await batchDeleteAll(
      db,
      tableName,
      changes.remove.map((f) => ({ ...followKey(f.kind, f.slug, subscriberId) })),
    );
  }
};

/** The ids of everyone following a tag or topic label: one query of its partition (keys only, paged). */
export const listFollowers = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  ref: FollowRef,
): Promise<string[]> => {
  const { items } = await queryAll(db, {
    TableName: tableName,
    KeyConditionExpression: 'PK = :pk',
    ExpressionAttributeValues: { ':pk': followPartition(ref.kind, ref.slug) },
    ProjectionExpression: 'SK',
  });
  return items.flatMap((item) => (typeof item.SK === 'string' ? [item.SK] : []));
};
