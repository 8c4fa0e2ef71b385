import { type ChangeTopic, PUBLISH_BATCH_BYTES, PUBLISH_BATCH_MAX } from '../adapters/sns.js';
import type { ChangeMessage } from '../domain/change-message.js';
import { logger } from '../logger.js';

export interface Outgoing {
  /** The change's sequence number, reported back if its message cannot be published. */
  sequenceNumber: string;
  message: ChangeMessage;
}

export interface FanoutOptions {
  /** Tries per message before its change is reported failed (and the stream retries it). */
  maxAttempts?: number;
  baseDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const sizeOf = (m: ChangeMessage): number =>
  Buffer.byteLength(m.body) +
  Object.entries(m.attributes).reduce(
    (sum, [name, a]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(a.DataType) + Buffer.byteLength(a.StringValue),
    0,
  );

/** Packs messages into PublishBatch calls: at most 10 entries and 256 KiB each, in order. */
export const packBatches = <T extends { message: ChangeMessage }>(items: readonly T[]): T[][] => {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item.message);
    if (current.length === PUBLISH_BATCH_MAX || (current.length > 0 && bytes + size > PUBLISH_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
};

/**
 * Publishes one message per change with PublishBatch. Entries SNS refuses, and calls that fail
 * outright (throttling), are retried with backoff; what still fails is returned so the stream
 * retries those changes. Nothing is dropped silently: delivery is at least once.
 */
export const publishChanges = async (
  topic: ChangeTopic,
  outgoing: readonly Outgoing[],
  options: FanoutOptions = {},
): Promise<Set<string>> => {
  const {
    maxAttempts = 4,
    baseDelayMs = 50,
    sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
  } = options;
  const failed = new Set<string>();
  let pending = [...outgoing];
  for (let attempt = 1; pending.length > 0; attempt++) {
    const retry: Outgoing[] = [];
    await Promise.all(
      packBatches(pending).map(async (batch) => {
        try {
          const { failed: refused } = await topic.publishBatch(batch.map((o) => o.message));
          for (const index of refused) {
            const item = batch[index];
            if (item) retry.push(item);
          }
        } catch (error) {
          logger.warn('PublishBatch failed', { error: error as Error, attempt, size: batch.length });
          retry.push(...batch);
        }
      }),
    );
    if (retry.length === 0) break;
    if (attempt >= maxAttempts) {
      for (const item of retry) failed.add(item.sequenceNumber);
      logger.warn('messages not published; their changes will be retried', {
        keys: retry.map((o) => o.message.key),
      });
      break;
    }
    await sleep(baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random()));
    pending = retry.sort((a, b) => (a.sequenceNumber < b.sequenceNumber ? -1 : 1));
  }
  return failed;
};
