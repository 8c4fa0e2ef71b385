import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TopicRef } from '../domain/subscription.js';
import { TOPICS_PARTITION, topicKey } from '../keys.js';
import { batchGetAll, type Item, isConditionFailure, queryAll, str } from './items.js';

/**
 * The topic labels events have carried (`TOPICS`, one item per label), the list subscribers choose
 * labels from. The change stream notes each label it meets; a label already noted costs a read
 * (once per warm worker), never a write, so events of known labels write what they wrote before.
 */
export interface TopicLabelStore {
  /** Writes the labels not stored yet; those already stored (or seen by this worker) write nothing. */
  noteTopics(topics: readonly TopicRef[]): Promise<void>;
  /** The stored labels among these slugs, by slug. */
  findTopics(slugs: readonly string[]): Promise<Map<string, TopicRef>>;
  /** Every stored label, by slug. */
  listTopics(): Promise<TopicRef[]>;
}

const topicOf = (item: Item): TopicRef => ({ slug: str(item, 'slug'), name: str(item, 'name') });

export const makeTopicLabelStore = (db: DynamoDBDocumentClient, tableName: string): TopicLabelStore => {
  // Labels are few and never removed: a warm stream worker reads each once at most.
  const known = new Set<string>();

  const findTopics: TopicLabelStore['findTopics'] = async (slugs) => {
    const keys = [...new Set(slugs)].map((slug) => ({ ...topicKey(slug) }));
    const found = new Map<string, TopicRef>();
    for (const item of await batchGetAll(db, tableName, keys, false)) {
      const topic = topicOf(item);
      found.set(topic.slug, topic);
    }
    return found;
  };

  return {
    async noteTopics(topics) {
      const unseen = [...new Map(topics.map((t) => [t.slug, t])).values()].filter((t) => !known.has(t.slug));
      if (unseen.length === 0) return;
      const stored = await findTopics(unseen.map((t) => t.slug));
      await Promise.all(
        unseen.map(async (topic) => {
          if (!stored.has(topic.slug)) {
            try {
              await db.send(
                new PutCommand({
                  TableName: tableName,
                  Item: { ...topicKey(topic.slug), type: 'topic', slug: topic.slug, name: topic.name },
                  // The first name a label was met with stays (labels differing only in case or accents share a slug).
                  ConditionExpression: 'attribute_not_exists(PK)',
                }),
              );
            } catch (error) {
              if (!isConditionFailure(error)) throw error;
            }
          }
          known.add(topic.slug);
        }),
      );
    },

    findTopics,

    async listTopics() {
      const { items } = await queryAll(db, {
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': TOPICS_PARTITION },
      });
      return items.map(topicOf);
    },
  };
};
