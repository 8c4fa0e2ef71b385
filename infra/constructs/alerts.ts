import { Duration } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { SubscriptionFilter, type Topic } from 'aws-cdk-lib/aws-sns';
import { SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { ALERT_FILTER_POLICY } from '../../shared/domain/alerts.js';
import type { EventsTable } from './events-table.js';
import type { Mail } from './mail.js';
import { TidingsFunction } from './tidings-function.js';
import { consumeQueue, workQueue } from './worker-queue.js';

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
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = workQueue(this, {
      workerTimeout: WORKER_TIMEOUT,
      retention: Duration.days(4),
    }));
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
    // It sends its own looks, delayed until due. A burst of changes arrives as one batch (a few
    // seconds' window): one write per follower per burst.
    consumeQueue(this.queue, this.worker, {
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(5),
      maxConcurrency: props.concurrency,
    });
  }
}
