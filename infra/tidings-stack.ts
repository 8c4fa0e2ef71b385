import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { TidingsConfig } from './config.js';
import { Api } from './constructs/api.js';
import { ChangeStream } from './constructs/change-stream.js';
import { EventsTable } from './constructs/events-table.js';

export interface TidingsStackProps extends StackProps {
  config: TidingsConfig;
}

/** All of Tidings, wired: table → API, table stream → change processing. */
export class TidingsStack extends Stack {
  readonly api: Api;
  readonly changes: ChangeStream;
  readonly events: EventsTable;

  constructor(scope: Construct, id: string, props: TidingsStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as RetentionDays;
    this.events = new EventsTable(this, 'Events', { removalPolicy: config.removalPolicy });
    this.api = new Api(this, 'Api', {
      table: this.events.table,
      logRetention,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
    });
    this.changes = new ChangeStream(this, 'Changes', { table: this.events.table, logRetention });
    new CfnOutput(this, 'ApiUrl', { value: this.api.httpApi.apiEndpoint });
    new CfnOutput(this, 'TableName', { value: this.events.table.tableName });
  }
}
