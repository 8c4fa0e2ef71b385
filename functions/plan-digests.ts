import middy from '@middy/core';
import { DIGEST_CADENCES, type DigestCadence } from '../shared/domain/subscription.js';
import { ValidationError } from '../shared/errors.js';
import { logger } from '../shared/logger.js';
import { lazy } from '../shared/services/deps.js';
import { planningDeps } from '../shared/services/digest-plan-deps.js';
import { type PlanningDeps, planQuarterHour, startDigestRun } from '../shared/services/digests.js';

/**
 * The schedule's input: `at`, the schedule's time (every quarter hour). By hand (`tidings
 * digest`): a `cadence`, for all its subscribers; `now: true` ends their windows now.
 */
export interface DigestTrigger {
  at?: unknown;
  cadence?: unknown;
  now?: unknown;
}

export type DigestPlanned =
  | { cadence: DigestCadence; end: string }
  | { at: string; buckets: Record<DigestCadence, number> };

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/;

/**
 * Starts digest work on the digest queue, where send-digests pages through the subscribers and
 * sends: the quarter hour's due delivery buckets, or (by hand) a whole cadence.
 */
export const makeHandler = (deps: PlanningDeps | (() => PlanningDeps) = planningDeps) => {
  const get = lazy(deps);
  return middy<DigestTrigger, DigestPlanned>().handler(async (event) => {
    const { cadence, at } = event;
    if (cadence === undefined) {
      if (at !== undefined && (typeof at !== 'string' || !ISO_TIME.test(at))) {
        throw new ValidationError([
          { path: 'at', rule: `must be an ISO timestamp in UTC (got ${JSON.stringify(at)})` },
        ]);
      }
      const planned = await planQuarterHour(get(), at === undefined ? get().now() : Date.parse(at as string));
      return planned;
    }
    if (!DIGEST_CADENCES.includes(cadence as DigestCadence)) {
      throw new ValidationError([
        {
          path: 'cadence',
          rule: `must be one of ${DIGEST_CADENCES.join(', ')} (got ${JSON.stringify(cadence)})`,
        },
      ]);
    }
    const { end } = await startDigestRun(get(), cadence as DigestCadence, { manual: event.now === true });
    logger.info('digest run planned', { cadence, end });
    return { cadence: cadence as DigestCadence, end };
  });
};

export const handler = makeHandler();
