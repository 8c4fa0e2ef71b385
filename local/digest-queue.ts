import type { DigestMessage, DigestQueue, DigestReport } from '../shared/services/digests.js';
import { addReports, emptyDigestReport, needsRetry } from '../shared/services/digests.js';

/**
 * The digest queue of the local runtime and tests, with SQS's delivery rules that matter here:
 * a message whose handling fails (or reports failures) is delivered again, up to a receive limit,
 * then parked as dead.
 */
export class LocalDigestQueue implements DigestQueue {
  private readonly waiting: { message: DigestMessage; receives: number }[] = [];
  readonly dead: DigestMessage[] = [];

  constructor(private readonly maxReceives = 5) {}

  async send(messages: readonly DigestMessage[]): Promise<void> {
    for (const message of messages) this.waiting.push({ message: structuredClone(message), receives: 0 });
  }

  get size(): number {
    return this.waiting.length;
  }

  /** Handles messages until none are left, including those enqueued while handling. */
  async drain(
    handle: (message: DigestMessage) => Promise<DigestReport>,
    concurrency = 1,
  ): Promise<DigestReport> {
    let total = emptyDigestReport();
    const worker = async () => {
      for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
        next.receives++;
        let report: DigestReport | undefined;
        try {
          report = await handle(next.message);
        } catch {
          report = undefined;
        }
        if (report) total = addReports(total, report);
        if (!report || needsRetry(report)) {
          if (next.receives < this.maxReceives) this.waiting.push(next);
          else this.dead.push(next.message);
        }
      }
    };
    // Workers stop when the queue is momentarily empty; loop until nothing is waiting.
    while (this.waiting.length > 0) await Promise.all(Array.from({ length: concurrency }, worker));
    return total;
  }
}
