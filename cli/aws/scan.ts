import { ScanCommand, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Item } from '../../shared/adapters/items.js';
import type { AwsContext } from './context.js';

/**
 * Reads the whole table once, page by page, handing each page's items over. Operator credentials
 * only: no function ever scans. Returns the read capacity it consumed (each 4 KB read is half a unit).
 */
export const scanTable = async (
  ctx: AwsContext,
  input: Omit<ScanCommandInput, 'TableName' | 'ExclusiveStartKey'>,
  onPage: (items: Item[], scanned: number) => void,
): Promise<{ readUnits: number }> => {
  let readUnits = 0;
  let startKey: Item | undefined;
  do {
    const out = await ctx.clients.db.send(
      new ScanCommand({
        ...input,
        TableName: ctx.outputs.get('TableName'),
        ReturnConsumedCapacity: 'TOTAL',
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    readUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
    onPage(out.Items ?? [], out.ScannedCount ?? 0);
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return { readUnits };
};
