import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { TidingsConfig } from './config.js';
import { Api } from './constructs/api.js';
import { ChangeStream } from './constructs/change-stream.js';
import { ChangeTopic } from './constructs/change-topic.js';
import { EventsTable } from './constructs/events-table.js';
import { Publisher } from './constructs/publisher.js';

export interface TidingsStackProps extends StackProps {
  config: TidingsConfig;
}

/** All of Tidings, wired: table → API, table stream → change processing → topic of changes. */
export class TidingsStack extends Stack {
  readonly api: Api;
  readonly changes: ChangeStream;
  readonly events: EventsTable;
  readonly topic: ChangeTopic;
  readonly publisher: Publisher;

  constructor(scope: Construct, id: string, props: TidingsStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as RetentionDays;
    this.events = new EventsTable(this, 'Events', { removalPolicy: config.removalPolicy });
    this.topic = new ChangeTopic(this, 'ChangeTopic');
    this.api = new Api(this, 'Api', {
      table: this.events.table,
      changes: this.topic,
      logRetention,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
    });
    this.changes = new ChangeStream(this, 'Changes', {
      table: this.events.table,
      changes: this.topic,
      // Until a site distribution fronts the API, permalinks use the configured site URL or the API's own.
      siteUrl: config.siteUrl ?? this.api.httpApi.apiEndpoint,
      logRetention,
    });
    this.publisher = new Publisher(this, 'Publisher', {
      table: this.events.table,
      siteUrl: config.siteUrl ?? this.api.httpApi.apiEndpoint,
      feedSize: config.feedSize,
      publishEveryMinutes: config.publishEveryMinutes,
      logRetention,
    });
    new CfnOutput(this, 'SiteBucket', { value: this.publisher.bucket.bucketName });
    new CfnOutput(this, 'ApiUrl', { value: this.api.httpApi.apiEndpoint });
    new CfnOutput(this, 'TableName', { value: this.events.table.tableName });
    new CfnOutput(this, 'TopicArn', { value: this.topic.topic.topicArn });
  }
}
