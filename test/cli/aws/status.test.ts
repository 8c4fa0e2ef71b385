import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetAccountCommand, GetEmailIdentityCommand, NotFoundException } from '@aws-sdk/client-sesv2';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLastPublishStore } from '../../../shared/adapters/last-publish.js';
import { makePublishJobs } from '../../../shared/adapters/publish-jobs.js';
import { eventKey, parkedChangeKey, subscriberKey, suppressionKey, tagKey } from '../../../shared/keys.js';
import { type FakeStack, fakeStack, outputsOf, REGION, STACK, T0 } from './fake-stack.js';

let stack: FakeStack;
const outputs = outputsOf('');

beforeAll(async () => {
  stack = await fakeStack();
  const put = (Item: Record<string, unknown>) =>
    stack.table.db.send(new PutCommand({ TableName: stack.table.tableName, Item }));
  for (const id of ['2026/12/01/a', '2026/12/02/b', '2026/12/03/c'])
    await put({ ...eventKey(id), id, revision: 1 });
  await put({ ...eventKey('2026/12/04/gone'), id: '2026/12/04/gone', revision: 2, deleted: true });
  for (const slug of ['alpha', 'beta']) await put({ ...tagKey(slug), slug, name: slug, count: 1 });
  for (const [id, status] of [
    ['s1', 'confirmed'],
    ['s2', 'pending'],
  ]) {
    await put({ ...subscriberKey(id as string), id, status, email: `${id}@example.org` });
  }
  await put({ ...suppressionKey('s2'), reason: 'bounce', at: '2026-12-01T00:00:00.000Z' });
  await put({ ...parkedChangeKey('2026/12/02/b'), id: '2026/12/02/b', revision: 1, sequenceNumber: '100' });
  await makeLastPublishStore(stack.table.db, stack.table.tableName).recordPublish({
    at: '2026-12-06T03:55:00.000Z',
    full: false,
    seconds: 2.5,
    written: 4,
    unchanged: 10,
    removed: 0,
    marksCleared: 6,
    marksKept: 0,
    marksDeferred: 0,
    failed: 0,
  });

  const f = stack.fakes;
  f.cloudWatch.on(GetMetricDataCommand).resolves({
    MetricDataResults: [
      { Id: 'age', Label: 'IteratorAge', Values: [1_200, 45_000, 800], StatusCode: 'Complete' },
    ],
  });
  f.cloudWatch.on(DescribeAlarmsCommand).resolves({
    MetricAlarms: [
      {
        AlarmName: `${STACK}-MonitoringDigestDeadLetters-XyZ`,
        StateValue: 'ALARM',
        StateReason: 'Threshold Crossed: 1 datapoint [3.0] was greater than or equal to the threshold (1.0).',
        StateUpdatedTimestamp: new Date('2026-12-06T03:10:00.000Z'),
      },
    ],
  });
  const depth = (visible: number, inFlight: number) => ({
    Attributes: {
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(inFlight),
    },
  });
  f.sqs.on(GetQueueAttributesCommand, { QueueUrl: outputs.ChangeDeadLetterQueueUrl }).resolves(depth(1, 0));
  f.sqs.on(GetQueueAttributesCommand, { QueueUrl: outputs.DigestDeadLetterQueueUrl }).resolves(depth(3, 1));
  f.sqs.on(GetQueueAttributesCommand, { QueueUrl: outputs.AlertDeadLetterQueueUrl }).resolves(depth(2, 0));
  f.sqs.on(GetQueueAttributesCommand, { QueueUrl: outputs.FeedbackDeadLetterQueueUrl }).resolves(depth(0, 0));
  f.sqs.on(GetQueueAttributesCommand, { QueueUrl: outputs.WebSubDeadLetterQueueUrl }).resolves(depth(2, 0));
  f.ses.on(GetAccountCommand).resolves({
    ProductionAccessEnabled: false,
    SendingEnabled: true,
    SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 17 },
  });
  f.ses.on(GetEmailIdentityCommand, { EmailIdentity: 'example.org' }).resolves({
    IdentityType: 'DOMAIN',
    VerifiedForSendingStatus: true,
  });
});
afterAll(() => stack.close());

describe('status of a deployed stack', () => {
  it('reports counts, lag, dead letters, parked changes, the last publish, SES and alarms', async () => {
    const report = await stack.backend.status();
    expect(report).toMatchObject({
      target: { kind: 'aws', stack: STACK, region: REGION },
      counts: { events: 3, tags: 2, subscribers: 2 },
      changeLag: { iteratorAgeSeconds: 45 },
      parkedChanges: 1,
      lastPublish: {
        at: '2026-12-06T03:55:00.000Z',
        full: false,
        written: 4,
        unchanged: 10,
        failed: 0,
        seconds: 2.5,
      },
      email: {
        sandbox: true,
        sendingEnabled: true,
        max24HourSend: 200,
        sentLast24Hours: 17,
        maxSendRate: 1,
        identity: 'example.org',
        identityVerified: true,
      },
      alarms: [
        {
          name: `${STACK}-MonitoringDigestDeadLetters-XyZ`,
          reason: expect.stringContaining('Threshold Crossed'),
          since: '2026-12-06T03:10:00.000Z',
        },
      ],
    });
    expect(report.deadLetters).toEqual([
      {
        name: 'stream changes (failure notices)',
        url: outputs.ChangeDeadLetterQueueUrl,
        visible: 1,
        inFlight: 0,
      },
      { name: 'digest batches', url: outputs.DigestDeadLetterQueueUrl, visible: 3, inFlight: 1 },
      { name: 'alert changes and looks', url: outputs.AlertDeadLetterQueueUrl, visible: 2, inFlight: 0 },
      {
        name: 'bounce and complaint notifications',
        url: outputs.FeedbackDeadLetterQueueUrl,
        visible: 0,
        inFlight: 0,
      },
      { name: 'WebSub hub messages', url: outputs.WebSubDeadLetterQueueUrl, visible: 2, inFlight: 0 },
    ]);
    expect(report.cost?.note).toMatch(/one Scan of the table/);
  });

  it('shows the full publish job under way: its phase and slices done', async () => {
    const jobs = makePublishJobs(stack.table.db, stack.table.tableName);
    const at = new Date(T0).toISOString();
    expect(await jobs.start('20261206T040000Z-abc', [2, 1], 1, at)).toBe(true);
    await jobs.sliceDone('20261206T040000Z-abc', 0, 0, { written: 9, unchanged: 0, removed: 0 }, at);
    const report = await stack.backend.status();
    expect(report.fullPublish).toEqual({
      job: '20261206T040000Z-abc',
      status: 'running',
      phase: 1,
      phases: 2,
      slicesDone: 1,
      slices: 3,
      startedAt: at,
      updatedAt: at,
      written: 9,
      unchanged: 0,
      removed: 0,
    });
    await jobs.cancel(at);
    expect((await stack.backend.status()).fullPublish).toMatchObject({ status: 'cancelled', endedAt: at });
  });

  it('asks CloudWatch for the stream function’s IteratorAge over the last 15 minutes, and the stack’s alarms in ALARM', async () => {
    await stack.backend.status();
    const [metric] = stack.fakes.cloudWatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input);
    expect(metric?.EndTime).toEqual(new Date(T0));
    expect(metric?.StartTime).toEqual(new Date(T0 - 15 * 60_000));
    expect(metric?.MetricDataQueries?.[0]?.MetricStat).toMatchObject({
      Metric: {
        Namespace: 'AWS/Lambda',
        MetricName: 'IteratorAge',
        Dimensions: [{ Name: 'FunctionName', Value: outputs.ProcessChangesFunction }],
      },
      Stat: 'Maximum',
    });
    const [alarms] = stack.fakes.cloudWatch.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input);
    expect(alarms).toEqual({ StateValue: 'ALARM', AlarmNamePrefix: `${STACK}-` });
  });

  it('says the sending identity is unverified when SES does not know it', async () => {
    stack.fakes.ses
      .on(GetEmailIdentityCommand)
      .rejects(
        new NotFoundException({ message: 'Email identity example.org does not exist.', $metadata: {} }),
      );
    expect((await stack.backend.status()).email?.identityVerified).toBe(false);
  });
});
