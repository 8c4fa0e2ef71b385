import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
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

/**
 * Operator alarms, all sent to one SNS topic: dead letters waiting, function errors and
 * throttles, a stream falling behind, a failed publish.
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

  /** Any error, any throttle, in five minutes. */
  watchFunction(id: string, fn: IFunction, what: string): void {
    const period = Duration.minutes(5);
    this.alarm(`${id}Errors`, `${what} failed`, fn.metricErrors({ period, statistic: Stats.SUM }));
    this.alarm(
      `${id}Throttles`,
      `${what} was throttled`,
      fn.metricThrottles({ period, statistic: Stats.SUM }),
    );
  }

  /** Anything waiting in a dead-letter queue needs a person. */
  watchDeadLetters(id: string, queue: IQueue, what: string): void {
    this.alarm(
      `${id}Depth`,
      `${what} are waiting in a dead-letter queue`,
      queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: Stats.MAXIMUM,
      }),
    );
  }

  /** The change stream's consumer falling behind. */
  watchIteratorAge(id: string, fn: IFunction, what: string): void {
    this.alarm(
      `${id}IteratorAge`,
      `${what} is more than ${ITERATOR_AGE_LIMIT.toMinutes()} minutes behind the table's stream`,
      fn.metric('IteratorAge', { period: Duration.minutes(5), statistic: Stats.MAXIMUM }),
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
        period: Duration.minutes(5),
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
