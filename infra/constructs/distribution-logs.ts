import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  CfnDelivery,
  CfnDeliveryDestination,
  CfnDeliverySource,
  LogGroup,
  type RetentionDays,
} from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface DistributionLogsProps {
  /** The distribution whose access logs these are (its id: the ARN is built from it). */
  distributionId: string;
  logRetention: RetentionDays;
}

/**
 * What a CloudFront access log line keeps. Never the query string (`cs-uri-query`: link tokens
 * travel there), the cookies or the referrer (a page reached by a token link is the referrer of
 * what it asks for next, should a browser ignore its no-referrer policy).
 */
export const ACCESS_LOG_FIELDS = [
  'date',
  'time',
  'x-edge-location',
  'c-ip',
  'c-port',
  'x-forwarded-for',
  'cs-method',
  'cs-protocol',
  'cs-protocol-version',
  'cs(Host)',
  'x-host-header',
  'cs-uri-stem',
  'cs(User-Agent)',
  'cs-bytes',
  'sc-status',
  'sc-bytes',
  'sc-content-type',
  'sc-content-len',
  'time-taken',
  'time-to-first-byte',
  'x-edge-request-id',
  'x-edge-result-type',
  'x-edge-response-result-type',
  'x-edge-detailed-result-type',
  'ssl-protocol',
] as const;

/** Fields that must never be logged: they can carry a link token or a session. */
export const UNLOGGED_FIELDS = ['cs-uri-query', 'cs(Cookie)', 'cs(Referer)'] as const;

/**
 * CloudFront standard logging (v2): the distribution's access logs, with the fields chosen above,
 * into a CloudWatch log group kept for the retention period. CloudFront takes this configuration
 * only in us-east-1, so the construct goes in a stack there.
 */
export class DistributionLogs extends Construct {
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: DistributionLogsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.logGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const source = new CfnDeliverySource(this, 'Source', {
      name: `${stack.stackName}-site-access`,
      logType: 'ACCESS_LOGS',
      resourceArn: stack.formatArn({
        service: 'cloudfront',
        region: '',
        resource: 'distribution',
        resourceName: props.distributionId,
      }),
    });
    // Only log delivery, for this account's delivery sources, may write into the group.
    this.logGroup.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('delivery.logs.amazonaws.com')],
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${this.logGroup.logGroupArn}:log-stream:*`],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'logs',
              resource: 'delivery-source',
              resourceName: '*',
            }),
          },
        },
      }),
    );
    const destination = new CfnDeliveryDestination(this, 'Destination', {
      name: `${stack.stackName}-site-access`,
      destinationResourceArn: this.logGroup.logGroupArn,
      outputFormat: 'json',
    });
    const delivery = new CfnDelivery(this, 'Delivery', {
      deliverySourceName: source.name,
      deliveryDestinationArn: destination.attrArn,
      recordFields: [...ACCESS_LOG_FIELDS],
    });
    delivery.node.addDependency(source, destination);
    // Delivery checks it may write into the group when the destination is made.
    const policy = this.logGroup.node.tryFindChild('Policy');
    if (policy) destination.node.addDependency(policy);
  }
}
