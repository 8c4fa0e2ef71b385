import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AlarmState, ConfirmationSwitch } from '../domain/reputation-alarm.js';
import { CONFIRMATIONS_CONTROL, controlKey } from '../keys.js';
import { type Item, isConditionFailure } from './items.js';

/** The switch as read, with the version a write must find unchanged. */
export interface StoredSwitch {
  value: ConfirmationSwitch | undefined;
  version: number;
}

/** `CONTROL#confirmations`: whether confirmation sending is paused, and why. */
export interface ControlStore {
  readConfirmationSwitch(): Promise<StoredSwitch>;
  /** Writes the switch if nobody wrote it since `read`; false when someone did. */
  writeConfirmationSwitch(next: ConfirmationSwitch, read: StoredSwitch): Promise<boolean>;
}

const fromItem = (item: Item): ConfirmationSwitch => {
  const alarms: ConfirmationSwitch['alarms'] = {};
  const stored = item.alarms;
  if (typeof stored === 'object' && stored !== null) {
    for (const [name, value] of Object.entries(stored as Record<string, Record<string, unknown>>)) {
      if (typeof value?.state === 'string' && typeof value.at === 'string') {
        alarms[name] = { state: value.state as AlarmState, at: value.at };
      }
    }
  }
  return {
    paused: item.paused === true,
    reason: typeof item.reason === 'string' ? item.reason : '',
    at: typeof item.at === 'string' ? item.at : '',
    alarms,
  };
};

export const makeControlStore = (db: DynamoDBDocumentClient, tableName: string): ControlStore => {
  const key = controlKey(CONFIRMATIONS_CONTROL);
  return {
    async readConfirmationSwitch() {
      const { Item } = await db.send(
        new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
      );
      return Item
        ? { value: fromItem(Item), version: typeof Item.version === 'number' ? Item.version : 0 }
        : { value: undefined, version: 0 };
    },
    async writeConfirmationSwitch(next, read) {
      try {
        await db.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...key,
              type: 'control',
              paused: next.paused,
              reason: next.reason,
              at: next.at,
              alarms: next.alarms,
              version: read.version + 1,
            },
            // Two alarms changing at once: the second writer re-reads rather than overwrite the first.
            ConditionExpression:
              read.version === 0
                ? 'attribute_not_exists(PK) OR attribute_not_exists(version)'
                : 'version = :v',
            ...(read.version === 0 ? {} : { ExpressionAttributeValues: { ':v': read.version } }),
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },
  };
};
