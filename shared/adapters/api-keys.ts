import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { apiKeyKey, PARTITION_PREFIX } from '../keys.js';
import { isConditionFailure } from './items.js';

export interface ApiKeyRecord {
  name: string;
  createdAt: string;
  revoked: boolean;
}

/** A stored key with the hash it is stored under (the plain key is never stored). */
export interface StoredApiKey extends ApiKeyRecord {
  hash: string;
}

/** API keys by hash: the plain key is never stored. */
export interface ApiKeyStore {
  findApiKey(hash: string): Promise<ApiKeyRecord | undefined>;
  putApiKey(hash: string, record: ApiKeyRecord): Promise<void>;
}

/** What the operator's `tidings keys` does besides: every key, and revoking one. */
export interface ApiKeyAdminStore extends ApiKeyStore {
  /**
   * Every key, oldest first. A scan filtered on the key prefix: keys are few, and only the operator
   * lists them, never a request path.
   */
  listApiKeys(): Promise<StoredApiKey[]>;
  /** Marks the key revoked; false when no key has this hash. The authorizer refuses it from then on. */
  revokeApiKey(hash: string): Promise<boolean>;
}

const recordOf = (item: Record<string, unknown>): ApiKeyRecord | undefined =>
  typeof item.name === 'string' && typeof item.createdAt === 'string'
    ? { name: item.name, createdAt: item.createdAt, revoked: item.revoked === true }
    : undefined;

export const makeApiKeyStore = (db: DynamoDBDocumentClient, tableName: string): ApiKeyAdminStore => ({
  async findApiKey(hash) {
    const { Item } = await db.send(new GetCommand({ TableName: tableName, Key: apiKeyKey(hash) }));
    return Item ? recordOf(Item) : undefined;
  },
  async putApiKey(hash, record) {
    await db.send(
      new PutCommand({ TableName: tableName, Item: { ...apiKeyKey(hash), type: 'apiKey', ...record } }),
    );
  },
  async listApiKeys() {
    const keys: StoredApiKey[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await db.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: 'begins_with(PK, :prefix)',
          ExpressionAttributeValues: { ':prefix': PARTITION_PREFIX.apiKey },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) {
        const record = recordOf(item);
        if (record) keys.push({ hash: String(item.PK).slice(PARTITION_PREFIX.apiKey.length), ...record });
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.hash.localeCompare(b.hash));
  },
  async revokeApiKey(hash) {
    try {
      await db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: apiKeyKey(hash),
          UpdateExpression: 'SET revoked = :yes',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':yes': true },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  },
});
