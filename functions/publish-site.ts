import middy from '@middy/core';
import type { ScheduledEvent } from 'aws-lambda';
import { logger } from '../shared/logger.js';
import { lazy } from '../shared/services/deps.js';
import {
  type PublishDeps,
  type PublishReport,
  publishAll,
  publishMarked,
} from '../shared/services/publish.js';
import { publishDeps } from '../shared/services/publish-deps.js';

/** Invoked by the schedule (incremental) or by hand with `{"full": true}`. */
export type PublishTrigger = Partial<ScheduledEvent> & { full?: boolean };

/**
 * The publisher: rebuilds the pages and feeds the change stream marked, writing only objects
 * whose bytes changed. Fails the invocation (for alarms) when any rebuild failed.
 */
export const makeHandler = (deps: PublishDeps | (() => PublishDeps) = publishDeps) => {
  const get = lazy(deps);
  return middy<PublishTrigger, PublishReport>().handler(async (event) => {
    const report = event.full ? await publishAll(get()) : await publishMarked(get());
    logger.info('published', { ...report, full: event.full === true });
    if (report.failed > 0)
      throw new Error(`${report.failed} rebuilds failed; their marks stay for the next run`);
    return report;
  });
};

export const handler = makeHandler();
