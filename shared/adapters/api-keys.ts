import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { apiKeyKey } from '../keys.js';

export interface ApiKeyRecord {
  name: string;
  createdAt: string;
  revoked: boolean;
}

/** API keys by hash: the plain key is never stored. */
export interface ApiKeyStore {
  findApiKey(hash: string): Promise<ApiKeyRecord | undefined>;
  putApiKey(hash: string, record: ApiKeyRecord): Promise<void>;
}

export const makeApiKeyStore = (db: DynamoDBDocumentClient, tableName: string): ApiKeyStore => ({
  async findApiKey(hash) {
    const { Item } = await db.send(new GetCommand({ TableName: tableName, Key: apiKeyKey(hash) }));
    if (!Item || typeof Item.name !== 'string' || typeof Item.createdAt !== 'string') return undefined;
    return { name: Item.name, createdAt: Item.createdAt, revoked: Item.revoked === true };
  },
  async putApiKey(hash, record) {
    await db.send(
      new PutCommand({ TableName: tableName, Item: { ...apiKeyKey(hash), type: 'apiKey', ...record } }),
    );
  },
});
