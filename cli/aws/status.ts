import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetAccountCommand, GetEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { makeLastPublishStore } from '../../shared/adapters/last-publish.js';
import { makePublishJobs } from '../../shared/adapters/publish-jobs.js';
import { EVENT_SK, PARTITION_PREFIX, SUBSCRIBER_SK, TAGS_PARTITION } from '../../shared/keys.js';
import { fullPublishView, lastPublishSummary, type QueueDepth, type StatusReport } from '../backend.js';
import type { AwsContext } from './context.js';
import type { OutputName } from './outputs.js';
import { scanTable } from './scan.js';

/** The dead-letter queues, by the output naming each, and what each holds. */
export const DEAD_LETTER_QUEUES: readonly { output: OutputName; name: string }[] = [
  { output: 'ChangeDeadLetterQueueUrl', name: 'stream changes (failure notices)' },
  { output: 'DigestDeadLetterQueueUrl', name: 'digest batches' },
  { output: 'AlertDeadLetterQueueUrl', name: 'alert changes and looks' },
  { output: 'FeedbackDeadLetterQueueUrl', name: 'bounce and complaint notifications' },
  // A stack deployed before the WebSub hub has no such output: skipped.
  { output: 'WebSubDeadLetterQueueUrl', name: 'WebSub hub messages' },
  // A stack deployed before the full publish job has no such output: skipped.
  { output: 'PublishDeadLetterQueueUrl', name: 'full publish slices (tidings publish --resume)' },
];

const ITERATOR_AGE_WINDOW_MS = 15 * 60 * 1000;

/**
 * Counts in one Scan (projected to the keys; filtered to live events, subscribers and parked
 * changes) plus a Query of the tag summaries. A Scan reads every item: about half a read unit per
 * 4 KB of table, reported as `cost`.
 */
const counts = async (ctx: AwsContext) => {
  const found = { events: 0, subscribers: 0, parked: 0 };
  const { readUnits } = await scanTable(
    ctx,
    {
      ProjectionExpression: 'PK, SK',
      FilterExpression:
        '(begins_with(PK, :e) AND SK = :esk AND attribute_not_exists(deleted)) OR (begins_with(PK, :s) AND SK = :ssk) OR begins_with(PK, :p)',
      ExpressionAttributeValues: {
        ':e': PARTITION_PREFIX.event,
        ':esk': EVENT_SK,
        ':s': PARTITION_PREFIX.subscriber,
        ':ssk': SUBSCRIBER_SK,
        ':p': PARTITION_PREFIX.parked,
      },
    },
    (items) => {
      for (const { PK } of items) {
        const pk = String(PK);
        if (pk.startsWith(PARTITION_PREFIX.event)) found.events += 1;
        else if (pk.startsWith(PARTITION_PREFIX.subscriber)) found.subscribers += 1;
        else found.parked += 1;
      }
    },
  );
  let tags = 0;
  let tagUnits = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await ctx.clients.db.send(
      new QueryCommand({
        TableName: ctx.outputs.get('TableName'),
        KeyConditionExpression: 'PK = :t',
        ExpressionAttributeValues: { ':t': TAGS_PARTITION },
        Select: 'COUNT',
        ReturnConsumedCapacity: 'TOTAL',
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    tags += out.Count ?? 0;
    tagUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return { ...found, tags, readUnits: readUnits + tagUnits };
};

/** The stream's lag: process-changes' IteratorAge, its maximum over the last 15 minutes. */
const iteratorAgeSeconds = async (ctx: AwsContext): Promise<number | undefined> => {
  const fn = ctx.outputs.find('ProcessChangesFunction');
  if (!fn) return undefined;
  const end = new Date(ctx.now());
  const out = await ctx.clients.cloudWatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(end.getTime() - ITERATOR_AGE_WINDOW_MS),
      EndTime: end,
      MetricDataQueries: [
        {
          Id: 'age',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Lambda',
              MetricName: 'IteratorAge',
              Dimensions: [{ Name: 'FunctionName', Value: fn }],
            },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    }),
  );
  const values = out.MetricDataResults?.[0]?.Values ?? [];
  // No data points: no records reached the function in the window, so nothing waits.
  return values.length > 0 ? Math.max(...values) / 1000 : 0;
};

export const queueDepth = async (ctx: AwsContext, url: string, name: string): Promise<QueueDepth> => {
  const out = await ctx.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    name,
    url,
    visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
};

const deadLetters = async (ctx: AwsContext): Promise<QueueDepth[]> =>
  Promise.all(
    DEAD_LETTER_QUEUES.flatMap(({ output, name }) => {
      const url = ctx.outputs.find(output);
      return url ? [queueDepth(ctx, url, name)] : [];
    }),
  );

const email = async (ctx: AwsContext): Promise<StatusReport['email']> => {
  // A stack deployed before the output: the rest of the status still answers.
  const from = ctx.outputs.find('FromAddress');
  if (!from) return undefined;
  const identity = from.slice(from.lastIndexOf('@') + 1);
  const [account, verified] = await Promise.all([
    ctx.clients.ses.send(new GetAccountCommand({})),
    ctx.clients.ses
      .send(new GetEmailIdentityCommand({ EmailIdentity: identity }))
      .then((out) => out.VerifiedForSendingStatus === true)
      .catch((error: unknown) => {
        if (error instanceof Error && error.name === 'NotFoundException') return false;
        throw error;
      }),
  ]);
  return {
    sandbox: account.ProductionAccessEnabled !== true,
    sendingEnabled: account.SendingEnabled === true,
    max24HourSend: account.SendQuota?.Max24HourSend ?? 0,
    sentLast24Hours: account.SendQuota?.SentLast24Hours ?? 0,
    maxSendRate: account.SendQuota?.MaxSendRate ?? 0,
    identity,
    identityVerified: verified,
  };
};

/** The stack's alarms in ALARM: CloudFormation names them `<stack>-…`. */
const alarms = async (ctx: AwsContext): Promise<NonNullable<StatusReport['alarms']>> => {
  const found: NonNullable<StatusReport['alarms']> = [];
  let token: string | undefined;
  do {
    const out = await ctx.clients.cloudWatch.send(
      new DescribeAlarmsCommand({
        StateValue: 'ALARM',
        AlarmNamePrefix: `${ctx.outputs.stack}-`,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    for (const alarm of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
      found.push({
        name: alarm.AlarmName ?? '',
        reason: alarm.StateReason ?? '',
        since: alarm.StateUpdatedTimestamp?.toISOString() ?? '',
      });
    }
    token = out.NextToken;
  } while (token);
  return found;
};

export const status = async (ctx: AwsContext): Promise<StatusReport> => {
  const lastPublishStore = makeLastPublishStore(ctx.clients.db, ctx.outputs.get('TableName'));
  const [count, age, queues, last, job, mail, alarming] = await Promise.all([
    counts(ctx),
    iteratorAgeSeconds(ctx),
    deadLetters(ctx),
    lastPublishStore.readLastPublish(),
    makePublishJobs(ctx.clients.db, ctx.outputs.get('TableName')).get(),
    email(ctx),
    alarms(ctx),
  ]);
  return {
    target: { kind: 'aws', stack: ctx.outputs.stack, region: ctx.outputs.region },
    counts: { events: count.events, tags: count.tags, subscribers: count.subscribers },
    changeLag: age === undefined ? {} : { iteratorAgeSeconds: age },
    deadLetters: queues,
    parkedChanges: count.parked,
    ...(last ? { lastPublish: lastPublishSummary(last) } : {}),
    ...(job ? { fullPublish: fullPublishView(job) } : {}),
    cost: {
      readUnits: count.readUnits,
      note: 'events, subscribers and parked changes are counted with one Scan of the table (about half a read unit per 4 KB of items; on-demand, $0.125 per million units in us-east-1)',
    },
    ...(mail ? { email: mail } : {}),
    alarms: alarming,
  };
};
