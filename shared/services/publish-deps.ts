import { createS3Client, makeS3ObjectStore } from '../adapters/s3.js';
import { ENV, requireEnv, siteConfigFromEnv } from '../config.js';
import { storeDeps } from './deps.js';
import type { PublishDeps } from './publish.js';

let cached: PublishDeps | undefined;

/** The publisher's wiring: the store, the site bucket and the site's settings. */
export const publishDeps = (): PublishDeps => {
  cached ??= {
    store: storeDeps().store,
    objects: makeS3ObjectStore(createS3Client(), requireEnv(ENV.siteBucket)),
    site: siteConfigFromEnv(),
  };
  return cached;
};
