import { makeParkedChangeStore } from '../adapters/parked-changes.js';
import { createSnsClient, makeSnsTopic } from '../adapters/sns.js';
import { makeTopicLabelStore } from '../adapters/topic-labels.js';
import { ENV, requireEnv } from '../config.js';
import { emfMetrics } from '../metrics.js';
import type { ChangeDeps } from './changes.js';
import { storeDeps } from './deps.js';

let cached: ChangeDeps | undefined;

/** The stream function's wiring: the store, the SNS topic of changes, and where failed changes are parked. */
export const changeDeps = (): ChangeDeps => {
  if (!cached) {
    const store = storeDeps();
    cached = {
      ...store,
      // Failed changes outlive the stream's 24 hours here, for `tidings redrive`.
      parked: makeParkedChangeStore(store.db, store.tableName),
      topic: makeSnsTopic(createSnsClient(), requireEnv(ENV.topicArn)),
      siteUrl: requireEnv(ENV.siteUrl),
      metrics: emfMetrics,
      topicLabels: makeTopicLabelStore(store.db, store.tableName),
    };
  }
  return cached;
};
