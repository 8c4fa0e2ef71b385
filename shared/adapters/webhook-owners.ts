import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { webhookOwnerKey, webhookPartition } from '../keys.js';

/** That the API created a webhook, and for which key. */
export interface WebhookOwner {
  /** The subscription id (the last part of its SNS ARN). */
  id: string;
  /** `apiKeyIdOf` of the creating key's hash. */
  keyId: string;
  keyName: string;
  createdAt: string;
}

/** The records of the webhooks the API created, by key (`WEBHOOK#<keyId>` / `<subscription id>`). */
export interface WebhookOwnerStore {
  putOwner(owner: WebhookOwner): Promise<void>;
  isOwner(keyId: string, id: string): Promise<boolean>;
  /** Every webhook the key created, oldest first. */
  listOwned(keyId: string): Promise<WebhookOwner[]>;
  removeOwner(keyId: string, id: string): Promise<void>;
}

const fromItem = (item: Record<string, unknown>): WebhookOwner | undefined =>
  typeof item.id === 'string' &&
  typeof item.keyId === 'string' &&
  typeof item.keyName === 'string' &&
  typeof item.createdAt === 'string'
    ? { id: item.id, keyId: item.keyId, keyName: item.keyName, createdAt: item.createdAt }
    : undefined;

export const makeWebhookOwnerStore = (db: DynamoDBDocumentClient, tableName: string): WebhookOwnerStore => ({
  async putOwner(owner) {
    await db.send(
      new PutCommand({
        TableName: tableName,
        Item: { ...webhookOwnerKey(owner.keyId, owner.id), type: 'webhook', ...owner },
      }),
    );
  },

  async isOwner(keyId, id) {
    const { Item } = await db.send(
      new GetCommand({
        TableName: tableName,
        Key: webhookOwnerKey(keyId, id),
        ProjectionExpression: 'PK',
        // A webhook deleted right after its creation must be found.
        ConsistentRead: true,
      }),
    );
    return Item !== undefined;
  },

  async listOwned(keyId) {
    const owners: WebhookOwner[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await db.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': webhookPartition(keyId) },
          ExclusiveStartKey: startKey,
          // The cap on webhooks per key counts these after each create: an eventually consistent
          // read could miss a racing create's record, and both would stay.
          ConsistentRead: true,
        }),
      );
      for (const item of out.Items ?? []) {
        const owner = fromItem(item);
        if (owner) owners.push(owner);
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return owners.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  },

  async removeOwner(keyId, id) {
    await db.send(new DeleteCommand({ TableName: tableName, Key: webhookOwnerKey(keyId, id) }));
  },
});
