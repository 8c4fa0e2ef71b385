import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../adapters/dynamodb.js';
import {
  type EventStore,
  type ListingStore,
  makeEventStore,
  type PublishStore,
} from '../adapters/event-store.js';
import { ENV, optionalEnv, requireEnv } from '../config.js';

export interface StoreDeps {
  store: EventStore & ListingStore & PublishStore;
  now: () => string;
  /** The client and table the store uses, for what else lives in the table (the publisher's lease). */
  db: DynamoDBDocumentClient;
  tableName: string;
}

let cached: StoreDeps | undefined;

/**
 * The AWS wiring of the store, built once per cold start on first use. Each capability has its
 * own wiring module, so a function's bundle holds only the SDK clients it uses. Built lazily rather than at import so
 * the local runtime and tests can import a handler module and pass their own deps.
 */
export const storeDeps = (): StoreDeps => {
  if (!cached) {
    const db = createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) });
    const tableName = requireEnv(ENV.tableName);
    cached = { store: makeEventStore(db, tableName), now: () => new Date().toISOString(), db, tableName };
  }
  return cached;
};

/** Resolves deps given directly or as a factory, once. */
export const lazy = <T>(deps: T | (() => T)): (() => T) => {
  let value: T | undefined;
  return () => {
    value ??= typeof deps === 'function' ? (deps as () => T)() : deps;
    return value;
  };
};
