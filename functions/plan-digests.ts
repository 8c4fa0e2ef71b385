import middy from '@middy/core';
import { type Cadence, DIGEST_CADENCES } from '../shared/domain/subscription.js';
import { ValidationError } from '../shared/errors.js';
import { logger } from '../shared/logger.js';
import { lazy } from '../shared/services/deps.js';
import { planningDeps } from '../shared/services/digest-plan-deps.js';
import { type PlanningDeps, startDigestRun } from '../shared/services/digests.js';

/** The schedule's input: which cadence is due. `now: true` (by hand) ends the window now. */
export interface DigestTrigger {
  cadence?: unknown;
  now?: unknown;
}

/**
 * Starts a digest run: one planning message per shard of the cadence's subscribers goes to the
 * digest queue, where send-digests pages through them and sends.
 */
export const makeHandler = (deps: PlanningDeps | (() => PlanningDeps) = planningDeps) => {
  const get = lazy(deps);
  return middy<DigestTrigger, { cadence: Cadence; end: string }>().handler(async (event) => {
    const cadence = event.cadence;
    if (!(DIGEST_CADENCES as readonly string[]).includes(cadence as string)) {
      throw new ValidationError([
        {
          path: 'cadence',
          rule: `must be one of ${DIGEST_CADENCES.join(', ')} (got ${JSON.stringify(cadence)})`,
        },
      ]);
    }
    const { end } = await startDigestRun(get(), cadence as Cadence, { manual: event.now === true });
    logger.info('digest run planned', { cadence, end });
    return { cadence: cadence as Cadence, end };
  });
};

export const handler = makeHandler();
