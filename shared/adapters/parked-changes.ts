import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { StoredEvent } from '../domain/event.js';
import { PARTITION_PREFIX, parkedChangeKey } from '../keys.js';
import type { EventChange } from '../services/listings.js';
import { fromEventItem, toEventItem } from './event-store.js';
import { type Item, isConditionFailure, num, optStr, str } from './items.js';

/** A change the stream handler gave up on, as parked: enough to replay it as a stream record. */
export interface ParkedChange {
  id: string;
  /** The revision the failed record carried (its new image's, or its old one's on a removal). */
  revision: number;
  /** The failed record's position in the stream; the replayed record carries it again. */
  sequenceNumber: string;
  /** When it last failed, and how many times it has. */
  parkedAt: string;
  failures: number;
  oldImage?: StoredEvent;
  newImage?: StoredEvent;
}

/** `PARKED#<event id>`: what the stream handler failed on, until a projection of it succeeds. */
export interface ParkedChangeStore {
  /** Parks (or parks again, counting) each change; a later revision replaces an earlier one. */
  park(changes: readonly EventChange[], at: string): Promise<void>;
  /** Removes the park of each event whose parked revision is at most the one just projected. */
  clear(changes: readonly EventChange[]): Promise<void>;
}

/** The operator's side (`tidings status` and `redrive`): a Scan, run by hand, never by a function. */
export interface ParkedChangeReader {
  listParked(): Promise<ParkedChange[]>;
}

export const revisionOf = (change: EventChange): number =>
  change.newImage?.revision ?? change.oldImage?.revision ?? 0;

const imageItem = (image: StoredEvent | undefined): Item | undefined =>
  image ? toEventItem(image) : undefined;

/** Sets what the failed record carried, counts the failure, and drops an image it did not carry. */
const updateOf = (hasOld: boolean, hasNew: boolean): string => {
  const set = ['#type = :type', 'id = :id', 'revision = :rev', 'sequenceNumber = :seq', 'parkedAt = :at'];
  const remove: string[] = [];
  (hasOld ? set : remove).push(hasOld ? 'oldImage = :old' : 'oldImage');
  (hasNew ? set : remove).push(hasNew ? 'newImage = :new' : 'newImage');
  return `SET ${set.join(', ')} ADD failures :one${remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : ''}`;
};

export const fromParkedItem = (item: Item): ParkedChange => {
  const image = (value: unknown) =>
    typeof value === 'object' && value !== null ? fromEventItem(value as Item) : undefined;
  const oldImage = image(item.oldImage);
  const newImage = image(item.newImage);
  return {
    id: str(item, 'id'),
    revision: num(item, 'revision'),
    sequenceNumber: str(item, 'sequenceNumber'),
    parkedAt: optStr(item, 'parkedAt') ?? '',
    failures: typeof item.failures === 'number' ? item.failures : 1,
    ...(oldImage ? { oldImage } : {}),
    ...(newImage ? { newImage } : {}),
  };
};

export const makeParkedChangeStore = (
  db: DynamoDBDocumentClient,
  tableName: string,
): ParkedChangeStore & ParkedChangeReader => ({
  async park(changes, at) {
    await Promise.all(
      changes.map(async (change) => {
        const revision = revisionOf(change);
        const images: Item = {};
        const oldImage = imageItem(change.oldImage);
        const newImage = imageItem(change.newImage);
        if (oldImage) images[':old'] = oldImage;
        if (newImage) images[':new'] = newImage;
        try {
          await db.send(
            new UpdateCommand({
              TableName: tableName,
              Key: parkedChangeKey(change.id),
              UpdateExpression: updateOf(oldImage !== undefined, newImage !== undefined),
              // An older revision failing late (a replay) must not hide a newer parked one.
              ConditionExpression: 'attribute_not_exists(PK) OR revision <= :rev',
              ExpressionAttributeNames: { '#type': 'type' },
              ExpressionAttributeValues: {
                ':type': 'parked',
                ':id': change.id,
                ':rev': revision,
                ':seq': change.sequenceNumber,
                ':at': at,
                ':one': 1,
                ...images,
              },
            }),
          );
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
      }),
    );
  },

  async clear(changes) {
    const latest = new Map<string, number>();
    for (const change of changes) {
      latest.set(change.id, Math.max(latest.get(change.id) ?? 0, revisionOf(change)));
    }
    await Promise.all(
      [...latest].map(async ([id, revision]) => {
        try {
          await db.send(
            new DeleteCommand({
              TableName: tableName,
              Key: parkedChangeKey(id),
              ConditionExpression: 'revision <= :rev',
              ExpressionAttributeValues: { ':rev': revision },
            }),
          );
        } catch (error) {
          // Nothing parked (the usual case), or a newer revision parked: it stays.
          if (!isConditionFailure(error)) throw error;
        }
      }),
    );
  },

  async listParked() {
    const parked: ParkedChange[] = [];
    let startKey: Item | undefined;
    do {
      const out = await db.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: 'begins_with(PK, :p)',
          ExpressionAttributeValues: { ':p': PARTITION_PREFIX.parked },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) parked.push(fromParkedItem(item));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return parked.sort((a, b) => a.parkedAt.localeCompare(b.parkedAt) || a.id.localeCompare(b.id));
  },
});
