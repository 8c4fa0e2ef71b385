import { Duration } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import type { EventsTable } from './events-table.js';
import type { Mail } from './mail.js';
import { TidingsFunction } from './tidings-function.js';
import { consumeQueue, workQueue } from './worker-queue.js';

export interface DigestsProps {
  table: EventsTable;
  mail: Mail;
  siteUrl: string;
  /** The default delivery (subscribers who have not chosen): local hour, weekday (0 = Sunday), zone. */
  hour: number;
  weekday: number;
  timeZone: string;
  /** Messages per second one worker sends at most. */
  sendRate: number;
  /** Workers at once (the event source's maximum concurrency). */
  concurrency: number;
  logRetention: RetentionDays;
}

const SEND_TIMEOUT = Duration.minutes(5);

/**
 * Digests: a quarter-hour schedule starts plan-digests, which puts a planning message per shard
 * for the delivery buckets due on the queue; send-digests pages through them at a bounded rate and concurrency.
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
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = workQueue(this, {
      workerTimeout: SEND_TIMEOUT,
      retention: Duration.days(4),
    }));
    const schedule = {
      [ENV.digestQueueUrl]: this.queue.queueUrl,
      [ENV.digestHour]: String(props.hour),
      [ENV.digestWeekday]: String(props.weekday),
      [ENV.defaultTimeZone]: props.timeZone,
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
    consumeQueue(this.queue, this.sender, { batchSize: 5, maxConcurrency: props.concurrency });

    // Every quarter hour (zones with half- and quarter-hour offsets): the planner works out which
    // zones' delivery hours fall now, from the schedule's own time.
    this.schedules = [
      new Rule(this, 'QuarterHours', {
        description: 'Digests due this quarter hour, in each subscriber’s zone',
        schedule: Schedule.cron({ minute: '0/15' }),
        targets: [
          new LambdaFunction(this.planner, {
            event: RuleTargetInput.fromObject({ at: EventField.time }),
            retryAttempts: 2,
          }),
        ],
      }),
    ];
  }
}
