import { fork } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KEY_ATTRIBUTES, TABLE, TABLE_INDEXES } from '../shared/keys.js';

export interface LocalDynamo {
  endpoint: string;
  /** The store's process, when this process started it. */
  pid?: number;
  /**
   * When this process started the store: has it collect its garbage in full now, resolving to how
   * long that took (ms).
   */
  collect?(): Promise<number>;
  close(): Promise<void>;
}

const SERVER_SCRIPT = resolve(import.meta.dirname, 'dynalite-server.mjs');

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

/**
 * Starts dynalite in a child process: kept on disk under `path` (LevelDB), or in memory when no
 * path is given. Its own process lets the store and the handlers use a core each.
 */
export const startDynalite = async (path?: string): Promise<LocalDynamo> => {
  // Plain JavaScript: none of this process's node options (loaders, --eval) apply to it; gc exposed
  // for `collect`.
  const child = fork(SERVER_SCRIPT, path ? [path] : [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: ['--expose-gc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port?: number }) =>
      message.port ? resolve(message.port) : reject(new Error('dynalite did not report its port')),
    );
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    collect: () =>
      new Promise((resolve, reject) => {
        const answer = (message: { collected?: number }) => {
          if (message.collected === undefined) return;
          child.off('message', answer);
          if (message.collected < 0) reject(new Error('the store process cannot collect (no --expose-gc)'));
          else resolve(message.collected);
        };
        child.on('message', answer);
        if (!child.send({ collect: true })) reject(new Error('the store process is gone'));
      }),
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
};

/** Creates the single table with the same keys and indexes as the CDK construct. Returns true if it was created. */
export const ensureTable = async (db: DynamoDBDocumentClient, tableName: string): Promise<boolean> => {
  try {
    const { Table } = await db.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return false;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await db.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: KEY_ATTRIBUTES.map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: TABLE_INDEXES.map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: {
          ProjectionType: index.projection,
          ...('nonKeyAttributes' in index ? { NonKeyAttributes: [...index.nonKeyAttributes] } : {}),
        },
      })),
    }),
  );
  // dynalite, like DynamoDB, answers CreateTable before the table and its indexes are ACTIVE.
  for (let attempt = 0; attempt < 200; attempt++) {
    const { Table } = await db.send(new DescribeTableCommand({ TableName: tableName }));
    const active =
      Table?.TableStatus === 'ACTIVE' &&
      (Table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (active) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
};
