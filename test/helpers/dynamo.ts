import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureTable, type LocalDynamo, startDynalite } from '../../local/dynamodb.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';

export interface TestTable {
  db: DynamoDBDocumentClient;
  tableName: string;
  dynamo: LocalDynamo;
  close(): Promise<void>;
}

let counter = 0;

/** A real DynamoDB endpoint (in-memory dynalite) with a fresh table. */
export const startTestTable = async (): Promise<TestTable> => {
  const dynamo = await startDynalite();
  const db = createDocumentClient({ endpoint: dynamo.endpoint });
  const tableName = `test-${process.pid}-${++counter}`;
  await ensureTable(db, tableName);
  return {
    db,
    tableName,
    dynamo,
    async close() {
      db.destroy();
      await dynamo.close();
    },
  };
};
