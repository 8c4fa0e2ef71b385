import { createDocumentClient } from '../adapters/dynamodb.js';
import {
  type EventStore,
  type ListingStore,
  makeEventStore,
  type PublishStore,
} from '../adapters/event-store.js';
import { createS3Client, makeS3ObjectStore } from '../adapters/s3.js';
import { createSnsClient, makeSnsTopic } from '../adapters/sns.js';
import { makeSnsWebhooks } from '../adapters/webhooks.js';
import { ENV, optionalEnv, requireEnv, siteConfigFromEnv } from '../config.js';
import type { ChangeDeps } from './changes.js';
import type { PublishDeps } from './publish.js';
import type { WebhookDeps } from './webhooks.js';

export interface StoreDeps {
  store: EventStore & ListingStore & PublishStore;
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

let cachedChanges: ChangeDeps | undefined;

/** The stream function's wiring: the store plus the SNS topic of changes. */
export const changeDeps = (): ChangeDeps => {
  cachedChanges ??= {
    ...storeDeps(),
    topic: makeSnsTopic(createSnsClient(), requireEnv(ENV.topicArn)),
    siteUrl: requireEnv(ENV.siteUrl),
  };
  return cachedChanges;
};

let cachedWebhooks: WebhookDeps | undefined;

/** The webhook functions' wiring: SNS subscriptions of the topic of changes. */
export const webhookDeps = (): WebhookDeps => {
  cachedWebhooks ??= { webhooks: makeSnsWebhooks(createSnsClient(), requireEnv(ENV.topicArn)) };
  return cachedWebhooks;
};

let cachedPublish: PublishDeps | undefined;

/** The publisher's wiring: the store, the site bucket and the site's settings. */
export const publishDeps = (): PublishDeps => {
  cachedPublish ??= {
    store: storeDeps().store,
    objects: makeS3ObjectStore(createS3Client(), requireEnv(ENV.siteBucket)),
    site: siteConfigFromEnv(),
  };
  return cachedPublish;
};

/** Resolves deps given directly or as a factory, once. */
export const lazy = <T>(deps: T | (() => T)): (() => T) => {
  let value: T | undefined;
  return () => {
    value ??= typeof deps === 'function' ? (deps as () => T)() : deps;
    return value;
  };
};
