import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';

/**
 * Business metrics in CloudWatch's embedded metric format (a log line CloudWatch turns into
 * metrics; no API call). The stack's alarms and dashboard name the same namespace, service and
 * metric names, so they live here, imported by both.
 *
 * Every name is one billed custom metric ($0.30 a month at list price, prorated by the hours it
 * has data; the first 10 of the account are free), so the only dimension is the service, which
 * Powertools adds to every metric, and nothing is written for a zero: an idle stack writes none
 * (docs/operations-alarms.md).
 */
export const METRICS_NAMESPACE = 'Tidings';
export const METRICS_SERVICE = 'tidings';

export const METRIC = {
  /** An event was created, corrected or deleted (post, batch item, put, delete); repeats are not counted. */
  eventsWritten: 'EventsWritten',
  /** An event write was refused with a 4xx: one per refused request, one per refused batch item. */
  eventsRejected: 'EventsRejected',
  /** A change of the table's stream was projected into the listings and marks (process-changes). */
  changesProjected: 'ChangesProjected',
  /** A change message was published on the topic of changes (process-changes). */
  messagesPublished: 'MessagesPublished',
  /** A site object (page, feed) was rebuilt to new bytes and written (publish-site). */
  objectsWritten: 'ObjectsWritten',
  /** A site object was rebuilt to the bytes already stored, so left alone (publish-site). */
  objectsUnchanged: 'ObjectsUnchanged',
  /** How long a publish run that had work took, in milliseconds (publish-site). */
  publishDuration: 'PublishDuration',
  /** A digest email was sent (send-digests). */
  digestsSent: 'DigestsSent',
  /** A subscriber was due a digest but nothing was new in their window: nothing sent. */
  digestsEmpty: 'DigestsEmpty',
  /** A digest could not be sent; its batch is retried. */
  digestsFailed: 'DigestsFailed',
  /** An instant alert email was sent (send-alerts). */
  alertsSent: 'AlertsSent',
  /** An alert could not be sent; its look is retried. */
  alertsFailed: 'AlertsFailed',
  /** A confirmation email was sent. */
  confirmationsSent: 'ConfirmationsSent',
  /** A sign-up was answered but no confirmation was sent: a per-mailbox or per-client limit. */
  confirmationsLimited: 'ConfirmationsLimited',
  /** A sign-up was answered but no confirmation was sent: the global hourly budget is spent. */
  confirmationBudgetExceeded: 'ConfirmationBudgetExceeded',
  /** A sign-up was answered but no confirmation was sent: sending is paused (SES reputation). */
  confirmationsPaused: 'ConfirmationsPaused',
  /** A confirmation email failed to send (the sign-up still got its 202). */
  confirmationsFailed: 'ConfirmationsFailed',
  /** An address was suppressed after a permanent bounce (handle-email-feedback). */
  bounces: 'Bounces',
  /** An address was suppressed after a complaint (handle-email-feedback). */
  complaints: 'Complaints',
  /** A sign-up filled the form's honeypot: answered as usual, nothing sent. */
  signupHoneypot: 'SignupHoneypot',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The metrics that are durations (milliseconds); every other one is a count. */
export const DURATION_METRICS = [METRIC.publishDuration] as const;
export type DurationMetricName = (typeof DURATION_METRICS)[number];
export type CountMetricName = Exclude<MetricName, DurationMetricName>;

export { MetricUnit };

/** One instance per cold start; `flushMetrics` writes what an invocation recorded when it ends. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

/** What services count through: a port, so tests pass a recorder instead of the EMF writer. */
export interface MetricsPort {
  count(name: CountMetricName, value?: number): void;
  duration(name: DurationMetricName, milliseconds: number): void;
}

/**
 * Adds to the invocation's metrics; nothing is written until `flushMetrics` (one EMF line per
 * invocation, not one per count). Zeros are dropped: a metric without data costs nothing.
 */
export const emfMetrics: MetricsPort = {
  count(name, value = 1) {
    if (value > 0) metrics.addMetric(name, MetricUnit.Count, value);
  },
  duration(name, milliseconds) {
    metrics.addMetric(name, MetricUnit.Milliseconds, Math.max(0, Math.round(milliseconds)));
  },
};

export const noMetrics: MetricsPort = { count() {}, duration() {} };

/** Writes the invocation's metrics, if it recorded any (Powertools warns on an empty flush). */
export const publishMetrics = (): void => {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
};

/**
 * Middy middleware: one EMF line at the end of each invocation, whether it answered or failed.
 * Counting happens in the handler and services before it runs.
 */
export const flushMetrics = <E, R>(): MiddlewareObj<E, R> => ({
  after: publishMetrics,
  onError: publishMetrics,
});

/** For a handler that is a plain function: flushes when it settles. */
export const withMetrics =
  <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<R> => {
    try {
      return await fn(...args);
    } finally {
      publishMetrics();
    }
  };

/** A port that remembers what it was told, for tests: totals by metric name. */
export const recordingMetrics = (): MetricsPort & { totals: Partial<Record<MetricName, number>> } => {
  const totals: Partial<Record<MetricName, number>> = {};
  // Zeros are dropped, as the EMF writer drops them.
  const add = (name: MetricName, value: number) => {
    if (value > 0) totals[name] = (totals[name] ?? 0) + value;
  };
  return {
    totals,
    count: (name, value = 1) => add(name, value),
    duration: (name, milliseconds) => {
      totals[name] = (totals[name] ?? 0) + milliseconds;
    },
  };
};
