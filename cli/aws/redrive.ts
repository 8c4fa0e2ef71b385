import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { toEventItem } from '../../shared/adapters/event-store.js';
import { isConditionFailure } from '../../shared/adapters/items.js';
import { makeParkedChangeStore, type ParkedChange } from '../../shared/adapters/parked-changes.js';
import { eventKey, parkedChangeKey } from '../../shared/keys.js';
import type { Progress, RedriveReport } from '../backend.js';
import type { AwsContext } from './context.js';
import { invokeAndWait, invokeLater } from './invoke.js';

/**
 * Parked changes replayed per invocation of process-changes: a record carries two event images,
 * each at most ~130 KB, and an invocation takes 6 MB.
 */
export const REDRIVE_BATCH = 10;

/**
 * The stream record a parked change came from, rebuilt: its key, images and sequence number, as
 * the table's stream (NEW_AND_OLD_IMAGES) delivered it. process-changes reads the event's current
 * item before projecting, so replaying an old record converges on the table as it is now.
 */
export const parkedRecordOf = (parked: ParkedChange): DynamoDBRecord => {
  const image = (event: ParkedChange['newImage']) =>
    event ? (marshall(toEventItem(event), { removeUndefinedValues: true }) as never) : undefined;
  const newImage = image(parked.newImage);
  const oldImage = image(parked.oldImage);
  return {
    eventID: `redrive-${parked.id}-${parked.revision}`,
    eventName: !oldImage ? 'INSERT' : newImage ? 'MODIFY' : 'REMOVE',
    eventSource: 'tidings:redrive',
    dynamodb: {
      Keys: marshall(eventKey(parked.id)) as never,
      ...(newImage ? { NewImage: newImage } : {}),
      ...(oldImage ? { OldImage: oldImage } : {}),
      SequenceNumber: parked.sequenceNumber,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
};

/**
 * Re-projects every parked change through process-changes itself, a batch per invocation. The
 * function clears the park of each change it projects; a success is also removed here (only if
 * still at the revision replayed), so a park the function could not clear is not replayed again.
 */
const redriveParked = async (ctx: AwsContext, progress: Progress) => {
  const table = ctx.outputs.get('TableName');
  const fn = ctx.outputs.get('ProcessChangesFunction');
  const parked = await makeParkedChangeStore(ctx.clients.db, table).listParked();
  let redriven = 0;
  let failed = 0;
  progress.start(parked.length, 'parked changes');
  for (let i = 0; i < parked.length; i += REDRIVE_BATCH) {
    const batch = parked.slice(i, i + REDRIVE_BATCH);
    let failures: Set<string>;
    try {
      const out = (await invokeAndWait(ctx, fn, {
        Records: batch.map(parkedRecordOf),
      })) as DynamoDBBatchResponse;
      failures = new Set(out.batchItemFailures.map((f) => f.itemIdentifier));
    } catch {
      // The function failed as a whole: every change of the batch stays parked for the next try.
      failures = new Set(batch.map((p) => p.sequenceNumber));
    }
    for (const change of batch) {
      if (failures.has(change.sequenceNumber)) {
        failed += 1;
        continue;
      }
      redriven += 1;
      try {
        await ctx.clients.db.send(
          new DeleteCommand({
            TableName: table,
            Key: parkedChangeKey(change.id),
            ConditionExpression: 'revision = :rev',
            ExpressionAttributeValues: { ':rev': change.revision },
          }),
        );
      } catch (error) {
        // Gone already (the function cleared it), or parked again at a newer revision: it stays.
        if (!isConditionFailure(error)) throw error;
      }
    }
    progress.update(Math.min(parked.length, i + batch.length));
  }
  progress.stop();
  return { redriven, failed };
};

const approximateCount = async (ctx: AwsContext, url: string) => {
  const out = await ctx.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'QueueArn'],
    }),
  );
  return {
    count: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    arn: out.Attributes?.QueueArn ?? '',
  };
};

/** Receives every visible message, hands each to `handle`, and deletes those it took. */
const drain = async (
  ctx: AwsContext,
  url: string,
  handle: (body: string) => Promise<void>,
): Promise<number> => {
  let done = 0;
  for (;;) {
    const out = await ctx.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return done;
    const taken: { Id: string; ReceiptHandle: string }[] = [];
    for (const [i, message] of messages.entries()) {
      if (!message.ReceiptHandle) continue;
      await handle(message.Body ?? '');
      taken.push({ Id: String(i), ReceiptHandle: message.ReceiptHandle });
    }
    if (taken.length > 0) {
      await ctx.clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: taken }));
    }
    done += taken.length;
  }
};

/**
 * The digest queue's dead letters go back to the digest queue with an SQS message move task (a
 * run already under way is reported, not doubled: the command can be run again at any time).
 */
/** Moves a queue's dead letters back to the queue they came from, with an SQS message move task. */
const moveBack = async (
  ctx: AwsContext,
  url: string,
  name: string,
  source: string,
): Promise<RedriveReport['queues'][number]> => {
  const { count, arn } = await approximateCount(ctx, url);
  const tasks = await ctx.clients.sqs.send(
    new ListMessageMoveTasksCommand({ SourceArn: arn, MaxResults: 1 }),
  );
  const running = tasks.Results?.find((t) => t.Status === 'RUNNING');
  if (running) {
    return { name, moved: 0, kept: count, note: `a move back to the ${source} is already under way` };
  }
  if (count === 0) return { name, moved: 0 };
  // No destination: SQS moves them back to the queue they came from.
  await ctx.clients.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: arn }));
  return { name, moved: count, note: `moving back to the ${source} (an SQS message move task)` };
};

const redriveDigests = (ctx: AwsContext, url: string) => moveBack(ctx, url, 'digest batches', 'digest queue');

/** Alert changes and looks: handling either twice changes nothing (each event's revision is queued once). */
const redriveAlerts = (ctx: AwsContext, url: string) =>
  moveBack(ctx, url, 'alert changes and looks', 'alert queue');

/**
 * The feedback function's dead letters are events Lambda could not deliver (a function's own
 * dead-letter queue, not a queue's redrive target, so no move task applies): each is invoked again.
 * Suppressing an address twice changes nothing.
 */
const redriveFeedback = async (ctx: AwsContext, url: string): Promise<RedriveReport['queues'][number]> => {
  const fn = ctx.outputs.get('FeedbackFunction');
  const moved = await drain(ctx, url, (body) => invokeLater(ctx, fn, JSON.parse(body)));
  return { name: 'bounce and complaint notifications', moved, note: 'invoked handle-email-feedback again' };
};

/**
 * The stream's dead letters are notices (shard and sequence range of a batch that failed every
 * retry), not the records: those are parked in the table. Once no parked change fails, the
 * notices are answered and removed; while one does, they stay.
 */
const settleStreamNotices = async (
  ctx: AwsContext,
  url: string,
  parkedFailed: number,
): Promise<RedriveReport['queues'][number]> => {
  const name = 'stream changes (failure notices)';
  if (parkedFailed > 0) {
    const { count } = await approximateCount(ctx, url);
    return { name, moved: 0, kept: count, note: 'kept while a parked change still fails' };
  }
  const removed = await drain(ctx, url, async () => undefined);
  return {
    name,
    moved: 0,
    ...(removed > 0
      ? {
          note: `${removed} ${removed === 1 ? 'notice' : 'notices'} removed: their changes were re-projected`,
        }
      : {}),
  };
};

export const redrive = async (ctx: AwsContext, progress: Progress): Promise<RedriveReport> => {
  const changes = await redriveParked(ctx, progress);
  const queues: RedriveReport['queues'] = [];
  const digestUrl = ctx.outputs.find('DigestDeadLetterQueueUrl');
  if (digestUrl) queues.push(await redriveDigests(ctx, digestUrl));
  const alertUrl = ctx.outputs.find('AlertDeadLetterQueueUrl');
  if (alertUrl) queues.push(await redriveAlerts(ctx, alertUrl));
  const feedbackUrl = ctx.outputs.find('FeedbackDeadLetterQueueUrl');
  if (feedbackUrl) queues.push(await redriveFeedback(ctx, feedbackUrl));
  const streamUrl = ctx.outputs.find('ChangeDeadLetterQueueUrl');
  if (streamUrl) queues.push(await settleStreamNotices(ctx, streamUrl, changes.failed));
  return { changes, queues };
};
