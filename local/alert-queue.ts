import {
  type AlertDeps,
  type AlertLook,
  type AlertQueue,
  type AlertReport,
  addAlertReports,
  type ChangeNotice,
  emptyAlertReport,
  lookAtAlerts,
  queueChanges,
} from '../shared/services/alerts.js';

/** A failed look comes back after this long (the alert queue's visibility timeout is minutes in AWS). */
const RETRY_AFTER_MS = 30_000;

interface Waiting<T> {
  message: T;
  receives: number;
}

export interface AlertDrainOptions {
  /** Looks per call, as SQS hands a worker a batch (default 10). */
  lookBatch?: number;
  /** Calls at once, as the event source's concurrency (default 2). */
  concurrency?: number;
}

/**
 * The alert queue of the local runtime, tests and the benchmark, with the SQS rules that matter:
 * a look waits until it is due (by the clock it is given, which a test or the benchmark moves),
 * and a message whose handling fails is delivered again, up to a receive limit, then parked as dead.
 */
export class LocalAlertQueue implements AlertQueue {
  private changes: Waiting<ChangeNotice>[] = [];
  private looks: (Waiting<AlertLook> & { due: number })[] = [];
  readonly dead: (ChangeNotice | AlertLook)[] = [];

  constructor(
    private readonly now: () => number,
    private readonly maxReceives = 5,
  ) {}

  async schedule(looks: readonly AlertLook[]): Promise<void> {
    for (const look of looks)
      this.looks.push({ message: { ...look }, receives: 0, due: Date.parse(look.at) });
  }

  /** What the topic of changes delivers to the queue's subscription. */
  deliver(changes: readonly ChangeNotice[]): void {
    for (const change of changes) this.changes.push({ message: structuredClone(change), receives: 0 });
  }

  /** When the earliest waiting look is due; undefined when none waits. */
  nextDue(): number | undefined {
    return this.looks.reduce<number | undefined>(
      (min, l) => (min === undefined || l.due < min ? l.due : min),
      undefined,
    );
  }

  get waitingLooks(): number {
    return this.looks.length;
  }

  private retryChange(item: Waiting<ChangeNotice>): void {
    if (item.receives < this.maxReceives) this.changes.push(item);
    else this.dead.push(item.message);
  }

  /** Handles every change waiting and every look due now, including those they enqueue that are due now. */
  async drain(deps: AlertDeps, options: AlertDrainOptions = {}): Promise<AlertReport> {
    const { lookBatch = 10, concurrency = 2 } = options;
    let total = emptyAlertReport();
    for (;;) {
      const changes = this.changes.splice(0);
      if (changes.length > 0) {
        for (const c of changes) c.receives++;
        const { report, failed } = await queueChanges(
          deps,
          changes.map((c) => c.message),
        );
        total = addAlertReports(total, report);
        for (const i of failed) this.retryChange(changes[i] as Waiting<ChangeNotice>);
        continue;
      }
      const now = this.now();
      const due = this.looks.filter((l) => l.due <= now);
      if (due.length === 0) return total;
      this.looks = this.looks.filter((l) => l.due > now);
      const batches: (typeof due)[] = [];
      for (let i = 0; i < due.length; i += lookBatch) batches.push(due.slice(i, i + lookBatch));
      const worker = async () => {
        for (let batch = batches.shift(); batch; batch = batches.shift()) {
          for (const l of batch) l.receives++;
          let failed: Set<string>;
          try {
            const out = await lookAtAlerts(
              deps,
              batch.map((l) => l.message),
            );
            total = addAlertReports(total, out.report);
            failed = new Set(out.failed);
          } catch {
            failed = new Set(batch.map((l) => l.message.subscriber));
          }
          for (const l of batch) {
            if (!failed.has(l.message.subscriber)) continue;
            // Back after a visibility timeout's worth, as SQS would deliver it again.
            if (l.receives < this.maxReceives) this.looks.push({ ...l, due: this.now() + RETRY_AFTER_MS });
            else this.dead.push(l.message);
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    }
  }
}
