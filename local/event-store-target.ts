import type { Io } from '../cli/io.js';
import { assertFolderFree, findServer, folderInUse, localDataDir } from '../cli/local/target.js';
import { createDocumentClient } from '../shared/adapters/dynamodb.js';
import { makeEventStore } from '../shared/adapters/event-store.js';
import { makeTopicLabelStore, type TopicLabelStore } from '../shared/adapters/topic-labels.js';
import type { Runtime } from './runtime.js';

type Store = ReturnType<typeof makeEventStore>;

/** A named table: a deployed one with the operator's credentials, or any DynamoDB-compatible endpoint. */
export interface TableTarget {
  table: string;
  region?: string;
  endpoint?: string;
}

/** Runs `use` on the table's event store, and closes the client after. */
export const onTable = async <T>(
  target: TableTarget,
  use: (store: Store, labels: TopicLabelStore) => Promise<T>,
): Promise<T> => {
  const db = createDocumentClient({
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    ...(target.region ? { region: target.region } : {}),
  });
  try {
    return await use(makeEventStore(db, target.table), makeTopicLabelStore(db, target.table));
  } finally {
    db.destroy();
  }
};

/**
 * Runs `use` on the local data folder through a runtime of this process's own (its change capture
 * stands in for the stream). Undefined, said on stderr, while `npm start` holds the folder: the
 * store can be opened by one process at a time.
 */
export const onLocalFolder = async <T>(
  io: Io,
  command: string,
  use: (runtime: Runtime, store: Store, labels: TopicLabelStore) => Promise<T>,
): Promise<T | undefined> => {
  const dataDir = localDataDir(io.env);
  const server = await findServer(dataDir);
  if (server) {
    io.err(
      `${command}: \`npm start\` runs on ${dataDir} (${server.url}, pid ${server.pid}); stop it first (it holds the data folder)\n`,
    );
    return undefined;
  }
  assertFolderFree(dataDir);
  const { LOCAL_TABLE, startRuntime } = await import('./runtime.js');
  const runtime = await startRuntime({ dataDir, port: 0, loadSamples: false, publishIntervalMs: 0 }).catch(
    (error: unknown) => {
      throw folderInUse(dataDir, error) ?? error;
    },
  );
  const db = createDocumentClient({ endpoint: runtime.dynamodbEndpoint });
  try {
    return await use(runtime, makeEventStore(db, LOCAL_TABLE), makeTopicLabelStore(db, LOCAL_TABLE));
  } finally {
    db.destroy();
    await runtime.stop();
  }
};
