import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetAccountCommand } from '@aws-sdk/client-sesv2';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeStack, fakeStack } from './fake-stack.js';

// A stack deployed before the outputs `tidings` added: status answers with what it can read.

let stack: FakeStack;
beforeAll(async () => {
  stack = await fakeStack(() => ({
    ProcessChangesFunction: undefined,
    ChangeDeadLetterQueueUrl: undefined,
    DigestDeadLetterQueueUrl: undefined,
    AlertDeadLetterQueueUrl: undefined,
    FeedbackDeadLetterQueueUrl: undefined,
    WebSubDeadLetterQueueUrl: undefined,
    FromAddress: undefined,
  }));
  stack.fakes.cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
});
afterAll(() => stack.close());

describe('status of a stack older than the CLI', () => {
  it('leaves out the stream lag, the queues and SES, and asks nothing it cannot name', async () => {
    const report = await stack.backend.status();
    expect(report).toMatchObject({
      counts: { events: 0, tags: 0, subscribers: 0 },
      changeLag: {},
      deadLetters: [],
      parkedChanges: 0,
      alarms: [],
    });
    expect(report.email).toBeUndefined();
    expect(report.lastPublish).toBeUndefined();
    expect(stack.fakes.cloudWatch.commandCalls(GetMetricDataCommand)).toHaveLength(0);
    expect(stack.fakes.sqs.commandCalls(GetQueueAttributesCommand)).toHaveLength(0);
    expect(stack.fakes.ses.commandCalls(GetAccountCommand)).toHaveLength(0);
  });
});
