import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger } from '../shared/logger.js';
import { flushMetrics, METRIC } from '../shared/metrics.js';
import { lazy } from '../shared/services/deps.js';
import { type PublishFunctionDeps, publishDeps } from '../shared/services/publish-deps.js';
import { handleSliceMessage, type SliceMessage } from '../shared/services/publish-job.js';
import { feedsChanged, watchFeedWrites } from '../shared/services/websub.js';

/** What may arrive on the slice queue; anything else is a poison message for the dead-letter queue. */
export const parseSliceMessage = (body: string): SliceMessage => {
  const message = JSON.parse(body) as Record<string, unknown> | null;
  if (typeof message !== 'object' || message === null)
    throw new Error('not a slice message: must be an object');
  const { job, slice } = message;
  if (typeof job !== 'string' || !/^[0-9A-Za-z-]{1,64}$/.test(job))
    throw new Error('not a slice message: job must be a job id');
  if (!Number.isInteger(slice) || (slice as number) < 0)
    throw new Error('not a slice message: slice must be a whole number');
  return { job, slice: slice as number };
};

/**
 * A worker of the full publish job, on the slice queue (one message at a time): does its slice and,
 * when it was its phase's last, sends the next phase's slices or ends the job. A slice that fails
 * is reported back, and the queue retries it alone (three times, then its dead-letter queue: the
 * job waits for `tidings publish --resume`). The feeds it changed go to the WebSub hub.
 */
export const makeHandler = (deps: PublishFunctionDeps | (() => PublishFunctionDeps) = publishDeps) => {
  const get = lazy(deps);
  const invocation = middy<SQSEvent, SQSBatchResponse, Error, Context>().handler(async (event) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    const { lease, metrics, hubQueue, jobs, sliceQueue, lastRun: _lastRun, ...run } = get();
    for (const record of event.Records) {
      const changedFeeds = new Set<string>();
      try {
        if (!jobs || !sliceQueue) throw new Error('the slice worker has no job store or slice queue');
        const message = parseSliceMessage(record.body);
        const objects = hubQueue
          ? watchFeedWrites(run.objects, (path) => changedFeeds.add(path))
          : run.objects;
        const started = Date.now();
        const outcome = await handleSliceMessage(
          { ...run, objects, jobs, lease, queue: sliceQueue },
          message,
        );
        if (outcome.kind === 'dropped') {
          logger.info('slice dropped', { ...message, reason: outcome.reason });
          continue;
        }
        const { report } = outcome;
        logger.info('slice published', { ...message, ...report, finished: outcome.finished });
        metrics?.count(METRIC.objectsWritten, report.written);
        metrics?.count(METRIC.objectsUnchanged, report.unchanged);
        metrics?.duration(METRIC.publishDuration, Date.now() - started);
      } catch (error) {
        logger.error('slice failed; the queue retries it', {
          error: error as Error,
          messageId: record.messageId,
        });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
      if (hubQueue && changedFeeds.size > 0)
        await feedsChanged(hubQueue, changedFeeds).catch((error: unknown) =>
          // The feeds are written; readers who poll see them, only the push is lost.
          logger.error('could not hand the changed feeds to the WebSub hub', { error: error as Error }),
        );
    }
    return { batchItemFailures };
  });
  return invocation.use(flushMetrics());
};

export const handler = makeHandler();
