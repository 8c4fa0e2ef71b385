import { createDocumentClient } from '../adapters/dynamodb.js';
import { createS3Client, makeS3ObjectStore } from '../adapters/s3.js';
import { createSqsClient } from '../adapters/sqs.js';
import { makeCallbackClient } from '../adapters/websub-http.js';
import { makeSqsHubQueue } from '../adapters/websub-queue.js';
import { makeWebSubStore } from '../adapters/websub-store.js';
import { ENV, optionalEnv, requireEnv, siteConfigFromEnv } from '../config.js';
import { DEFAULT_WEBSUB_PER_FEED, DEFAULT_WEBSUB_PER_HOST } from '../domain/websub.js';
import type { HubLimits, HubRequestDeps, HubWorkerDeps } from './websub.js';

/** A cap setting: a whole number from 1 to 1,000,000, or the function fails at start. */
export const parseHubCap = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1_000_000)
    throw new Error(`${name} must be a whole number from 1 to 1000000 (got ${value.slice(0, 40)})`);
  return n;
};

export const hubLimitsFromEnv = (env: NodeJS.ProcessEnv = process.env): HubLimits => ({
  perHost: parseHubCap(ENV.websubPerHost, optionalEnv(ENV.websubPerHost, env), DEFAULT_WEBSUB_PER_HOST),
  perFeed: parseHubCap(ENV.websubPerFeed, optionalEnv(ENV.websubPerFeed, env), DEFAULT_WEBSUB_PER_FEED),
});

const base = () => {
  const db = createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) });
  const objects = makeS3ObjectStore(createS3Client(), requireEnv(ENV.siteBucket));
  return {
    store: makeWebSubStore(db, requireEnv(ENV.tableName)),
    queue: makeSqsHubQueue(createSqsClient(), requireEnv(ENV.hubQueueUrl)),
    site: siteConfigFromEnv(),
    objects,
    now: () => new Date().toISOString(),
  };
};

let hub: HubRequestDeps | undefined;
/** The hub route's wiring: callbacks must be https and public. */
export const hubRequestDeps = (): HubRequestDeps => {
  if (!hub) {
    const { objects, ...rest } = base();
    hub = {
      ...rest,
      policy: 'aws',
      limits: hubLimitsFromEnv(),
      callbacks: makeCallbackClient('aws'),
      feedExists: async (path) => (await objects.get(path)) !== undefined,
    };
  }
  return hub;
};

let worker: HubWorkerDeps | undefined;
export const hubWorkerDeps = (): HubWorkerDeps => {
  worker ??= { ...base(), callbacks: makeCallbackClient('aws') };
  return worker;
};
