import { InvokeCommand, type InvokeCommandInput } from '@aws-sdk/client-lambda';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parkedRecordOf } from '../../../cli/aws/redrive.js';
import { makeParkedChangeStore } from '../../../shared/adapters/parked-changes.js';
import { createdEvent, parseEventDraft } from '../../../shared/domain/event.js';
import { makeEventInput } from '../../helpers/builders.js';
import { type FakeStack, fakeStack, outputsOf, recordingProgress } from './fake-stack.js';

// redrive replays parked stream changes through process-changes (faked here: the real handler's
// side is test/functions/process-changes-park.test.ts) and empties the dead-letter queues.

let stack: FakeStack;
const outputs = outputsOf('');
const ARN = {
  digestDlq: 'arn:aws:sqs:eu-west-1:123456789012:TidingsProd-DigestsDeadLetters',
  feedbackDlq: 'arn:aws:sqs:eu-west-1:123456789012:TidingsProd-MailFeedbackDeadLetters',
  changeDlq: 'arn:aws:sqs:eu-west-1:123456789012:TidingsProd-ChangesDeadLetters',
  alertDlq: 'arn:aws:sqs:eu-west-1:123456789012:TidingsProd-AlertsDeadLetters',
};
const event = (headline: string) => {
  const parsed = parseEventDraft(makeEventInput({ headline, tags: ['Redrive'] }));
  if (!parsed.ok) throw new Error('bad draft');
  return createdEvent(parsed.draft, '2026-12-05T10:00:00.000Z');
};
const good = event('Replays fine');
const bad = event('Fails again');
const decode = (input: InvokeCommandInput) =>
  JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array));
/** What process-changes was asked to replay. */
const replayed: DynamoDBStreamEvent[] = [];
const feedback: unknown[] = [];
let stillFailing = true;

const parkedIds = async () =>
  (await makeParkedChangeStore(stack.table.db, stack.table.tableName).listParked()).map((p) => p.id).sort();

beforeAll(async () => {
  stack = await fakeStack();
  const parked = makeParkedChangeStore(stack.table.db, stack.table.tableName);
  await parked.park(
    [
      { sequenceNumber: '000000000000000000101', id: good.id, newImage: good },
      { sequenceNumber: '000000000000000000102', id: bad.id, newImage: bad },
    ],
    '2026-12-05T10:00:05.000Z',
  );
  const f = stack.fakes;
  f.lambda
    .on(InvokeCommand, { FunctionName: outputs.ProcessChangesFunction })
    .callsFake((input: InvokeCommandInput) => {
      const batch = decode(input) as DynamoDBStreamEvent;
      replayed.push(batch);
      const failures = batch.Records.filter(
        (r) => stillFailing && r.dynamodb?.Keys?.PK?.S === `EVENT#${bad.id}`,
      );
      return {
        StatusCode: 200,
        Payload: new TextEncoder().encode(
          JSON.stringify({
            batchItemFailures: failures.map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber })),
          }),
        ),
      };
    });
  f.lambda
    .on(InvokeCommand, { FunctionName: outputs.FeedbackFunction })
    .callsFake((input: InvokeCommandInput) => {
      feedback.push(decode(input));
      return { StatusCode: 202 };
    });
  const attributes = (arn: string, count: number) => ({
    Attributes: { ApproximateNumberOfMessages: String(count), QueueArn: arn },
  });
  f.sqs
    .on(GetQueueAttributesCommand, { QueueUrl: outputs.DigestDeadLetterQueueUrl })
    .resolves(attributes(ARN.digestDlq, 3));
  f.sqs
    .on(GetQueueAttributesCommand, { QueueUrl: outputs.ChangeDeadLetterQueueUrl })
    .resolves(attributes(ARN.changeDlq, 1));
  f.sqs
    .on(GetQueueAttributesCommand, { QueueUrl: outputs.AlertDeadLetterQueueUrl })
    .resolves(attributes(ARN.alertDlq, 0));
  f.sqs
    .on(ListMessageMoveTasksCommand)
    .resolvesOnce({ Results: [] })
    .resolves({
      Results: [{ Status: 'RUNNING', SourceArn: ARN.digestDlq, ApproximateNumberOfMessagesToMove: 3 }],
    });
  f.sqs.on(ListMessageMoveTasksCommand, { SourceArn: ARN.alertDlq }).resolves({ Results: [] });
  f.sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'task-1' });
  const sns = (n: number) =>
    JSON.stringify({ Records: [{ EventSource: 'aws:sns', Sns: { Message: `bounce ${n}` } }] });
  f.sqs
    .on(ReceiveMessageCommand, { QueueUrl: outputs.FeedbackDeadLetterQueueUrl })
    .resolvesOnce({
      Messages: [
        { MessageId: 'm1', ReceiptHandle: 'r1', Body: sns(1) },
        { MessageId: 'm2', ReceiptHandle: 'r2', Body: sns(2) },
      ],
    })
    .resolves({});
  f.sqs
    .on(ReceiveMessageCommand, { QueueUrl: outputs.ChangeDeadLetterQueueUrl })
    .resolvesOnce({
      Messages: [
        {
          MessageId: 'n1',
          ReceiptHandle: 'rn1',
          Body: JSON.stringify({ DDBStreamBatchInfo: { shardId: 'shardId-1', startSequenceNumber: '102' } }),
        },
      ],
    })
    .resolves({});
  f.sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});
afterAll(() => stack.close());

describe('redrive against a deployed stack', () => {
  it('replays each parked change as its stream record, removes the ones that succeed, and empties the queues', async () => {
    const { progress, seen } = recordingProgress();
    const report = await stack.backend.redrive(progress);
    expect(report).toEqual({
      changes: { redriven: 1, failed: 1 },
      queues: [
        {
          name: 'digest batches',
          moved: 3,
          note: 'moving back to the digest queue (an SQS message move task)',
        },
        { name: 'alert changes and looks', moved: 0 },
        { name: 'bounce and complaint notifications', moved: 2, note: 'invoked handle-email-feedback again' },
        {
          name: 'stream changes (failure notices)',
          moved: 0,
          kept: 1,
          note: 'kept while a parked change still fails',
        },
      ],
    });
    expect(seen).toMatchObject({ started: [2, 'parked changes'], updates: [2], stopped: true });

    // One invocation with both records, exactly as the park rebuilds them; the one that failed stays.
    const stillParked = await makeParkedChangeStore(stack.table.db, stack.table.tableName).listParked();
    expect(replayed).toHaveLength(1);
    expect(replayed[0]?.Records.map((r) => r.dynamodb?.SequenceNumber).sort()).toEqual([
      '000000000000000000101',
      '000000000000000000102',
    ]);
    expect(replayed[0]?.Records.find((r) => r.dynamodb?.SequenceNumber === '000000000000000000102')).toEqual(
      parkedRecordOf(stillParked[0] as never),
    );
    expect(await parkedIds()).toEqual([bad.id]);

    // The digest dead letters move back to the queue they came from (no destination given).
    expect(stack.fakes.sqs.commandCalls(StartMessageMoveTaskCommand).map((c) => c.args[0].input)).toEqual([
      { SourceArn: ARN.digestDlq },
    ]);
    // The feedback function's dead letters are invoked again, then deleted.
    expect(feedback).toEqual([
      JSON.parse(`{"Records":[{"EventSource":"aws:sns","Sns":{"Message":"bounce 1"}}]}`),
      expect.anything(),
    ]);
    expect(
      stack.fakes.sqs
        .commandCalls(DeleteMessageBatchCommand)
        .map((c) => [c.args[0].input.QueueUrl, c.args[0].input.Entries?.map((e) => e.ReceiptHandle)]),
    ).toEqual([[outputs.FeedbackDeadLetterQueueUrl, ['r1', 'r2']]]);
  });

  it('run again once the change projects: nothing doubled, the stream notices answered', async () => {
    stillFailing = false;
    const report = await stack.backend.redrive(recordingProgress().progress);
    expect(report).toEqual({
      changes: { redriven: 1, failed: 0 },
      queues: [
        {
          name: 'digest batches',
          moved: 0,
          kept: 3,
          note: 'a move back to the digest queue is already under way',
        },
        { name: 'alert changes and looks', moved: 0 },
        { name: 'bounce and complaint notifications', moved: 0, note: 'invoked handle-email-feedback again' },
        {
          name: 'stream changes (failure notices)',
          moved: 0,
          note: '1 notice removed: their changes were re-projected',
        },
      ],
    });
    expect(await parkedIds()).toEqual([]);
    expect(stack.fakes.sqs.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(1);
    expect(feedback).toHaveLength(2);

    // And a third time: nothing to do.
    expect((await stack.backend.redrive(recordingProgress().progress)).changes).toEqual({
      redriven: 0,
      failed: 0,
    });
  });
});
