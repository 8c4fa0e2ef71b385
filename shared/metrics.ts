import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * Business metrics in CloudWatch's embedded metric format (a log line CloudWatch turns into
 * metrics; no API call). The stack's alarms and dashboard name the same namespace, service and
 * metric names, so they live here, imported by both.
 */
export const METRICS_NAMESPACE = 'Tidings';
export const METRICS_SERVICE = 'tidings';

export const METRIC = {
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
  /** A sign-up filled the form's honeypot: answered as usual, nothing sent. */
  signupHoneypot: 'SignupHoneypot',
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export { MetricUnit };

/** One instance per cold start; `publishStoredMetrics()` flushes at the end of an invocation. */
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

/** What services count through: a port, so tests pass a recorder instead of the EMF writer. */
export interface MetricsPort {
  count(name: MetricName, value?: number): void;
}

export const emfMetrics: MetricsPort = {
  count(name, value = 1) {
    metrics.addMetric(name, MetricUnit.Count, value);
    metrics.publishStoredMetrics();
  },
};

export const noMetrics: MetricsPort = { count() {} };
