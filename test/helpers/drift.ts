import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { counterKey } from '../../shared/keys.js';

/**
 * Moves a tag's count by `delta` behind the projection's back (on counter shard 0, no op marker),
 * and gives it a summary: a count that drifted, for the repairs to find.
 */
export const driftCount = async (
  endpoint: string,
  tableName: string,
  store: { refreshTagSummary(slug: string, name: string): Promise<void> },
  slug: string,
  name: string,
  delta: number,
): Promise<void> => {
  const db = createDocumentClient({ endpoint });
  try {
    await db.send(
      new UpdateCommand({
        TableName: tableName,
        Key: counterKey(slug, 0),
        UpdateExpression: 'SET #type = :type, slug = :slug, #name = :name ADD #count :delta, version :one',
        ExpressionAttributeNames: { '#type': 'type', '#name': 'name', '#count': 'count' },
        ExpressionAttributeValues: {
          ':type': 'counter',
          ':slug': slug,
          ':name': name,
          ':delta': delta,
          ':one': 1,
        },
      }),
    );
  } finally {
    db.destroy();
  }
  await store.refreshTagSummary(slug, name);
};
