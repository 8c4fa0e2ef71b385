import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthTidings } from '../helpers/synth.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, asserted on structurally
type Cfn = any;
type Resource = { Type: string; Properties: Record<string, Cfn> };

const synth = (context: Record<string, unknown> = {}) => {
  const { template, stack } = synthTidings(context);
  const resources = (type: string) => Object.entries(template.findResources(type)) as [string, Resource][];
  const idOf = (type: string, prefix: string) => {
    const found = resources(type).filter(([id]) => id.startsWith(prefix));
    if (found.length !== 1) throw new Error(`${found.length} ${type} named ${prefix}*`);
    return (found[0] as [string, Resource])[0];
  };
  const worker = resources('AWS::Lambda::Function').find(
    ([, fn]) => fn.Properties.Description === 'Tidings send-alerts',
  ) as [string, Resource];
  return { template, stack, resources, idOf, worker };
};

const { template, resources, idOf, worker } = synth();
const queue = idOf('AWS::SQS::Queue', 'AlertsWork');
const deadLetters = idOf('AWS::SQS::Queue', 'AlertsDeadLetters');

describe('instant alerts', () => {
  it('subscribe a queue to the topic of changes, raw, filtered by change type only', () => {
    const topic = idOf('AWS::SNS::Topic', 'ChangeTopic');
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: { Ref: topic },
      Endpoint: { 'Fn::GetAtt': [queue, 'Arn'] },
      RawMessageDelivery: true,
      FilterPolicy: { changeType: ['created', 'updated'] },
    });
    // SNS may send to the queue, for this topic only.
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sqs:SendMessage',
            Principal: { Service: 'sns.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { Ref: topic } } },
          }),
        ]),
      },
    });
  });

  it('work off the queue in bursts, with partial failures, bounded concurrency and a dead-letter queue', () => {
    const timeout = worker[1].Properties.Timeout as number;
    expect(timeout).toBe(120);
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: timeout * 6,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters, 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionName: { Ref: worker[0] },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('alarm on anything in the dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetters, 'QueueName'] } }],
      Threshold: 1,
    });
  });

  it('let the worker put looks on its own queue and on no other', () => {
    const role = worker[1].Properties.Role['Fn::GetAtt'][0];
    const sqs = resources('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, Cfn>[])
      .filter((s) => JSON.stringify(s.Action).includes('sqs:Send'));
    expect(sqs.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [queue, 'Arn'] }]);
  });

  it('tell the worker its queue, the rules’ settings and the shared send rate', () => {
    expect(worker[1].Properties.Environment.Variables).toMatchObject({
      ALERT_QUEUE_URL: { Ref: queue },
      ALERT_COALESCE_MINUTES: '10',
      ALERT_DAILY_CAP: '12',
      DEFAULT_TIME_ZONE: 'UTC',
      DIGEST_SEND_RATE: '5',
    });
  });

  it('take the settings from the deploy context', () => {
    const configured = synth({
      instantCoalesceMinutes: 20,
      instantDailyCap: 4,
      defaultTimeZone: 'Europe/Berlin',
      alertConcurrency: 5,
      digestSendRate: 3,
    });
    expect(configured.worker[1].Properties.Environment.Variables).toMatchObject({
      ALERT_COALESCE_MINUTES: '20',
      ALERT_DAILY_CAP: '4',
      DEFAULT_TIME_ZONE: 'Europe/Berlin',
      DIGEST_SEND_RATE: '3',
    });
    configured.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: configured.worker[0] },
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });
});
