import { randomUUID } from 'node:crypto';
import type { AlertReceipt, AlertRecipient, AlertStore } from '../adapters/alert-store.js';
import { BATCH_WRITE_MAX } from '../adapters/items.js';
import type { Mailer, OutgoingEmail } from '../adapters/mailer.js';
import {
  type Alert,
  type AlertItem,
  type AlertSettings,
  type AlertState,
  afterSend,
  firstLookAt,
  flushDecision,
  followedBy,
  queueDecision,
  type SentRecord,
  selectAlertItems,
  zoneOf,
} from '../domain/alerts.js';
import type { ChangeType } from '../domain/change-message.js';
import type { StoredEvent, Tag } from '../domain/event.js';
import { followsAnything } from '../domain/subscription.js';
import { logger } from '../logger.js';
import { mapLimit } from '../map-limit.js';
import { METRIC, type MetricsPort } from '../metrics.js';
import { pacedSend } from './send-pacing.js';

/** What the alert worker reads of a change message from the topic of changes. */
export interface ChangeNotice {
  changeType: ChangeType;
  id: string;
  revision: number;
  headline: string;
  tags: readonly Tag[];
  topic?: string;
}

/** A look at a subscriber's waiting events, due at `at` (a delayed message on the alert queue). */
export interface AlertLook {
  subscriber: string;
  at: string;
}

/**
 * Where looks wait until they are due: SQS with a delay in AWS (at most 15 minutes; a look that
 * arrives early finds its subscriber not due and is put back), an in-process queue locally.
 */
export interface AlertQueue {
  schedule(looks: readonly AlertLook[]): Promise<void>;
}

export interface AlertDeps {
  store: AlertStore;
  queue: AlertQueue;
  mailer: Mailer;
  /** Renders an alert into an email: subject, both parts, personal links and List-Unsubscribe headers. */
  compose: (alert: Alert) => Promise<OutgoingEmail>;
  settings: AlertSettings;
  /** Messages per second at most, shared with digests sent through the same mailer. */
  sendRate: number;
  now: () => number;
  tuning?: Partial<AlertTuning>;
  metrics?: MetricsPort;
}

export interface AlertTuning {
  /** Subscribers handled at once. */
  concurrency: number;
  sendAttempts: number;
  backoffMs: number;
  /** A claim older than this is its dead worker's and is taken over. */
  leaseMs: number;
  /** How long a sent alert's receipt may wait for others to share its write. */
  recordDelayMs: number;
}

export const DEFAULT_ALERT_TUNING: AlertTuning = {
  concurrency: 16,
  sendAttempts: 8,
  backoffMs: 200,
  leaseMs: 5 * 60_000,
  recordDelayMs: 20,
};

export interface AlertReport {
  /** Subscriber × change pairs added to waiting sets. */
  queued: number;
  /** Changes not queued: already queued (a redelivery), older, or a correction with the same headline. */
  repeats: number;
  /** Looks scheduled (first arrivals, waits, leftovers). */
  scheduled: number;
  sent: number;
  /** Events listed in the alerts sent. */
  events: number;
  /** Due, but nothing worth an alert (deleted, or corrected without a new headline): no email. */
  dropped: number;
  /** Not due yet: the coalescing window, quiet hours or the day's cap. */
  waiting: number;
  /** Another worker is sending this subscriber's alert. */
  busy: number;
  /** No longer instant, confirmed or reachable: their waiting events were dropped. */
  skipped: number;
  failed: number;
  /** Sent, but a write recording it failed: the message is retried, and the record keeps it from going twice. */
  unrecorded: number;
  throttled: number;
}

export const emptyAlertReport = (): AlertReport => ({
  queued: 0,
  repeats: 0,
  scheduled: 0,
  sent: 0,
  events: 0,
  dropped: 0,
  waiting: 0,
  busy: 0,
  skipped: 0,
  failed: 0,
  unrecorded: 0,
  throttled: 0,
});

export const addAlertReports = (a: AlertReport, b: AlertReport): AlertReport =>
  Object.fromEntries(
    Object.keys(a).map((k) => [k, a[k as keyof AlertReport] + b[k as keyof AlertReport]]),
  ) as unknown as AlertReport;

const tuningOf = (deps: AlertDeps): AlertTuning => ({ ...DEFAULT_ALERT_TUNING, ...deps.tuning });
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Adds a batch of changes to their followers' waiting sets and schedules a look for each
 * subscriber whose set this opens. Deletions add nothing: a deleted event waiting is dropped when
 * looked at, and one already alerted has nothing to follow. Returns the indexes of the changes that
 * could not be queued for everyone (to be delivered again: adding is idempotent).
 */
export const queueChanges = async (
  deps: AlertDeps,
  changes: readonly ChangeNotice[],
): Promise<{ report: AlertReport; failed: number[] }> => {
  const tuning = tuningOf(deps);
  const report = emptyAlertReport();
  const failed = new Set<number>();
  const now = deps.now();
  // The newest revision of each event in the batch; older ones are covered by it.
  const newest = new Map<string, number>();
  changes.forEach((change, index) => {
    if (change.changeType === 'deleted') return;
    const known = newest.get(change.id);
    if (known === undefined || (changes[known] as ChangeNotice).revision < change.revision)
      newest.set(change.id, index);
  });
  // Followers first: an event nobody follows costs its queries and nothing else.
  const refs = new Map<string, { ref: ReturnType<typeof followedBy>[number]; changes: number[] }>();
  for (const index of newest.values()) {
    for (const ref of followedBy(changes[index] as ChangeNotice)) {
      const key = `${ref.kind}#${ref.slug}`;
      const entry = refs.get(key) ?? { ref, changes: [] };
      entry.changes.push(index);
      refs.set(key, entry);
    }
  }
  const followersOf = new Map<number, Set<string>>();
  await mapLimit([...refs.values()], tuning.concurrency, async ({ ref, changes: indexes }) => {
    let followers: string[];
    try {
      followers = await deps.store.followers(ref);
    } catch (error) {
      logger.error('followers could not be read', { kind: ref.kind, slug: ref.slug, error: error as Error });
      for (const i of indexes) failed.add(i);
      return;
    }
    for (const i of indexes) {
      const set = followersOf.get(i) ?? new Set<string>();
      for (const subscriber of followers) set.add(subscriber);
      followersOf.set(i, set);
    }
  });
  const followed = [...followersOf].filter(([i, set]) => set.size > 0 && !failed.has(i)).map(([i]) => i);
  const records = await deps.store.eventRecords(followed.map((i) => (changes[i] as ChangeNotice).id));
  // Each event's revision is queued by one worker, once: claimed first, marked queued after.
  const claimed: number[] = [];
  await mapLimit(followed, tuning.concurrency, async (index) => {
    const change = changes[index] as ChangeNotice;
    const decision = queueDecision(records.get(change.id), change, now, tuning.leaseMs);
    if (decision.kind === 'skip') {
      report.repeats++;
      return;
    }
    const record = {
      revision: change.revision,
      headline: change.headline,
      state: 'queuing' as const,
      at: iso(now),
    };
    if (await deps.store.claimEvent(change.id, record, iso(now - tuning.leaseMs))) claimed.push(index);
    else report.repeats++;
  });
  // Per subscriber, every event of the batch that concerns them: one write each, however many tags match.
  const bySubscriber = new Map<string, Map<string, number>>();
  for (const index of claimed) {
    for (const subscriber of followersOf.get(index) ?? []) {
      const events = bySubscriber.get(subscriber) ?? new Map<string, number>();
      events.set((changes[index] as ChangeNotice).id, index);
      bySubscriber.set(subscriber, events);
    }
  }
  const looks: { look: AlertLook; changes: number[] }[] = [];
  await mapLimit([...bySubscriber], tuning.concurrency, async ([subscriber, events]) => {
    try {
      const added = await deps.store.addPending(subscriber, [...events.keys()]);
      report.queued += events.size;
      // A set this opened needs a look; so does one that held these already (a redelivery whose
      // look may have been lost). A spare look finds nothing due and does nothing.
      if (added.starts || added.known) {
        const state = added.lastSentAt ? { lastSentAt: added.lastSentAt } : {};
        looks.push({
          look: { subscriber, at: firstLookAt(state, deps.now(), deps.settings) },
          changes: [...events.values()],
        });
      }
    } catch (error) {
      logger.error('alert could not be queued', { subscriber, error: error as Error });
      for (const i of events.values()) failed.add(i);
    }
  });
  try {
    await deps.queue.schedule(looks.map((l) => l.look));
    report.scheduled += looks.length;
  } catch (error) {
    logger.error('alert looks could not be scheduled', { error: error as Error });
    for (const l of looks) for (const i of l.changes) failed.add(i);
  }
  // Queued for everyone: a redelivery skips it. Not: its redelivery may queue it again at once
  // (adding to a waiting set twice is harmless).
  await mapLimit(claimed, tuning.concurrency, async (index) => {
    const change = changes[index] as ChangeNotice;
    if (failed.has(index)) await deps.store.releaseEvent(change.id, change.revision);
    else await deps.store.markEventQueued(change.id, change.revision);
  });
  // Duplicates of a failed change in the batch are delivered again with it.
  changes.forEach((change, index) => {
    const chosen = newest.get(change.id);
    if (chosen !== undefined && chosen !== index && failed.has(chosen)) failed.add(index);
  });
  return { report, failed: [...failed].sort((a, b) => a - b) };
};

/** The reasons a subscriber gets no alert whatever waits. */
const unreachable = (recipient: AlertRecipient | undefined): boolean => {
  const subscriber = recipient?.subscriber;
  return (
    !subscriber ||
    recipient.suppressed ||
    subscriber.status !== 'confirmed' ||
    subscriber.cadence !== 'instant' ||
    !followsAnything(subscriber)
  );
};

/** A claim whose worker has had this long (half the lease) is finished on the state itself, not by a receipt put blind. */
const lateAfter = (tuning: AlertTuning) => tuning.leaseMs / 2;

/**
 * The receipts of one handling's sends, written in batches (one request for up to 25) soon after
 * each send: when 25 wait, or `recordDelayMs` after the first. Each resolves to whether its
 * receipt was written.
 */
const receiptWriter = (deps: AlertDeps, tuning: AlertTuning) => {
  let waiting: { receipt: AlertReceipt; done: (ok: boolean) => void }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = waiting;
    waiting = [];
    if (batch.length === 0) return;
    deps.store.recordSent(batch.map((w) => w.receipt)).then(
      () => {
        for (const w of batch) w.done(true);
      },
      (error: unknown) => {
        logger.error('alert receipts not written', { count: batch.length, error: error as Error });
        for (const w of batch) w.done(false);
      },
    );
  };
  return {
    add: (receipt: AlertReceipt): Promise<boolean> =>
      new Promise<boolean>((done) => {
        waiting.push({ receipt, done });
        if (waiting.length >= BATCH_WRITE_MAX) flush();
        else timer ??= setTimeout(flush, tuning.recordDelayMs);
      }),
    flush,
  };
};

/**
 * Looks at subscribers' waiting events: sends those due as one alert each (claimed in one
 * conditional write that records the send before it happens, so never two workers at once and
 * never twice; finished by a receipt after it), reschedules those not due, drops what is not
 * worth an alert. A failure is reported so the look is delivered again.
 */
export const lookAtAlerts = async (
  deps: AlertDeps,
  looks: readonly AlertLook[],
): Promise<{ report: AlertReport; failed: string[] }> => {
  const tuning = tuningOf(deps);
  const report = emptyAlertReport();
  const failed = new Set<string>();
  const now = deps.now();
  // A look delivered before its time (SQS delays at most 15 minutes) goes back until it is due.
  const later: AlertLook[] = looks.filter((look) => Date.parse(look.at) > now);
  const subscribers = new Set(looks.filter((look) => Date.parse(look.at) <= now).map((l) => l.subscriber));
  const recipients = await deps.store.getRecipients([...subscribers]);
  const due: AlertRecipient[] = [];
  for (const id of subscribers) {
    const recipient = recipients.get(id);
    const state = recipient?.state;
    // A claim not known to have finished: its worker may be sending now. After the lease it is
    // taken over (its worker died, or its send failed and could not be undone).
    if (state?.claimId !== undefined && Date.parse(state.claimedAt ?? '') + tuning.leaseMs > now) {
      report.busy++;
      later.push({ subscriber: id, at: iso(Date.parse(state.claimedAt ?? '') + tuning.leaseMs) });
      continue;
    }
    if (unreachable(recipient)) {
      if (recipient && recipient.state.pending.length > 0) {
        if (await deps.store.drop(id, recipient.state)) report.skipped++;
        else {
          report.busy++;
          later.push({ subscriber: id, at: iso(now + tuning.leaseMs) });
        }
      }
      continue;
    }
    const { subscriber } = recipient as AlertRecipient;
    const decision = flushDecision(state as AlertState, now, subscriber, deps.settings);
    if (decision.kind === 'wait') {
      later.push({ subscriber: id, at: decision.until });
      report.waiting++;
    } else if (decision.kind === 'send') due.push(recipient as AlertRecipient);
  }
  const events = await deps.store.readEvents(due.flatMap((r) => r.state.pending));
  const receipts = receiptWriter(deps, tuning);
  const recorded: Promise<void>[] = [];
  await mapLimit(due, tuning.concurrency, async (recipient) => {
    const id = recipient.subscriber.id;
    try {
      const outcome = await sendOne(deps, recipient, events, report, receipts.add);
      if (outcome.look) later.push(outcome.look);
      if (outcome.recorded)
        recorded.push(
          outcome.recorded.then((ok) => {
            if (ok) return;
            report.unrecorded++;
            failed.add(id);
          }),
        );
      if (outcome.failed) failed.add(id);
    } catch (error) {
      logger.error('alert look failed', { subscriber: id, error: error as Error });
      report.failed++;
      failed.add(id);
    }
  });
  receipts.flush();
  await Promise.all(recorded);
  if (later.length > 0) {
    await deps.queue.schedule(later);
    report.scheduled += later.length;
  }
  deps.metrics?.count(METRIC.alertsSent, report.sent);
  deps.metrics?.count(METRIC.alertsFailed, report.failed);
  return { report, failed: [...failed] };
};

interface SendOutcome {
  /** The next look, when events remain (arrived meanwhile) or the claim was busy. */
  look?: AlertLook;
  /** Whether the send's receipt was written (settled once its batch is). */
  recorded?: Promise<boolean>;
  /** Left undone or unrecorded: the look must be delivered again. */
  failed?: boolean;
}

/** One subscriber's due alert. */
const sendOne = async (
  deps: AlertDeps,
  recipient: AlertRecipient,
  events: ReadonlyMap<string, StoredEvent>,
  report: AlertReport,
  receipt: (receipt: AlertReceipt) => Promise<boolean>,
): Promise<SendOutcome> => {
  const tuning = tuningOf(deps);
  const { subscriber, state } = recipient;
  const id = subscriber.id;
  const claimedAt = deps.now();
  const busy = (): SendOutcome => {
    // Another worker claimed, or has just sent what was read here: whatever it leaves waiting it
    // schedules. Should it have died, its claim is taken over after the lease: look again then.
    report.busy++;
    return { look: { subscriber: id, at: iso(claimedAt + tuning.leaseMs) } };
  };
  const items = selectAlertItems(state.pending, events, state.lastSentAt);
  if (items.length === 0) {
    const left = await deps.store.drop(id, state);
    if (!left) return busy();
    report.dropped++;
    return left.pending.length > 0
      ? { look: { subscriber: id, at: firstLookAt(state, deps.now(), deps.settings) } }
      : {};
  }
  const claimId = randomUUID();
  const before: SentRecord = {
    ...(state.lastSentAt === undefined ? {} : { lastSentAt: state.lastSentAt }),
    ...(state.day === undefined ? {} : { day: state.day }),
    sentToday: state.sentToday,
  };
  // The send is recorded with its claim, before it happens: the window it opens, its day's count,
  // its events off the waiting set. A failed send undoes it; one whose worker dies leaves a claim
  // without a receipt, which the next look after the lease undoes and sends again.
  const record = afterSend(state, claimedAt, subscriber, deps.settings);
  const claimed = await deps.store.claim(id, {
    claimId,
    claimedAt: iso(claimedAt),
    handled: state.pending,
    record,
    before,
    read: state.read ?? {},
  });
  if (!claimed) return busy();
  const zone = zoneOf(subscriber, deps.settings);
  // Items come newest first (by updatedAt): the last is the oldest.
  const oldest = items[items.length - 1] as AlertItem;
  const start = iso(Math.min(claimedAt, Date.parse(oldest.event.updatedAt)));
  let messageId: string;
  try {
    const email = await deps.compose({ subscriber, items, window: { start, end: iso(claimedAt) }, zone });
    ({ messageId } = await pacedSend(deps.mailer, email, {
      rate: deps.sendRate,
      attempts: tuning.sendAttempts,
      backoffMs: tuning.backoffMs,
      onThrottle: () => report.throttled++,
    }));
  } catch (error) {
    logger.warn('alert not sent; it will be retried', { subscriber: id, error: error as Error });
    await deps.store.release(id, claimId, state.pending, before);
    report.failed++;
    return { failed: true };
  }
  report.sent++;
  report.events += items.length;
  const look =
    claimed.pending.length > 0
      ? { subscriber: id, at: firstLookAt({ lastSentAt: record.lastSentAt }, deps.now(), deps.settings) }
      : undefined;
  // The receipt right after the send. Were it lost, the claim stays unfinished (a look after the
  // lease finds the same events waiting): the moment between the mail service's answer and the
  // receipt is the one way an alert goes twice. A send that took so long that the claim may be
  // taken over soon is finished on the state itself, only if the claim is still its own.
  const sentAt = deps.now();
  if (sentAt - claimedAt >= lateAfter(tuning)) {
    let finished = false;
    try {
      finished = await deps.store.finishClaim(id, claimId, messageId);
    } catch (error) {
      logger.error('alert sent but not recorded; its look will be retried', {
        subscriber: id,
        error: error as Error,
      });
    }
    if (!finished) report.unrecorded++;
    return { ...(look ? { look } : {}), ...(finished ? {} : { failed: true }) };
  }
  return {
    ...(look ? { look } : {}),
    // Should its batch fail, the claim is finished on the state itself instead.
    recorded: receipt({ subscriberId: id, claimId, messageId, sentAt: iso(sentAt) }).then(
      (ok) => ok || deps.store.finishClaim(id, claimId, messageId).catch(() => false),
    ),
  };
};

/** Whether a look's handling left work undone or unrecorded, so that it must be delivered again. */
export const alertNeedsRetry = (report: AlertReport): boolean => report.failed > 0 || report.unrecorded > 0;
