import type { HubMessage } from '../shared/domain/websub.js';
import type { HubQueue, HubQueueEntry } from '../shared/services/websub.js';

interface Waiting {
  message: HubMessage;
  /** Epoch milliseconds from which it may be received. */
  due: number;
  receives: number;
}

/**
 * The hub's queue in the local runtime and tests, with the SQS rules the hub relies on: a delayed
 * message is not received before its delay has passed (by the clock given, so tests move time
 * themselves), and a message whose handling throws comes back up to a receive limit, then is dead.
 */
export class LocalHubQueue implements HubQueue {
  private readonly waiting: Waiting[] = [];
  readonly dead: HubMessage[] = [];

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly maxReceives = 5,
  ) {}

  async send(entries: readonly HubQueueEntry[]): Promise<void> {
    const now = this.clock();
    for (const entry of entries)
      this.waiting.push({
        message: structuredClone(entry.message),
        due: now + (entry.delaySeconds ?? 0) * 1000,
        receives: 0,
      });
  }

  get size(): number {
    return this.waiting.length;
  }

  /** When the next waiting message is due, if any. */
  get nextDue(): number | undefined {
    return this.waiting.reduce<number | undefined>(
      (min, w) => (min === undefined || w.due < min ? w.due : min),
      undefined,
    );
  }

  /** Handles every message due now, including those sent (without delay) while handling. */
  async drain(handle: (message: HubMessage) => Promise<unknown>): Promise<number> {
    let handled = 0;
    for (;;) {
      const now = this.clock();
      const at = this.waiting.findIndex((w) => w.due <= now);
      if (at < 0) return handled;
      const [next] = this.waiting.splice(at, 1) as [Waiting];
      next.receives++;
      handled++;
      try {
        await handle(next.message);
      } catch {
        if (next.receives < this.maxReceives) this.waiting.push(next);
        else this.dead.push(next.message);
      }
    }
  }
}
