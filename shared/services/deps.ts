import { createDocumentClient } from '../adapters/dynamodb.js';
import { type EventStore, type ListingStore, makeEventStore } from '../adapters/event-store.js';
import { ENV, optionalEnv, requireEnv } from '../config.js';

export interface StoreDeps {
  store: EventStore & ListingStore;
  now: () => string;
}

let cached: StoreDeps | undefined;

/**
 * The AWS wiring, built once per cold start on first use. Built lazily rather than at import so
 * the local runtime and tests can import a handler module and pass their own deps.
 */
export const storeDeps = (): StoreDeps => {
  cached ??= {
    store: makeEventStore(
      createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) }),
      requireEnv(ENV.tableName),
    ),
    now: () => new Date().toISOString(),
  };
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
