import type { ChangeTopic } from '../../shared/adapters/sns.js';
import type { ChangeMessage } from '../../shared/domain/change-message.js';

/** A deterministic pseudo-random source (mulberry32), so fault injection repeats exactly. */
export const seededRandom = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

export class ThrottlingError extends Error {
  constructor() {
    super('Rate exceeded');
    this.name = 'ThrottlingException';
  }
}

/**
 * An SNS topic that records every PublishBatch call. `throttle` makes a whole call fail;
 * `refuse` makes SNS refuse single entries (they come back in `Failed`).
 */
export const recordingTopic = (
  options: { throttle?: () => boolean; refuse?: (message: ChangeMessage) => boolean } = {},
) => {
  const calls: ChangeMessage[][] = [];
  const published: ChangeMessage[] = [];
  const topic: ChangeTopic = {
    async publishBatch(messages) {
      calls.push([...messages]);
      if (messages.length > 10)
        throw new Error(`PublishBatch takes at most 10 entries (got ${messages.length})`);
      if (options.throttle?.()) throw new ThrottlingError();
      const failed: number[] = [];
      messages.forEach((m, i) => {
        if (options.refuse?.(m)) failed.push(i);
        else published.push(m);
      });
      return { failed };
    },
  };
  return { topic, calls, published };
};
