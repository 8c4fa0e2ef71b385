import { Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface ServiceTopicProps {
  displayName: string;
  /**
   * A customer managed key: AWS services (SES, CloudWatch) cannot publish to a topic encrypted
   * with the AWS managed `alias/aws/sns` key, whose policy cannot name them.
   */
  key: IKey;
}

/** An SNS topic that an AWS service publishes to in this account: encrypted, TLS only. */
export class ServiceTopic extends Construct {
  readonly topic: Topic;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: ServiceTopicProps,
  ) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      displayName: props.displayName,
      masterKey: props.key,
      enforceSSL: true,
    });
  }

  /** Lets `service` (e.g. `cloudwatch.amazonaws.com`) publish, only on behalf of this account. */
  allowPublishFrom(service: string): void {
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(service)],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.allowEncryptionBy(service);
  }

  /**
   * Lets `service` encrypt messages for this topic with its key, only on behalf of this account
   * (for services whose CDK construct writes the topic policy itself, such as SES event destinations).
   */
  allowEncryptionBy(service: string): void {
    this.props.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(service)],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        // In a key policy, "*" means this key.
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
  }
}
