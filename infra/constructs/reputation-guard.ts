import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import type { EventsTable } from './events-table.js';
import { ServiceTopic } from './service-topic.js';
import { TidingsFunction } from './tidings-function.js';

export interface ReputationGuardProps {
  table: EventsTable;
  /** Encrypts the topic CloudWatch publishes the reputation alarms to. */
  topicKey: IKey;
  logRetention: RetentionDays;
}

/**
 * The switch SES reputation flips: the bounce and complaint alarms also notify this topic, and
 * handle-reputation-alarm pauses confirmation sending (`CONTROL#confirmations`) while either is in
 * ALARM. Sign-up reads the switch before sending.
 */
export class ReputationGuard extends Construct {
  readonly topic: ServiceTopic;
  readonly handler: TidingsFunction;

  constructor(scope: Construct, id: string, props: ReputationGuardProps) {
    super(scope, id);
    this.topic = new ServiceTopic(this, 'Alarms', {
      displayName: 'Tidings SES reputation alarms',
      key: props.topicKey,
    });
    this.topic.allowPublishFrom('cloudwatch.amazonaws.com');
    this.handler = new TidingsFunction(this, 'HandleReputationAlarm', {
      name: 'handle-reputation-alarm',
      environment: { [ENV.tableName]: props.table.tableName },
      logRetention: props.logRetention,
      timeout: Duration.seconds(30),
    });
    props.table.grantFunction(this.handler);
    this.topic.topic.addSubscription(new LambdaSubscription(this.handler));
  }
}
