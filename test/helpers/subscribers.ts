import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Cadence, Subscriber } from '../../shared/domain/subscription.js';
import { digestPartition, digestShardOf, subscriberKey, suppressionKey, TABLE } from '../../shared/keys.js';

/** A confirmed subscriber as the subscription store leaves it; override any field. */
export const makeSubscriber = (n: number, overrides: Partial<Subscriber> = {}): Subscriber => ({
  id: `subscriber${String(n).padStart(6, '0')}`,
  email: `reader${n}@example.org`,
  tags: [{ slug: 'russia', name: 'Russia' }],
  topics: [],
  cadence: 'daily' as Cadence,
  status: 'confirmed',
  createdAt: '2026-11-01T00:00:00.000Z',
  confirmedAt: '2026-11-01T00:00:00.000Z',
  cursor: '2026-11-01T00:00:00.000Z',
  tokenVersion: 0,
  ...overrides,
});

/** Writes a subscriber item in the documented shape (labels stored as `topicLabels`): on the digest index only while it should get digests. */
export const putSubscriber = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  subscriber: Subscriber,
) => {
  const active = subscriber.status === 'confirmed' && subscriber.tags.length + subscriber.topics.length > 0;
  const { tags, topics, ...rest } = subscriber;
  await db.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        ...subscriberKey(subscriber.id),
        type: 'subscriber',
        ...rest,
        tags,
        topicLabels: topics,
        ...(active
          ? {
              [TABLE.digestIndex.partitionKey]: digestPartition(
                subscriber.cadence,
                digestShardOf(subscriber.id),
              ),
              [TABLE.digestIndex.sortKey]: subscriber.id,
            }
          : {}),
      },
    }),
  );
};

export const putSuppression = async (db: DynamoDBDocumentClient, tableName: string, subscriberId: string) => {
  await db.send(
    new PutCommand({
      TableName: tableName,
      Item: {
        ...suppressionKey(subscriberId),
        type: 'suppression',
        reason: 'bounce',
        at: '2026-11-02T00:00:00.000Z',
      },
    }),
  );
};
