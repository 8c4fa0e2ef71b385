import { Duration } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import type { EventsTable } from './events-table.js';
import type { Mail } from './mail.js';
import { TidingsFunction } from './tidings-function.js';

export interface DigestsProps {
  table: EventsTable;
  mail: Mail;
  siteUrl: string;
  /** UTC hour of both schedules. */
  hour: number;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** Messages per second one worker sends at most. */
  sendRate: number;
  /** Workers at once (the event source's maximum concurrency). */
  concurrency: number;
  logRetention: RetentionDays;
}

const CRON_WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const SEND_TIMEOUT = Duration.minutes(5);

/**
 * Digests: two schedules start plan-digests, which puts one planning message per shard of
 * subscribers on the queue; send-digests pages through them at a bounded rate and concurrency.
 * Messages that fail five times are parked in a dead-letter queue.
 */
export class Digests extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly planner: TidingsFunction;
  readonly sender: TidingsFunction;
  readonly schedules: Rule[];

  constructor(scope: Construct, id: string, props: DigestsProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Work', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's guidance: at least six times the function timeout, so retries are not doubled.
      visibilityTimeout: Duration.seconds(SEND_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    const schedule = {
      [ENV.digestQueueUrl]: this.queue.queueUrl,
      [ENV.digestHour]: String(props.hour),
      [ENV.digestWeekday]: String(props.weekday),
    };

    this.planner = new TidingsFunction(this, 'PlanDigests', {
      name: 'plan-digests',
      environment: schedule,
      logRetention: props.logRetention,
      // It enqueues one planning message per shard; send-digests pages through the subscribers.
      timeout: Duration.minutes(1),
    });
    this.queue.grantSendMessages(this.planner);

    this.sender = new TidingsFunction(this, 'SendDigests', {
      name: 'send-digests',
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.siteUrl]: props.siteUrl,
        ...props.mail.linkEnvironment,
        ...props.mail.sendEnvironment,
        ...schedule,
        [ENV.digestSendRate]: String(props.sendRate),
      },
      logRetention: props.logRetention,
      timeout: SEND_TIMEOUT,
      memorySize: 1024,
    });
    // Claims ledger entries and moves cursors; enqueues its own continuations.
    props.table.grantFunction(this.sender);
    props.mail.grantSend(this.sender);
    this.queue.grantSendMessages(this.sender);
    this.sender.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 5,
        reportBatchItemFailures: true,
        maxConcurrency: props.concurrency,
      }),
    );

    const hour = String(props.hour);
    const weekday = CRON_WEEKDAYS[props.weekday];
    const target = (cadence: 'daily' | 'weekly') =>
      new LambdaFunction(this.planner, { event: RuleTargetInput.fromObject({ cadence }), retryAttempts: 2 });
    this.schedules = [
      new Rule(this, 'Daily', {
        description: `Daily digests at ${hour}:00 UTC`,
        schedule: Schedule.cron({ minute: '0', hour }),
        targets: [target('daily')],
      }),
      new Rule(this, 'Weekly', {
        description: `Weekly digests on ${weekday} at ${hour}:00 UTC`,
        schedule: Schedule.cron({ minute: '0', hour, weekDay: weekday }),
        targets: [target('weekly')],
      }),
    ];
  }
}
