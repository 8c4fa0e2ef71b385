import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { controlKey, LAST_PUBLISH_CONTROL } from '../keys.js';
import type { PublishReport } from '../services/publish.js';
import type { Item } from './items.js';

export interface PublishRun extends PublishReport {
  /** When the run ended (ISO 8601). */
  at: string;
  full: boolean;
  seconds: number;
}

export interface LastPublishStore {
  recordPublish(run: PublishRun): Promise<void>;
}

const REPORT_FIELDS = [
  'written',
  'unchanged',
  'removed',
  'marksCleared',
  'marksKept',
  'marksDeferred',
  'failed',
] as const;

export const fromLastPublishItem = (item: Item): PublishRun | undefined => {
  if (typeof item.at !== 'string' || typeof item.seconds !== 'number') return undefined;
  const counts = Object.fromEntries(
    REPORT_FIELDS.map((f) => [f, typeof item[f] === 'number' ? (item[f] as number) : 0]),
  ) as Record<(typeof REPORT_FIELDS)[number], number>;
  return { at: item.at, full: item.full === true, seconds: item.seconds, ...counts };
};

export const makeLastPublishStore = (db: DynamoDBDocumentClient, tableName: string) => ({
  async recordPublish(run: PublishRun): Promise<void> {
    const counts = Object.fromEntries(REPORT_FIELDS.map((f) => [f, run[f]]));
    await db.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...controlKey(LAST_PUBLISH_CONTROL),
          type: 'control',
          at: run.at,
          full: run.full,
          seconds: run.seconds,
          ...counts,
        },
      }),
    );
  },
  /** The operator's read (the CLI); no function reads it. */
  async readLastPublish(): Promise<PublishRun | undefined> {
    const { Item } = await db.send(
      new GetCommand({ TableName: tableName, Key: controlKey(LAST_PUBLISH_CONTROL) }),
    );
    return Item ? fromLastPublishItem(Item) : undefined;
  },
});
