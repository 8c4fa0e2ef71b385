import { randomUUID } from 'node:crypto';
import type { DigestRecipient, DigestStore } from '../adapters/digest-store.js';
import type { Mailer, OutgoingEmail } from '../adapters/mailer.js';
import {
  buildDigest,
  type ChangeIndex,
  cadenceMs,
  type Digest,
  type DigestSchedule,
  deliveryOf,
  digestWindow,
  indexChanges,
} from '../domain/digest.js';
import {
  DIGEST_CADENCES,
  type DigestCadence,
  followsAnything,
  type Subscriber,
} from '../domain/subscription.js';
import { dueBuckets, isDeliveryAt, latestDelivery, quarterHourOf, supportedZones } from '../domain/zones.js';
import { DIGEST_SHARDS, digestBucket } from '../keys.js';
import { logger } from '../logger.js';
import type { MetricsPort } from '../metrics.js';
import { pacedSend } from './send-pacing.js';

/**
 * Digest work travels as messages (SQS in AWS, an in-process queue locally): the schedule plans
 * each shard of subscribers, a plan pages through its shard and fans out batches, a batch sends.
 * Every message can be redelivered: the ledger makes a second delivery send nothing.
 */
export type DigestMessage =
  | {
      kind: 'plan';
      cadence: DigestCadence;
      end: string;
      shard: number;
      startKey?: string;
      /** Each subscriber's window ends at their own latest delivery time at or before this (not `end`'s). */
      at?: string;
      /**
       * Only these delivery buckets of the shard (`digestBucket`; '' is the default bucket), the
       * first one from `startKey`; absent: the whole shard.
       */
      buckets?: string[];
    }
  | { kind: 'send'; cadence: DigestCadence; end: string; at?: string; subscribers: string[] };

export interface DigestQueue {
  send(messages: readonly DigestMessage[]): Promise<void>;
}

export interface DigestDeps {
  store: DigestStore;
  queue: DigestQueue;
  mailer: Mailer;
  /** Renders a digest into an email: subject, both parts, personal links and List-Unsubscribe headers. */
  compose: (digest: Digest) => Promise<OutgoingEmail>;
  schedule: DigestSchedule;
  /** Messages per second this worker sends at most. */
  sendRate: number;
  now: () => number;
  /** Milliseconds left in this invocation; work beyond it is handed on through the queue. */
  remainingMs?: () => number;
  tuning?: Partial<DigestTuning>;
  /** Where digests sent, empty and failed are counted; none when absent. */
  metrics?: MetricsPort;
}

export interface DigestTuning {
  /** Subscribers per send message. */
  batchSize: number;
  /** Subscriber ids read per page while planning. */
  planPageSize: number;
  /** Digests composed and sent at once within one batch. */
  concurrency: number;
  /** Attempts per message when the mail service throttles. */
  sendAttempts: number;
  /** First back-off after a throttled send; doubles with each attempt, with jitter. */
  backoffMs: number;
  /** A claim older than this whose run never finished is taken over. */
  leaseMs: number;
  /** Changes projected less than this long ago are left for the next window (in-flight writes). */
  settleMs: number;
  /** Stop taking new work when less than this is left of the invocation. */
  reserveMs: number;
}

export const DEFAULT_TUNING: DigestTuning = {
  batchSize: 100,
  planPageSize: 1000,
  concurrency: 8,
  sendAttempts: 8,
  backoffMs: 200,
  leaseMs: 15 * 60_000,
  settleMs: 60_000,
  reserveMs: 30_000,
};

export interface DigestReport {
  sent: number;
  /** Due, but nothing new in their window: nothing sent, cursor moved on. */
  empty: number;
  /** Already sent by another run (or a redelivery). */
  duplicates: number;
  /** Unsubscribed, suppressed, pending, another cadence, or not due. */
  skipped: number;
  /** Subscribers that could not be sent to; their message is retried. */
  failed: number;
  /**
   * Sent (or nothing new), but a write recording it failed (marking the claim sent, moving the
   * cursor): the message is retried, and the retry finds the claim sent and moves the cursor.
   */
  unrecorded: number;
  /** Batches of subscribers enqueued by planning. */
  batches: number;
  /** Send attempts refused for rate and retried. */
  throttled: number;
}

export const emptyDigestReport = (): DigestReport => ({
  sent: 0,
  empty: 0,
  duplicates: 0,
  skipped: 0,
  failed: 0,
  unrecorded: 0,
  batches: 0,
  throttled: 0,
});

export const addReports = (a: DigestReport, b: DigestReport): DigestReport => ({
  sent: a.sent + b.sent,
  empty: a.empty + b.empty,
  duplicates: a.duplicates + b.duplicates,
  skipped: a.skipped + b.skipped,
  failed: a.failed + b.failed,
  unrecorded: a.unrecorded + b.unrecorded,
  batches: a.batches + b.batches,
  throttled: a.throttled + b.throttled,
});

/** Whether a message's handling left work undone or unrecorded, so that it must be delivered again. */
export const needsRetry = (report: DigestReport): boolean => report.failed > 0 || report.unrecorded > 0;

/** What starting a run needs: the queue, the clock and the settings, not the mail side. */
export type PlanningDeps = Pick<DigestDeps, 'queue' | 'schedule' | 'now' | 'tuning'> & {
  /** The zones subscribers can choose (default: the platform's list). */
  zones?: () => readonly string[];
};

const tuningOf = (deps: PlanningDeps): DigestTuning => ({ ...DEFAULT_TUNING, ...deps.tuning });

/**
 * Where a run's windows end at the latest: the default delivery's latest time (or now for a
 * manual run), and never closer to now than the settle time, so a change being written as the run
 * starts falls in the next window rather than in none. Each subscriber's own window ends at their
 * latest delivery time at or before the run, and not after this.
 */
export const runWindowEnd = (deps: PlanningDeps, cadence: DigestCadence, manual: boolean): string => {
  const now = deps.now();
  const settled = now - tuningOf(deps).settleMs;
  const latest = latestDelivery(deliveryOf({}, deps.schedule), cadence === 'weekly', now);
  return new Date(manual ? settled : Math.min(latest, settled)).toISOString();
};

/**
 * A run of one cadence for every subscriber (by hand, `tidings digest`): one plan message per
 * shard. A manual run ends every window now; otherwise each subscriber's at their own latest
 * delivery time.
 */
export const startDigestRun = async (
  deps: PlanningDeps,
  cadence: DigestCadence,
  options: { manual?: boolean } = {},
): Promise<{ end: string }> => {
  const manual = options.manual === true;
  const now = deps.now();
  const end = manual
    ? runWindowEnd(deps, cadence, true)
    : new Date(now - tuningOf(deps).settleMs).toISOString();
  const at = manual ? {} : { at: new Date(now).toISOString() };
  const plans: DigestMessage[] = Array.from({ length: DIGEST_SHARDS }, (_, shard) => ({
    kind: 'plan',
    cadence,
    end,
    shard,
    ...at,
  }));
  await deps.queue.send(plans);
  logger.info('digest run started', { cadence, end, manual });
  return { end: runWindowEnd(deps, cadence, manual) };
};

/** The delivery buckets of a cadence due at `at`: chosen ones by zone, and the default bucket (''). */
export const dueDigestBuckets = (deps: PlanningDeps, cadence: DigestCadence, at: number): string[] => {
  const weekly = cadence === 'weekly';
  const zones = new Set(deps.zones?.() ?? supportedZones());
  zones.add(deps.schedule.timeZone);
  const buckets = dueBuckets(zones, at).map((due) =>
    digestBucket(cadence, due.timeZone, due.hour, due.weekday),
  );
  if (isDeliveryAt(deliveryOf({}, deps.schedule), weekly, at)) buckets.push('');
  return buckets;
};

/**
 * The scheduled run of a quarter hour (the schedule's time, rounded down): for each cadence, the
 * delivery buckets due then, planned per shard. Buckets name local hours, so nothing is rewritten
 * when clocks change, and a bucket is due once per local day (or week) whichever way they moved.
 */
export const planQuarterHour = async (
  deps: PlanningDeps,
  time: number,
): Promise<{ at: string; buckets: Record<DigestCadence, number> }> => {
  const at = quarterHourOf(time);
  const end = new Date(Math.min(at, deps.now() - tuningOf(deps).settleMs)).toISOString();
  const counts = { daily: 0, weekly: 0 };
  const plans: DigestMessage[] = [];
  for (const cadence of DIGEST_CADENCES) {
    const buckets = dueDigestBuckets(deps, cadence, at);
    counts[cadence] = buckets.length;
    if (buckets.length === 0) continue;
    for (let shard = 0; shard < DIGEST_SHARDS; shard++) {
      plans.push({ kind: 'plan', cadence, end, shard, at: new Date(at).toISOString(), buckets });
    }
  }
  if (plans.length > 0) await deps.queue.send(plans);
  logger.info('digest quarter hour planned', { at: new Date(at).toISOString(), end, ...counts });
  return { at: new Date(at).toISOString(), buckets: counts };
};

const timeLeft = (deps: DigestDeps): number => deps.remainingMs?.() ?? Number.POSITIVE_INFINITY;

/**
 * Pages through one shard, or its due buckets (several at once: a quarter hour can have hundreds,
 * most of them empty), enqueueing batches of subscribers gathered across buckets. When the
 * invocation runs short, what is left is handed on: a bucket part-read with its own start key,
 * the untouched ones together.
 */
const plan = async (
  deps: DigestDeps,
  message: Extract<DigestMessage, { kind: 'plan' }>,
): Promise<DigestReport> => {
  const tuning = tuningOf(deps);
  const report = emptyDigestReport();
  const { startKey: firstKey, buckets: all, ...base } = message;
  const at = message.at === undefined ? {} : { at: message.at };
  const pending: { bucket?: string; startKey?: string }[] = all
    ? all.map((bucket, i) => ({ bucket, ...(i === 0 && firstKey ? { startKey: firstKey } : {}) }))
    : [{ ...(firstKey ? { startKey: firstKey } : {}) }];
  const handOn: DigestMessage[] = [];
  const untouched: string[] = [];
  let ids: string[] = [];
  const flush = async (all: boolean) => {
    const batches: DigestMessage[] = [];
    while (ids.length >= tuning.batchSize || (all && ids.length > 0)) {
      batches.push({
        kind: 'send',
        cadence: message.cadence,
        end: message.end,
        ...at,
        subscribers: ids.slice(0, tuning.batchSize),
      });
      ids = ids.slice(tuning.batchSize);
    }
    report.batches += batches.length;
    if (batches.length > 0) await deps.queue.send(batches);
  };
  const leftOver = (bucket: string | undefined, startKey: string | undefined) => {
    if (bucket !== undefined && startKey === undefined) untouched.push(bucket);
    else
      handOn.push({
        ...base,
        ...(startKey ? { startKey } : {}),
        ...(bucket !== undefined ? { buckets: [bucket] } : {}),
      });
  };
  const worker = async () => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      let startKey = next.startKey;
      do {
        if (timeLeft(deps) < tuning.reserveMs) {
          leftOver(next.bucket, startKey);
          break;
        }
        const page = await deps.store.listSubscriberIds(
          message.cadence,
          message.shard,
          tuning.planPageSize,
          startKey,
          next.bucket,
        );
        ids.push(...page.ids);
        await flush(false);
        startKey = page.next;
      } while (startKey);
    }
  };
  await Promise.all(Array.from({ length: Math.min(tuning.concurrency, pending.length) }, worker));
  await flush(true);
  if (untouched.length > 0) handOn.push({ ...base, buckets: untouched });
  if (handOn.length > 0) await deps.queue.send(handOn);
  return report;
};

/**
 * The run's changes, read once and shared by every subscriber this worker serves, indexed by
 * tag and topic label. A warm worker keeps them for the run; a new run (another window end) starts afresh.
 * A subscriber whose window starts earlier than what is held (missed runs) extends it.
 */
class WindowChanges {
  private runKey = '';
  private held: Promise<{ after: string; index: ChangeIndex }> | undefined;
  reads = 0;

  constructor(private readonly store: DigestStore) {}

  forRun(cadence: DigestCadence, end: string): void {
    const key = `${cadence}|${end}`;
    if (key === this.runKey) return;
    this.runKey = key;
    this.held = undefined;
  }

  /** The changes in `(after, end]` by tag and topic label (a superset: each digest filters by its window). */
  async load(after: string, end: string, cadence: DigestCadence): Promise<ChangeIndex> {
    const previous = this.held;
    if (previous) {
      const current = await previous.catch(() => undefined);
      if (current && current.after <= after) return current.index;
    }
    // The first read covers a whole cadence window, which serves every subscriber on schedule.
    const cadenceStart = new Date(Date.parse(end) - cadenceMs(cadence)).toISOString();
    const from = after < cadenceStart ? after : cadenceStart;
    const loading = (async () => {
      const current = previous ? await previous.catch(() => undefined) : undefined;
      this.reads++;
      const older = await this.store.windowChanges(from, current ? current.after : end);
      // What is held already is newer than anything just read: it wins for an event in both.
      const index = indexChanges([...older, ...(current?.index.changes ?? [])]);
      return { after: from, index };
    })();
    this.held = loading;
    try {
      return (await loading).index;
    } catch (error) {
      if (this.held === loading) this.held = previous;
      throw error;
    }
  }
}

const caches = new WeakMap<DigestStore, WindowChanges>();
const windowChangesFor = (store: DigestStore): WindowChanges => {
  let cache = caches.get(store);
  if (!cache) {
    cache = new WindowChanges(store);
    caches.set(store, cache);
  }
  return cache;
};

type Outcome = 'sent' | 'empty' | 'duplicate' | 'skipped' | 'failed';

/**
 * Windows found sent, one after another, before a subscriber is left for the next run: each is
 * a run whose cursor write was lost, so more than one in a row is already unlikely.
 */
const MAX_SENT_WINDOWS = 4;

const sendWithRetry = (deps: DigestDeps, email: OutgoingEmail, report: DigestReport) => {
  const tuning = tuningOf(deps);
  return pacedSend(deps.mailer, email, {
    rate: deps.sendRate,
    attempts: tuning.sendAttempts,
    backoffMs: tuning.backoffMs,
    onThrottle: () => report.throttled++,
  });
};

/**
 * Awaits the writes recording what happened to a subscriber's window. A failure is logged and
 * counted, and the message retried: whatever was sent stays sent (its claim says so), and the
 * retry moves the cursor.
 */
const record = async (
  report: DigestReport,
  subscriber: string,
  writes: Promise<unknown>[],
): Promise<void> => {
  const results = await Promise.allSettled(writes);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failure) return;
  report.unrecorded++;
  logger.error('digest ledger or cursor write failed; its batch will be retried', {
    subscriber,
    error: failure.reason as Error,
  });
};

/** One window of one subscriber: claim, compose, send, mark the claim sent, move the cursor. */
const digestFrom = async (
  deps: DigestDeps,
  subscriber: Subscriber,
  cadence: DigestCadence,
  end: string,
  changes: WindowChanges,
  report: DigestReport,
): Promise<Outcome | { sentBefore: string }> => {
  const tuning = tuningOf(deps);
  const window = digestWindow(subscriber, cadence, end);
  const cursor = subscriber.cursor ?? subscriber.confirmedAt;
  if (!window || cursor === undefined) return 'skipped';
  const index = await changes.load(window.start, end, cadence);
  const digest = buildDigest(subscriber, cadence, window, index);
  if (digest.total === 0) {
    await record(report, subscriber.id, [
      deps.store.recordCursors([{ subscriberId: subscriber.id, cursor: end }]),
    ]);
    return 'empty';
  }
  const now = deps.now();
  const claim = {
    subscriberId: subscriber.id,
    cadence,
    windowStart: cursor,
    windowEnd: end,
    claimId: randomUUID(),
    claimedAt: new Date(now).toISOString(),
    staleBefore: new Date(now - tuning.leaseMs).toISOString(),
  };
  const claimed = await deps.store.claimDigest(claim);
  // Sent by a run that then lost its cursor write: move the cursor instead of sending again.
  if (claimed.kind === 'sent') return { sentBefore: claimed.windowEnd };
  // Another run holds it and is sending now (or died less than a lease ago): never twice.
  if (claimed.kind === 'held') return 'duplicate';
  let messageId: string;
  try {
    const email = await deps.compose(digest);
    ({ messageId } = await sendWithRetry(deps, email, report));
  } catch (error) {
    logger.warn('digest not sent; its batch will be retried', {
      subscriber: subscriber.id,
      error: error as Error,
    });
    await deps.store.releaseDigest(claim);
    return 'failed';
  }
  // The claim marked sent is what keeps this window from going out again, whatever happens to the
  // cursor's write: a later run finds it sent and moves the cursor. Both go at once, right after
  // the send, leaving only the moment between the mail service's answer and these writes.
  const sentAt = new Date(deps.now()).toISOString();
  await record(report, subscriber.id, [
    deps.store.markDigestSent(claim, { messageId, sentAt }).then((marked) => {
      if (!marked) {
        logger.error('digest claim taken over before it was marked sent: the send outlived the lease', {
          subscriber: subscriber.id,
          windowStart: claim.windowStart,
        });
      }
    }),
    deps.store.recordCursors([
      {
        subscriberId: subscriber.id,
        cursor: end,
        sent: { windowStart: window.start, windowEnd: end, messageId, events: digest.shown, sentAt },
      },
    ]),
  ]);
  return 'sent';
};

/**
 * A subscriber's digest for the run. A window found already sent moves the cursor to where that
 * digest ended, and whatever is left up to this run's end is digested from there.
 */
const digestOne = async (
  deps: DigestDeps,
  subscriber: Subscriber,
  cadence: DigestCadence,
  end: string,
  changes: WindowChanges,
  report: DigestReport,
): Promise<Outcome> => {
  let current = subscriber;
  for (let step = 0; step < MAX_SENT_WINDOWS; step++) {
    const outcome = await digestFrom(deps, current, cadence, end, changes, report);
    if (typeof outcome === 'string') return step > 0 && outcome === 'skipped' ? 'duplicate' : outcome;
    const cursor = outcome.sentBefore;
    await record(report, subscriber.id, [
      deps.store.recordCursors([{ subscriberId: subscriber.id, cursor }]),
    ]);
    current = { ...current, cursor };
  }
  return 'duplicate';
};

/** Reads the changes a batch needs before composing starts, from its earliest window start. */
const prefetch = async (
  message: Extract<DigestMessage, { kind: 'send' }>,
  recipients: Map<string, DigestRecipient>,
  changes: WindowChanges,
): Promise<void> => {
  let earliest: string | undefined;
  for (const { subscriber } of recipients.values()) {
    if (subscriber.status !== 'confirmed' || subscriber.cadence !== message.cadence) continue;
    const window = digestWindow(subscriber, message.cadence, message.end);
    if (window && (earliest === undefined || window.start < earliest)) earliest = window.start;
  }
  if (earliest !== undefined) await changes.load(earliest, message.end, message.cadence);
};

/**
 * Where a subscriber's window ends in this run: their latest delivery time at or before the run's
 * time (in their zone, or the default's), never after the run's end; the run's end for a manual run.
 */
const endFor = (
  deps: DigestDeps,
  message: Extract<DigestMessage, { kind: 'send' }>,
  subscriber: Subscriber,
): string => {
  if (message.at === undefined) return message.end;
  const delivery = deliveryOf(subscriber, deps.schedule);
  const latest = latestDelivery(delivery, message.cadence === 'weekly', Date.parse(message.at));
  return latest < Date.parse(message.end) ? new Date(latest).toISOString() : message.end;
};

/** Sends the digests of one batch of subscribers; hands the rest on when the invocation runs short. */
const send = async (
  deps: DigestDeps,
  message: Extract<DigestMessage, { kind: 'send' }>,
): Promise<DigestReport> => {
  const tuning = tuningOf(deps);
  const report = emptyDigestReport();
  const changes = windowChangesFor(deps.store);
  changes.forRun(message.cadence, message.end);
  const recipients = await deps.store.getRecipients(message.subscribers);
  await prefetch(message, recipients, changes);
  const queue = [...message.subscribers];
  const handOn: string[] = [];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      if (timeLeft(deps) < tuning.reserveMs) {
        handOn.push(id, ...queue.splice(0));
        return;
      }
      const recipient = recipients.get(id);
      const subscriber = recipient?.subscriber;
      if (
        !subscriber ||
        recipient.suppressed ||
        subscriber.status !== 'confirmed' ||
        subscriber.cadence !== message.cadence ||
        !followsAnything(subscriber)
      ) {
        report.skipped++;
        continue;
      }
      const outcome = await digestOne(
        deps,
        subscriber,
        message.cadence,
        endFor(deps, message, subscriber),
        changes,
        report,
      );
      if (outcome === 'sent') report.sent++;
      else if (outcome === 'empty') report.empty++;
      else if (outcome === 'duplicate') report.duplicates++;
      else if (outcome === 'skipped') report.skipped++;
      else report.failed++;
    }
  };
  // Every digest's writes are conditional, so none can be batched: each worker writes its own
  // as it goes, which bounds the writes in flight by the concurrency.
  await Promise.all(Array.from({ length: tuning.concurrency }, worker));
  if (handOn.length > 0) await deps.queue.send([{ ...message, subscribers: handOn }]);
  return report;
};

/** Handles one digest message. A report with failures means the message must be redelivered. */
export const handleDigestMessage = (deps: DigestDeps, message: DigestMessage): Promise<DigestReport> =>
  message.kind === 'plan' ? plan(deps, message) : send(deps, message);

/** Reads of the change log this worker made (for the benchmark and tests). */
export const windowReadsOf = (store: DigestStore): number => windowChangesFor(store).reads;
