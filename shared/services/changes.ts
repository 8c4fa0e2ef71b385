import type { ChangeTopic } from '../adapters/sns.js';
import { buildChangeMessage, changeTypeOf } from '../domain/change-message.js';
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
}

/**
 * Everything one batch of event changes causes: exact tag listings and counts, publishing marks,
 * and one message per change on the topic. Returns the sequence numbers that must be retried.
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
  return changes
    .map((c) => c.sequenceNumber)
    .filter((seq) => projectionFailed.has(seq) || publishFailed.has(seq));
};
