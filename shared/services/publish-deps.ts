import { type LastPublishStore, makeLastPublishStore } from '../adapters/last-publish.js';
import { type Lease, makeLease } from '../adapters/lease.js';
import { makePublishJobs, type PublishJobs } from '../adapters/publish-jobs.js';
import { createS3Client, makeS3ObjectStore } from '../adapters/s3.js';
import { createSqsClient, makeSqsSliceQueue } from '../adapters/sqs.js';
import { makeSqsHubQueue } from '../adapters/websub-queue.js';
import { ENV, requireEnv, siteConfigFromEnv } from '../config.js';
import { emfMetrics, type MetricsPort } from '../metrics.js';
import { storeDeps } from './deps.js';
import type { PublishDeps } from './publish.js';
import type { SliceQueue } from './publish-job.js';
import type { HubQueue } from './websub.js';

/** What the publish function needs: a run's deps, and the lease that keeps runs from overlapping. */
export interface PublishFunctionDeps extends PublishDeps {
  /** Held by the run under way: runs never overlap. */
  lease: Lease;
  /** Where runs' objects and durations are counted; none when absent. */
  metrics?: MetricsPort;
  /** Where each run's report is kept for `tidings status`; none in tests that do not look. */
  lastRun?: LastPublishStore;
  /** Where the feeds a run changed go, for the WebSub hub to push to subscribers; none in tests that do not look. */
  hubQueue?: HubQueue;
  /**
   * The full publish as a job (its state, and the queue of its slices): a full run starts one, and
   * a deploy with a new render version too. Without them (tests) a full run is done in the function.
   */
  jobs?: PublishJobs;
  sliceQueue?: SliceQueue;
}

let cached: PublishFunctionDeps | undefined;

/** The publisher's wiring: the store, the site bucket, the site's settings and the runs' lease. */
export const publishDeps = (): PublishFunctionDeps => {
  if (!cached) {
    const { store, db, tableName } = storeDeps();
    cached = {
      store,
      objects: makeS3ObjectStore(createS3Client(), requireEnv(ENV.siteBucket)),
      site: siteConfigFromEnv(),
      lease: makeLease(db, tableName, 'publish'),
      metrics: emfMetrics,
      lastRun: makeLastPublishStore(db, tableName),
      hubQueue: makeSqsHubQueue(createSqsClient(), requireEnv(ENV.hubQueueUrl)),
      jobs: makePublishJobs(db, tableName),
      sliceQueue: makeSqsSliceQueue(createSqsClient(), requireEnv(ENV.publishQueueUrl)),
    };
  }
  return cached;
};
