import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { leaseKey, TABLE } from '../keys.js';
import { isConditionFailure } from './items.js';

/** A named lease on the table: one holder at a time, until it gives it back or its time runs out. */
export interface Lease {
  /**
   * Takes the lease for `holder` until `until` (milliseconds since the epoch) unless another holder
   * has it at `now`. True when taken; a holder taking it again extends it.
   */
  take(holder: string, now: number, until: number): Promise<boolean>;
  /** Gives the lease back if `holder` still has it. */
  release(holder: string): Promise<void>;
}

/** A lease item, `LEASE#<name>`: its holder and until when (and a TTL, so a lost one is cleared). */
export const makeLease = (db: DynamoDBDocumentClient, tableName: string, name: string): Lease => {
  const key = leaseKey(name);
  return {
    async take(holder, now, until) {
      try {
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...key,
              holder,
              heldUntil: until,
              // DynamoDB's TTL deletes within days of this; `heldUntil` is what counts.
              [TABLE.ttlAttribute]: Math.ceil(until / 1000) + 86_400,
            },
            ConditionExpression: 'attribute_not_exists(PK) OR heldUntil <= :now OR holder = :holder',
            ExpressionAttributeValues: { ':now': now, ':holder': holder },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
    async release(holder) {
      try {
        await db.send(
          new DeleteCommand({
            TableName: tableName,
            Key: key,
            ConditionExpression: 'holder = :holder',
            ExpressionAttributeValues: { ':holder': holder },
          }),
        );
      } catch (error) {
        // Someone else's by now (ours ran out), or gone: not ours to remove.
        if (!isConditionFailure(error)) throw error;
      }
    },
  };
};
