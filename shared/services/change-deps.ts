import { createSnsClient, makeSnsTopic } from '../adapters/sns.js';
import { ENV, requireEnv } from '../config.js';
import { emfMetrics } from '../metrics.js';
import type { ChangeDeps } from './changes.js';
import { storeDeps } from './deps.js';

let cached: ChangeDeps | undefined;

/** The stream function's wiring: the store plus the SNS topic of changes. */
export const changeDeps = (): ChangeDeps => {
  cached ??= {
    ...storeDeps(),
    topic: makeSnsTopic(createSnsClient(), requireEnv(ENV.topicArn)),
    siteUrl: requireEnv(ENV.siteUrl),
    metrics: emfMetrics,
  };
  return cached;
};
