import { describe, expect, it } from 'vitest';
import { SLICE_MEMORY_MB, SLICE_RECEIVES, SLICE_TIMEOUT } from '../../infra/constructs/publisher.js';
import { ENV } from '../../shared/config.js';
import { synthTidings, templateQueries } from '../helpers/synth.js';

// The full publish as a distributed job in the template: the slice queue and its dead-letter
// queue, the slice worker and its event source, what publish-site and the worker are told and
// granted, and the alarms that say a job is stuck.

const { template, nag } = synthTidings({ websubHubs: ['https://pubsubhubbub.appspot.com/'] });
const { resources, functionNamed, envOf, statementsOf, idOf } = templateQueries(template);
const arn = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const slices = () => idOf('AWS::SQS::Queue', 'PublisherWork');
const deadLetters = () => idOf('AWS::SQS::Queue', 'PublisherDeadLetters');
const sqsActionsOn = (name: string, queue: string) =>
  statementsOf(name)
    .filter((s) => JSON.stringify(s.Resource) === JSON.stringify(arn(queue)))
    .flatMap((s) => [s.Action].flat() as string[])
    .sort();

describe('the slice queue', () => {
  it('parks a slice after three receives in an encrypted, TLS-only dead-letter queue', () => {
    const q = template.toJSON().Resources[slices()].Properties;
    expect(q.RedrivePolicy).toEqual({ deadLetterTargetArn: arn(deadLetters()), maxReceiveCount: 3 });
    expect(SLICE_RECEIVES).toBe(3);
    for (const id of [slices(), deadLetters()]) {
      expect(template.toJSON().Resources[id].Properties.SqsManagedSseEnabled, id).toBe(true);
      const policy = resources('AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues[0].Ref === id);
      expect(policy?.[1].Properties.PolicyDocument.Statement, id).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
    // 14 days each: a slice is never dropped unseen, and a parked one waits for --resume.
    expect(q.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    expect(template.toJSON().Resources[deadLetters()].Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it('hides a slice being worked on for twice the worker’s timeout', () => {
    const timeout = functionNamed('publish-slice')[1].Properties.Timeout as number;
    expect(template.toJSON().Resources[slices()].Properties.VisibilityTimeout).toBe(timeout * 2);
  });
});

describe('the slice worker', () => {
  it('has one vCPU (1,769 MB) and ten minutes, twice the longest slice the job is planned for', () => {
    expect(functionNamed('publish-slice')[1].Properties).toMatchObject({
      MemorySize: 1769,
      Timeout: 600,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
    });
    expect(SLICE_MEMORY_MB).toBe(1769);
    expect(SLICE_TIMEOUT.toMinutes()).toBe(10);
    // The memory is for the vCPU: the heap is bounded, as the benchmark measures it.
    expect(envOf('publish-slice').NODE_OPTIONS).toBe(
      '--enable-source-maps --max-semi-space-size=16 --max-old-space-size=320',
    );
    expect(envOf('publish-site').NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it('takes one slice at a time, reports a failed one, and runs 20 at once by default', () => {
    const [worker] = functionNamed('publish-slice');
    const mappings = resources('AWS::Lambda::EventSourceMapping').filter(
      ([, m]) => m.Properties.FunctionName.Ref === worker,
    );
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.[1].Properties).toMatchObject({
      EventSourceArn: arn(slices()),
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 20 },
    });
    // Nothing else consumes the slice queue.
    const consumers = resources('AWS::Lambda::EventSourceMapping').filter(
      ([, m]) => JSON.stringify(m.Properties.EventSourceArn) === JSON.stringify(arn(slices())),
    );
    expect(consumers).toHaveLength(1);
  });

  it('runs no schedule: slices reach it only through the queue', () => {
    const [worker] = functionNamed('publish-slice');
    const scheduled = resources('AWS::Events::Rule').filter(([, r]) =>
      JSON.stringify(r.Properties.Targets).includes(`"${worker}"`),
    );
    expect(scheduled).toEqual([]);
  });
});

describe('publish-site and the slice worker', () => {
  it('are told the same table, site, feed size, slice queue, hub queue and external hubs', () => {
    const site = envOf('publish-site');
    const worker = envOf('publish-slice');
    expect(site[ENV.publishQueueUrl]).toEqual({ Ref: slices() });
    const shared = [
      ENV.tableName,
      ENV.siteBucket,
      ENV.siteUrl,
      ENV.feedSize,
      ENV.publishQueueUrl,
      ENV.hubQueueUrl,
      ENV.websubHubs,
    ];
    for (const name of shared) {
      expect(site[name], name).toBeDefined();
      expect(worker[name], name).toEqual(site[name]);
    }
    expect(worker[ENV.websubHubs]).toBe('https://pubsubhubbub.appspot.com/');
    // Neither gets mail or link settings.
    for (const env of [site, worker]) {
      expect(Object.keys(env)).not.toContain(ENV.tokenSecretArn);
      expect(Object.keys(env)).not.toContain(ENV.fromAddress);
    }
  });

  it('may send slices, and only the worker receives and deletes them', () => {
    const send = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
    expect(sqsActionsOn('publish-site', slices())).toEqual(send);
    expect(sqsActionsOn('publish-slice', slices())).toEqual(
      [
        ...send,
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:ReceiveMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
      ].sort(),
    );
    // Nobody else reaches the slice queue or its dead-letter queue (the CLI resumes with the
    // operator's own credentials).
    const others = resources('AWS::Lambda::Function')
      .filter(([, fn]) => String(fn.Properties.Description).startsWith('Tidings '))
      .map(([, fn]) => String(fn.Properties.Description).replace('Tidings ', ''))
      .filter((name) => name !== 'publish-site' && name !== 'publish-slice');
    for (const name of others) {
      expect(sqsActionsOn(name, slices()), name).toEqual([]);
      expect(sqsActionsOn(name, deadLetters()), name).toEqual([]);
    }
  });

  it('get, put and delete site objects and list the site bucket, nothing more in S3', () => {
    const bucket = idOf('AWS::S3::Bucket', 'SiteBucket');
    for (const name of ['publish-site', 'publish-slice']) {
      const s3 = statementsOf(name).filter((s) => JSON.stringify(s.Action).includes('s3:'));
      expect(s3, name).toEqual([
        expect.objectContaining({
          Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
          Resource: { 'Fn::Join': ['', [arn(bucket), '/*']] },
        }),
        expect.objectContaining({ Action: 's3:ListBucket', Resource: arn(bucket) }),
      ]);
    }
  });

  it('hand the feeds they change to the WebSub hub’s queue, and nothing else there', () => {
    const hub = idOf('AWS::SQS::Queue', 'WebSubWork');
    for (const name of ['publish-site', 'publish-slice']) {
      expect(sqsActionsOn(name, hub), name).toEqual([
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
      ]);
    }
  });

  it('send no email and read no secret', () => {
    for (const name of ['publish-site', 'publish-slice']) {
      const actions = statementsOf(name).flatMap((s) => [s.Action].flat() as string[]);
      expect(
        actions.filter((a) => /^(ses|secretsmanager|sns):/.test(a)),
        name,
      ).toEqual([]);
    }
  });
});

describe('alarms of a full publish', () => {
  const alarms = resources('AWS::CloudWatch::Alarm');

  it('fire on the first slice parked in the dead-letter queue', () => {
    const found = alarms.filter(
      ([, a]) =>
        a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        JSON.stringify(a.Properties.Dimensions) ===
          JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetters(), 'QueueName'] } }]),
    );
    expect(found).toHaveLength(1);
    expect(found[0]?.[0]).toMatch(/^MonitoringPublishDeadLettersDepth/);
    expect(found[0]?.[1].Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Statistic: 'Maximum',
      TreatMissingData: 'notBreaching',
    });
    expect(found[0]?.[1].Properties.AlarmDescription).toContain('tidings publish --resume');
  });

  it('fire on the first invocation of the slice worker that fails outright', () => {
    const [worker] = functionNamed('publish-slice');
    const found = alarms.filter(
      ([, a]) =>
        a.Properties.MetricName === 'Errors' &&
        JSON.stringify(a.Properties.Dimensions) ===
          JSON.stringify([{ Name: 'FunctionName', Value: { Ref: worker } }]),
    );
    expect(found).toHaveLength(1);
    expect(found[0]?.[0]).toMatch(/^MonitoringPublishSliceErrors/);
    expect(found[0]?.[1].Properties).toMatchObject({ Statistic: 'Sum', Threshold: 1, Period: 300 });
  });
});

describe('outputs of a full publish', () => {
  it('name the slice queue and its dead-letter queue, for `tidings publish --resume` and status', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.PublishQueueUrl?.Value).toEqual({ Ref: slices() });
    expect(outputs.PublishDeadLetterQueueUrl?.Value).toEqual({ Ref: deadLetters() });
  });
});

describe('cdk-nag over the full publish', () => {
  it('reports nothing for the queue, the worker or its role', () => {
    expect(nag.violations).toEqual([]);
  });
});
