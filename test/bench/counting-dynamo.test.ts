import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CountingDynamo, diffDynamoCounts, startCountingDynamo } from '../../bench/counting-dynamo.js';
import { ensureTable } from '../../local/dynamodb.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

/** The cost benchmark's proxy, in front of a real dynalite, seen from an ordinary client. */
describe('the counting DynamoDB proxy', () => {
  let table: TestTable;
  let proxy: CountingDynamo;
  let db: ReturnType<typeof createDocumentClient>;
  const name = 'counted';

  beforeAll(async () => {
    table = await startTestTable();
    proxy = await startCountingDynamo(table.dynamo.endpoint);
    db = createDocumentClient({ endpoint: proxy.endpoint });
    await ensureTable(db, name);
  });

  afterAll(async () => {
    db.destroy();
    await proxy.close();
    await table.close();
  });

  const counted = async (work: () => Promise<unknown>) => {
    const before = proxy.snapshot();
    await work();
    return diffDynamoCounts(proxy.snapshot(), before);
  };

  it('counts a put by kind, its table units, and a unit per KB of each index entry it makes', async () => {
    const item = {
      PK: 'EVENT#2016/11/16/a',
      SK: 'EVENT',
      GSI1PK: 'LATEST#1',
      GSI1SK: '2016-11-16#a',
      GSI2PK: 'DAY#2016-11-16',
      GSI2SK: '2016-11-16T00:00:00Z#a',
      body: 'x'.repeat(1500),
    };
    const counts = await counted(() => db.send(new PutCommand({ TableName: name, Item: item })));
    // ~1.6 KB: 2 table units, and 2 in each of the two indexes projecting everything.
    expect(counts).toEqual({
      requests: { PutItem: 1 },
      readUnits: 0,
      tableWriteUnits: 2,
      indexWriteUnits: 4,
      conditionalFailures: 0,
    });
  });

  it('passes the answer through untouched, and counts reads, refused conditions and deletes', async () => {
    const read = await counted(async () => {
      const out = await db.send(
        new GetCommand({
          TableName: name,
          Key: { PK: 'EVENT#2016/11/16/a', SK: 'EVENT' },
          ConsistentRead: true,
        }),
      );
      expect(out.Item?.GSI1PK).toBe('LATEST#1');
    });
    expect(read).toMatchObject({ requests: { GetItem: 1 }, readUnits: 1 });

    const refused = await counted(() =>
      db
        .send(
          new UpdateCommand({
            TableName: name,
            Key: { PK: 'EVENT#2016/11/16/a', SK: 'EVENT' },
            UpdateExpression: 'SET body = :b',
            ConditionExpression: 'attribute_not_exists(PK)',
            ExpressionAttributeValues: { ':b': 'y' },
          }),
        )
        .catch((error: Error) => expect(error.name).toBe('ConditionalCheckFailedException')),
    );
    expect(refused).toMatchObject({
      requests: { UpdateItem: 1 },
      tableWriteUnits: 1,
      conditionalFailures: 1,
    });

    const empty = await counted(() =>
      db.send(
        new QueryCommand({
          TableName: name,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': 'MARK#site' },
        }),
      ),
    );
    // DynamoDB's minimum for an eventually consistent read that finds nothing.
    expect(empty).toMatchObject({ requests: { Query: 1 }, readUnits: 0.5 });

    const deleted = await counted(() =>
      db.send(new DeleteCommand({ TableName: name, Key: { PK: 'EVENT#2016/11/16/a', SK: 'EVENT' } })),
    );
    expect(deleted).toMatchObject({ requests: { DeleteItem: 1 }, tableWriteUnits: 2, indexWriteUnits: 4 });
  });
});
