import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Alias } from 'aws-cdk-lib/aws-kms';
import { type CfnTopic, Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledgeWildcard } from '../nag.js';

/** The SNS topic of changes: encrypted at rest, TLS only. Integrators subscribe to it. */
export class ChangeTopic extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Tidings changes',
      masterKey: Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
  }

  /** What the webhook functions need: subscribe, list and remove HTTP(S) subscriptions. */
  grantManageSubscriptions(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['sns:Subscribe', 'sns:ListSubscriptionsByTopic'],
        resources: [this.topic.topicArn],
      }),
    );
    // Unsubscribe and GetSubscriptionAttributes are authorized on the subscription ARNs,
    // which are `<topic ARN>:<id>`: scoped to this topic's subscriptions only.
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['sns:Unsubscribe', 'sns:GetSubscriptionAttributes'],
        resources: [`${this.topic.topicArn}:*`],
      }),
    );
    acknowledgeWildcard(
      grantee,
      { element: this.topic.node.defaultChild as CfnTopic, suffix: ':*' },
      "Subscription ARNs are '<topic ARN>:<id>' with ids SNS assigns at subscribe time; ':*' scopes the grant to this topic's subscriptions",
    );
  }
}
