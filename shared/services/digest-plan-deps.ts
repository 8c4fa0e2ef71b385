import { createSqsClient, makeSqsDigestQueue } from '../adapters/sqs.js';
import { ENV, requireEnv } from '../config.js';
import { digestScheduleFromEnv } from './digest-settings.js';
import type { PlanningDeps } from './digests.js';

let planning: PlanningDeps | undefined;

/** The schedule's wiring: only the queue and the settings, so its bundle carries no mail code. */
export const planningDeps = (): PlanningDeps => {
  planning ??= {
    queue: makeSqsDigestQueue(createSqsClient(), requireEnv(ENV.digestQueueUrl)),
    schedule: digestScheduleFromEnv(),
    now: () => Date.now(),
  };
  return planning;
};
