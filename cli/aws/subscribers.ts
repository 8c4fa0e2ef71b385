import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type BatchWriteCommandOutput, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { BATCH_WRITE_MAX, type Item } from '../../shared/adapters/items.js';
import { followedSlugsOf } from '../../shared/adapters/subscription-store.js';
import { linkKeysOf } from '../../shared/adapters/token-secret.js';
import { subscriberIdOf } from '../../shared/domain/tokens.js';
import { PARTITION_PREFIX, SUBSCRIBER_SK, subscriberKey, suppressionKey } from '../../shared/keys.js';
import type { ForgetReport, Progress, SubscriberExport } from '../backend.js';
import { CliError } from '../errors.js';
import type { AwsContext } from './context.js';
import { scanTable } from './scan.js';
import { readTokenSecret } from './token-keys.js';

const SUBSCRIBERS = {
  FilterExpression: 'begins_with(PK, :s) AND SK = :sk',
  ExpressionAttributeValues: { ':s': PARTITION_PREFIX.subscriber, ':sk': SUBSCRIBER_SK },
};

/** Subscribers by status: one Scan of the table (keys and status only). */
export const countSubscribers = async (
  ctx: AwsContext,
): Promise<{ total: number; byStatus: Record<string, number> }> => {
  const byStatus: Record<string, number> = {};
  let total = 0;
  await scanTable(
    ctx,
    {
      ...SUBSCRIBERS,
      ProjectionExpression: 'PK, #status',
      ExpressionAttributeNames: { '#status': 'status' },
    },
    (items) => {
      for (const item of items) {
        const status = typeof item.status === 'string' ? item.status : 'unknown';
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        total += 1;
      }
    },
  );
  return { total, byStatus };
};

/** Every subscriber, for the operator's own records: a Scan, with progress over the table's items. */
export const exportSubscribers = async (ctx: AwsContext, progress: Progress): Promise<SubscriberExport[]> => {
  const table = ctx.outputs.get('TableName');
  const { Table } = await ctx.clients.dynamo.send(new DescribeTableCommand({ TableName: table }));
  // DynamoDB updates ItemCount about every six hours: the bar is approximate, the export is not.
  const total = Table?.ItemCount ?? 0;
  const found: SubscriberExport[] = [];
  let scanned = 0;
  progress.start(total, 'items scanned');
  try {
    await scanTable(ctx, SUBSCRIBERS, (items, count) => {
      scanned += count;
      progress.update(Math.min(total, scanned));
      for (const item of items) {
        if (typeof item.email !== 'string') continue;
        found.push({
          email: item.email,
          status: typeof item.status === 'string' ? item.status : 'unknown',
          ...followedSlugsOf(item),
          cadence: typeof item.cadence === 'string' ? item.cadence : '',
          ...(typeof item.createdAt === 'string' ? { createdAt: item.createdAt } : {}),
          ...(typeof item.confirmedAt === 'string' ? { confirmedAt: item.confirmedAt } : {}),
        });
      }
    });
  } finally {
    progress.stop();
  }
  return found.sort((a, b) => a.email.localeCompare(b.email));
};

const EMAIL = /^[^\s@]+@[^\s@]+$/;

/**
 * Deletes what the table holds of one subscriber: their record, digest cursor and ledger. Kept,
 * keyed by the address's id (a keyed hash): a suppression (a complaint or bounce must stay
 * honoured), and the sign-up limits under `LIMIT#` (they expire on their own).
 */
export const forgetSubscriber = async (ctx: AwsContext, email: string): Promise<ForgetReport> => {
  if (!EMAIL.test(email.trim())) throw new CliError('EMAIL must be an email address', { usage: true });
  const keys = linkKeysOf((await readTokenSecret(ctx)).raw);
  const id = subscriberIdOf(keys, email);
  const table = ctx.outputs.get('TableName');
  const { PK } = subscriberKey(id);
  const suppression = suppressionKey(id).SK;
  const doomed: { PK: string; SK: string }[] = [];
  let suppressed = false;
  let startKey: Item | undefined;
  do {
    const out = await ctx.clients.db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': PK },
        ProjectionExpression: 'PK, SK',
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of out.Items ?? []) {
      if (item.SK === suppression) suppressed = true;
      else doomed.push({ PK: String(item.PK), SK: String(item.SK) });
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  for (let i = 0; i < doomed.length; i += BATCH_WRITE_MAX) {
    let requests: unknown[] | undefined = doomed
      .slice(i, i + BATCH_WRITE_MAX)
      .map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; requests && requests.length > 0; attempt++) {
      if (attempt > 0) await ctx.sleep(Math.min(1000, 50 * 2 ** attempt));
      const out: BatchWriteCommandOutput = await ctx.clients.db.send(
        new BatchWriteCommand({ RequestItems: { [table]: requests as never } }),
      );
      requests = out.UnprocessedItems?.[table];
    }
  }
  return {
    deleted: doomed.length,
    kept: [
      ...(suppressed ? [`suppression (${PK} / ${suppression})`] : []),
      'sign-up limits (LIMIT#…, keyed by a hash of the address; they expire on their own)',
    ],
  };
};
