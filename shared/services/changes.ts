import type { ParkedChangeStore } from '../adapters/parked-changes.js';
import type { ChangeTopic } from '../adapters/sns.js';
import type { TopicLabelStore } from '../adapters/topic-labels.js';
import { buildChangeMessage, changeTypeOf } from '../domain/change-message.js';
import { topicSlug } from '../domain/slug.js';
import type { TopicRef } from '../domain/subscription.js';
import { logger } from '../logger.js';
import { METRIC, type MetricsPort } from '../metrics.js';
import { type FanoutOptions, type Outgoing, publishChanges } from './fanout.js';
import { type EventChange, type ListingDeps, marksOf, projectChanges } from './listings.js';

export interface ChangeDeps extends ListingDeps {
  topic: ChangeTopic;
  /** The public site's base URL, for permalinks. */
  siteUrl: string;
  fanout?: FanoutOptions;
  /** Where projected changes and published messages are counted; none when absent. */
  metrics?: MetricsPort;
  /**
   * Where failed changes are parked for `tidings redrive` (stream records expire after 24 hours;
   * the table keeps them). The local runtime has its own dead-letter file and passes none.
   */
  parked?: ParkedChangeStore;
  /** Where the topic labels events carry are noted, for subscribers to choose from; none when absent. */
  topicLabels?: TopicLabelStore;
}

/** The topic label a change's new image carries, if any. */
const labelOf = (change: EventChange): TopicRef | undefined => {
  const label = change.newImage?.topic;
  return label === undefined || label === '' ? undefined : { slug: topicSlug(label), name: label };
};

/**
 * Everything one batch of event changes causes: exact tag listings and counts, publishing marks,
 * the topic labels noted, and one message per change on the topic. Returns the sequence numbers that must be retried.
 */
export const processChanges = async (
  deps: ChangeDeps,
  changes: readonly EventChange[],
): Promise<string[]> => {
  const outgoing: Outgoing[] = [];
  for (const change of changes) {
    const changeType = changeTypeOf(change.oldImage, change.newImage);
    const image = change.newImage;
    if (!changeType || !image) continue;
    outgoing.push({
      sequenceNumber: change.sequenceNumber,
      message: buildChangeMessage(changeType, image, deps.siteUrl, change.oldImage?.revision),
    });
  }

  // Messages do not wait for the listings: integrators hear of a change as soon as possible. A
  // change that fails either way is retried whole, so its message may go out twice (at least once).
  const [projectionFailed, publishFailed] = await Promise.all([
    (async () => {
      const failed = await projectChanges(deps, changes);
      try {
        await deps.store.markDirty(changes.flatMap(marksOf), deps.now());
      } catch (error) {
        logger.warn('marking pages to rebuild failed; the batch will be retried', { error: error as Error });
        for (const change of changes) failed.add(change.sequenceNumber);
      }
      const labelled = changes.filter((c) => labelOf(c) !== undefined);
      if (deps.topicLabels && labelled.length > 0) {
        try {
          await deps.topicLabels.noteTopics(labelled.map((c) => labelOf(c) as TopicRef));
        } catch (error) {
          logger.warn('noting topic labels failed; their changes will be retried', { error: error as Error });
          for (const change of labelled) failed.add(change.sequenceNumber);
        }
      }
      return failed;
    })(),
    publishChanges(deps.topic, outgoing, deps.fanout),
  ]);

  deps.metrics?.count(
    METRIC.changesProjected,
    changes.filter((c) => !projectionFailed.has(c.sequenceNumber)).length,
  );
  deps.metrics?.count(
    METRIC.messagesPublished,
    outgoing.filter((o) => !publishFailed.has(o.sequenceNumber)).length,
  );
  const failed = (c: EventChange) =>
    projectionFailed.has(c.sequenceNumber) || publishFailed.has(c.sequenceNumber);
  if (deps.parked)
    await settleParked(
      deps.parked,
      changes.filter(failed),
      changes.filter((c) => !failed(c)),
      deps.now(),
    );
  return changes.filter(failed).map((c) => c.sequenceNumber);
};

/**
 * Parks every change that failed (each failed attempt writes it again: the last one is the one
 * given up on) and clears the park of each event projected now. Neither decides the batch's
 * outcome: a park that cannot be written leaves the change to the stream's retries and its
 * dead-letter queue; one that cannot be cleared is only replayed once more by `redrive`.
 */
const settleParked = async (
  parked: ParkedChangeStore,
  failed: readonly EventChange[],
  done: readonly EventChange[],
  at: string,
): Promise<void> => {
  const [park, clear] = await Promise.allSettled([
    failed.length > 0 ? parked.park(failed, at) : Promise.resolve(),
    done.length > 0 ? parked.clear(done) : Promise.resolve(),
  ]);
  if (park.status === 'rejected') {
    logger.error('parking failed changes failed', {
      error: park.reason as Error,
      ids: failed.map((c) => c.id),
    });
  }
  if (clear.status === 'rejected') {
    logger.warn('clearing parked changes failed; redrive will replay them', { error: clear.reason as Error });
  }
};
