import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { SubscriptionFilter, type Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { ALERT_FILTER_POLICY } from '../../shared/domain/alerts.js';
import type { EventsTable } from './events-table.js';
import type { Mail } from './mail.js';
import { TidingsFunction } from './tidings-function.js';

export interface AlertsProps {
  table: EventsTable;
  mail: Mail;
  /** The topic of changes the alert queue subscribes to. */
  topic: Topic;
  siteUrl: string;
  /** After an alert, minutes during which further events wait and then go together. */
  coalesceMinutes: number;
  /** Alerts per subscriber and local day at most. */
  dailyCap: number;
  /** IANA zone of subscribers who chose none. */
  defaultTimeZone: string;
  /** Messages per second one worker sends at most (the digests' pace). */
  sendRate: number;
  /** Workers at once (the SQS event source's maximum concurrency). */
  concurrency: number;
  logRetention: RetentionDays;
}

const WORKER_TIMEOUT = Duration.minutes(2);

/**
 * Instant alerts: a queue subscribed to the topic of changes (creations and corrections, filtered
 * by change type only, raw delivery), whose worker adds each change to its followers' waiting
 * events and puts delayed looks back on the same queue; a look sends what is due. Messages that
 * fail five times are parked in a dead-letter queue.
 */
export class Alerts extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly worker: TidingsFunction;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Work', {
      // SSE-SQS: SNS can deliver to it without a customer key policy.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(WORKER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    props.topic.addSubscription(
      new SqsSubscription(this.queue, {
        rawMessageDelivery: true,
        filterPolicy: {
          changeType: SubscriptionFilter.stringFilter({ allowlist: [...ALERT_FILTER_POLICY.changeType] }),
        },
      }),
    );

    this.worker = new TidingsFunction(this, 'SendAlerts', {
      name: 'send-alerts',
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.siteUrl]: props.siteUrl,
        ...props.mail.linkEnvironment,
        ...props.mail.sendEnvironment,
        [ENV.alertQueueUrl]: this.queue.queueUrl,
        [ENV.alertCoalesceMinutes]: String(props.coalesceMinutes),
        [ENV.alertDailyCap]: String(props.dailyCap),
        [ENV.defaultTimeZone]: props.defaultTimeZone,
        [ENV.digestSendRate]: String(props.sendRate),
      },
      logRetention: props.logRetention,
      timeout: WORKER_TIMEOUT,
      memorySize: 1024,
    });
    props.table.grantFunction(this.worker);
    props.mail.grantSend(this.worker);
    // Its own looks, delayed until due.
    this.queue.grantSendMessages(this.worker);
    this.worker.addEventSource(
      new SqsEventSource(this.queue, {
        // A burst of changes arrives as one batch (a few seconds' window): one write per follower per burst.
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
        maxConcurrency: props.concurrency,
      }),
    );
  }
}
