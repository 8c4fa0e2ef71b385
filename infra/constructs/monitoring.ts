import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from '../../shared/metrics.js';
import { ServiceTopic } from './service-topic.js';

export interface MonitoringProps {
  /** Encrypts the alarm topic CloudWatch publishes to. */
  topicKey: IKey;
  /** Emailed on every alarm and recovery (the address must confirm the subscription). */
  alarmEmail?: string;
}

/** Records behind the stream's newest by more than this are a backlog worth waking for. */
export const ITERATOR_AGE_LIMIT = Duration.minutes(5);

/** SES's own thresholds are 5% bounces and 0.1% complaints (review); these act before them. */
export const SES_BOUNCE_RATE_LIMIT = 0.04;
export const SES_COMPLAINT_RATE_LIMIT = 0.0008;

/** us-east-1 list price of one standard-resolution alarm metric a month (CloudWatch pricing, 2026). */
export const ALARM_METRIC_MONTHLY_USD = 0.1;

/** How often alarms look: a problem is mailed within about this long. */
const PERIOD = Duration.minutes(5);

/** The metrics an alarm evaluates, which is what CloudWatch bills it by: a math expression's each count. */
export const metricsIn = (metric: IMetric): number => {
  const config = metric.toMetricConfig();
  if (config.metricStat) return 1;
  return Object.values(config.mathExpression?.usingMetrics ?? {}).reduce((n, m) => n + metricsIn(m), 0);
};

/**
 * Operator alarms, all sent to one SNS topic, alarm and recovery alike.
 *
 * What they cost decides which there are (docs/operations-alarms.md has the whole reasoning). A
 * standard alarm is billed $0.10 a month per metric it evaluates: a metric-math alarm summing the
 * errors of twenty-one functions is twenty-one alarm metrics ($2.10), not one; the account's first
 * 10 alarm metrics are free. The stack used to watch every function for errors and throttles
 * (2 × 21 functions + 7 = 49 alarm metrics, $4.90 a month at list price), most of them blind to
 * what they were for: an API function's failure is answered 500 by its middleware, so its Errors
 * metric never moved. Now each failure has one alarm where it shows first:
 *
 * - the API's 5xx: one metric for every API function and the authorizer (1 alarm metric);
 * - the dead-letter queues of changes, digest batches, alerts, WebSub messages, full-publish slices
 *   and email feedback: what their functions finally give up on lands there; retries before that
 *   are no news (6);
 * - the stream's iterator age: process-changes failing or falling behind (1);
 * - a failed publish run: publish-site fails its invocation for that (1); a full publish's slice
 *   worker crashing or timing out, which its dead-letter queue would show only after three (1);
 * - the work with nowhere to park a failure (plan-digests on its schedule, handle-reputation-alarm
 *   on its topic): one alarm on the sum of their errors (2);
 * - SES's bounce and complaint rates, and the spent confirmation budget (sign-up hardening) (3).
 *
 * 14 alarms, 15 alarm metrics: $1.50 a month at list price, $0.50 beyond the free 10. Throttles
 * have no alarm of their own: a throttled API function answers 5xx, and the asynchronous ones
 * retry, then show in a queue or in the iterator age.
 */
export class Monitoring extends Construct {
  readonly alarmTopic: ServiceTopic;
  readonly alarms: Alarm[] = [];
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.alarmTopic = new ServiceTopic(this, 'Alarms', {
      displayName: 'Tidings alarms',
      key: props.topicKey,
    });
    this.alarmTopic.allowPublishFrom('cloudwatch.amazonaws.com');
    if (props.alarmEmail) this.alarmTopic.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.action = new SnsAction(this.alarmTopic.topic);
  }

  /** The alarm metrics CloudWatch bills (ALARM_METRIC_MONTHLY_USD each a month). */
  get alarmMetricCount(): number {
    return this.alarms.reduce((sum, alarm) => sum + metricsIn(alarm.metric), 0);
  }

  private alarm(
    id: string,
    description: string,
    metric: IMetric,
    threshold = 1,
    comparisonOperator = ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  ): Alarm {
    const alarm = new Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  /** Any 5xx the API answered: every API function and the authorizer, in one metric. */
  watchApi(api: IHttpApi): void {
    this.alarm(
      'ApiServerErrors',
      'The API answered with a server error (5xx): the API functions’ logs name the request id',
      api.metricServerError({ period: PERIOD, statistic: Stats.SUM }),
    );
  }

  /** A publish run failed: pages or feeds stay stale until a run succeeds. */
  watchPublishRuns(fn: IFunction): void {
    this.alarm(
      'PublishFailed',
      'A publish run failed: pages or feeds stay stale until a run succeeds (the marks wait for the next run)',
      fn.metricErrors({ period: PERIOD, statistic: Stats.SUM }),
    );
  }

  /**
   * A full publish's slice worker crashed or timed out. A slice it fails on its own is reported
   * back to the queue and retried without an error; an invocation that dies (a timeout, out of
   * memory) is the early sign of a slice that will end in the dead-letter queue.
   */
  watchPublishSlices(fn: IFunction): void {
    this.alarm(
      'PublishSliceErrors',
      'A full publish’s slice worker crashed or timed out: its slice is retried, three times at most, then parked in the dead-letter queue',
      fn.metricErrors({ period: PERIOD, statistic: Stats.SUM }),
    );
  }

  /**
   * Invocations that fail with nowhere to park their work (scheduled or SNS-invoked, without a
   * dead-letter queue): one alarm on the sum of their errors, billed one alarm metric per function.
   */
  watchUnqueuedFailures(id: string, fns: Record<string, IFunction>, what: string): void {
    const names = Object.keys(fns);
    const usingMetrics = Object.fromEntries(
      Object.values(fns).map((fn, i) => [`e${i}`, fn.metricErrors({ period: PERIOD, statistic: Stats.SUM })]),
    );
    this.alarm(
      id,
      `${what} failed (${names.join(', ')}): their logs say why`,
      new MathExpression({
        expression: `SUM([${Object.keys(usingMetrics).join(', ')}])`,
        usingMetrics,
        label: `Errors of ${names.join(' and ')}`,
        period: PERIOD,
      }),
    );
  }

  /** Anything waiting in a dead-letter queue needs a person. */
  watchDeadLetters(id: string, queue: IQueue, what: string, consequence?: string): void {
    this.alarm(
      `${id}Depth`,
      `${what} are waiting in a dead-letter queue${consequence ? `: ${consequence}` : ''}`,
      queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: Stats.MAXIMUM }),
    );
  }

  /** The change stream's consumer falling behind. */
  watchIteratorAge(id: string, fn: IFunction, what: string): void {
    this.alarm(
      `${id}IteratorAge`,
      `${what} is more than ${ITERATOR_AGE_LIMIT.toMinutes()} minutes behind the table's stream`,
      fn.metric('IteratorAge', { period: PERIOD, statistic: Stats.MAXIMUM }),
      ITERATOR_AGE_LIMIT.toMilliseconds(),
    );
  }

  /** Sign-ups answered without a confirmation because the hourly budget was spent. */
  watchConfirmationBudget(): void {
    this.alarm(
      'ConfirmationBudgetExceeded',
      'Sign-ups went unconfirmed: the hourly budget of confirmation emails (confirmationsPerHour) was spent',
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: METRIC.confirmationBudgetExceeded,
        // Powertools Metrics adds the service as a dimension of every metric.
        dimensionsMap: { service: METRICS_SERVICE },
        period: PERIOD,
        statistic: Stats.SUM,
      }),
    );
  }

  /**
   * SES's account-wide bounce and complaint rates: to the operator, and to `guard`, which pauses
   * confirmation sending while either is over its limit.
   */
  watchSesReputation(guard: ITopic): void {
    const reputation = (metricName: string) =>
      new Metric({
        namespace: 'AWS/SES',
        metricName,
        period: Duration.minutes(15),
        statistic: Stats.MAXIMUM,
      });
    const action = new SnsAction(guard);
    for (const [id, metric, limit, what] of [
      ['SesBounceRate', 'Reputation.BounceRate', SES_BOUNCE_RATE_LIMIT, 'bounce'],
      ['SesComplaintRate', 'Reputation.ComplaintRate', SES_COMPLAINT_RATE_LIMIT, 'complaint'],
    ] as const) {
      const alarm = this.alarm(
        id,
        `SES ${what} rate is over ${limit * 100}%: confirmation emails are paused until it is back under`,
        reputation(metric),
        limit,
        ComparisonOperator.GREATER_THAN_THRESHOLD,
      );
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }
}
