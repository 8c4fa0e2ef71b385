import { describe, expect, it } from 'vitest';
import { synthTidings, templateQueries } from '../helpers/synth.js';

// The WebSub hub in the template: its queue, dead-letter queue and alarm, its worker, and what the
// hub's route, the worker and the publisher are told and granted.

const { template } = synthTidings({ websubPerHost: 7, websubPerFeed: 70 });
const { resources, functionNamed, envOf, statementsOf, idOf } = templateQueries(template);
const queue = () => idOf('AWS::SQS::Queue', 'WebSubWork');
const deadLetters = () => idOf('AWS::SQS::Queue', 'WebSubDeadLetters');
const sends = (name: string) =>
  statementsOf(name).some(
    (s) =>
      JSON.stringify(s.Action).includes('sqs:SendMessage') &&
      JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [queue(), 'Arn'] }),
  );

describe('the WebSub hub in the stack', () => {
  it('has a queue that parks a message after five receives, encrypted', () => {
    const q = template.toJSON().Resources[queue()].Properties;
    expect(q.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters(), 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(q.SqsManagedSseEnabled).toBe(true);
  });

  it('runs the worker on it, reporting partial batch failures', () => {
    const [worker] = functionNamed('websub-worker');
    const esm = resources('AWS::Lambda::EventSourceMapping').find(
      ([, m]) => m.Properties.FunctionName.Ref === worker,
    );
    expect(esm?.[1].Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [queue(), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('tells the hub route, the worker and the publisher where the queue is, and lets them send to it', () => {
    for (const name of ['websub-hub', 'websub-worker', 'publish-site', 'publish-slice']) {
      expect(envOf(name).HUB_QUEUE_URL, name).toEqual({ Ref: queue() });
      expect(sends(name), name).toBe(true);
    }
    expect(envOf('websub-hub')).toMatchObject({ WEBSUB_PER_HOST: '7', WEBSUB_PER_FEED: '70' });
  });

  it('lets the hub and its worker read feeds, and nothing else of the site', () => {
    for (const name of ['websub-hub', 'websub-worker']) {
      const s3 = statementsOf(name).filter((s) => JSON.stringify(s.Action).includes('s3:'));
      const objects = s3.filter((s) => s.Action === 's3:GetObject');
      expect(objects, name).toHaveLength(1);
      expect(JSON.stringify(objects[0]?.Resource)).toContain('/feeds/*');
      expect(s3.flatMap((s) => [s.Action].flat()).sort(), name).toEqual(['s3:GetObject', 's3:ListBucket']);
    }
  });

  it('alarms on its dead-letter queue', () => {
    const alarm = resources('AWS::CloudWatch::Alarm').find(([id]) => id.includes('WebSubDeadLettersDepth'));
    expect(alarm?.[1].Properties.Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetters(), 'QueueName'] } },
    ]);
  });
});

describe('external hubs (websubHubs)', () => {
  it('are told to the publisher (feeds name them) and the worker (pings them), and to no one without the setting', () => {
    const withHubs = synthTidings({ websubHubs: ['https://pubsubhubbub.appspot.com/'] }).template;
    const env = templateQueries(withHubs).envOf;
    for (const name of ['publish-site', 'publish-slice', 'websub-worker'])
      expect(env(name).WEBSUB_HUBS, name).toBe('https://pubsubhubbub.appspot.com/');
    for (const name of ['publish-site', 'publish-slice', 'websub-worker', 'websub-hub'])
      expect(envOf(name).WEBSUB_HUBS, name).toBeUndefined();
  });
});
