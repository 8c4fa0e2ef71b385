import { Duration, Validations } from 'aws-cdk-lib';
import { FilterCriteria, FilterRule, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { EVENT_SK } from '../../shared/keys.js';
import type { ChangeTopic } from './change-topic.js';
import type { EventsTable } from './events-table.js';
import { TidingsFunction } from './tidings-function.js';

export interface ChangeStreamProps {
  table: EventsTable;
  changes: ChangeTopic;
  /** Base URL of the public site, for permalinks in messages. */
  siteUrl: string;
  logRetention: RetentionDays;
  /** Batches of one stream shard processed at once (1–10; per-key order holds at any factor). */
  parallelization: number;
}

/** The table's stream → process-changes → the topic; retried with bisection, poison records parked in SQS. */
export class ChangeStream extends Construct {
  readonly handler: TidingsFunction;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ChangeStreamProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the dead-letter destination of the stream's event source (records that failed every retry)",
    });
    this.handler = new TidingsFunction(this, 'ProcessChanges', {
      name: 'process-changes',
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.topicArn]: props.changes.topic.topicArn,
        [ENV.siteUrl]: props.siteUrl,
      },
      logRetention: props.logRetention,
      timeout: Duration.seconds(60),
    });
    props.table.grantFunction(this.handler);
    props.changes.topic.grantPublish(this.handler);
    this.handler.addEventSource(
      new DynamoEventSource(props.table.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        retryAttempts: 10,
        maxRecordAge: Duration.hours(24),
        reportBatchItemFailures: true,
        parallelizationFactor: props.parallelization,
        onFailure: new SqsDlq(this.deadLetterQueue),
        // Only event items: the listings this function writes must not wake it again.
        filters: [FilterCriteria.filter({ dynamodb: { Keys: { SK: { S: FilterRule.isEqual(EVENT_SK) } } } })],
      }),
    );
  }
}
