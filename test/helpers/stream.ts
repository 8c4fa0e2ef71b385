import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { toEventItem } from '../../shared/adapters/event-store.js';
import type { StoredEvent } from '../../shared/domain/event.js';
import { eventKey } from '../../shared/keys.js';

let seq = 1000;

/** A DynamoDB stream record (NEW_AND_OLD_IMAGES) for a write of an event item. */
export const makeStreamRecord = (
  next: StoredEvent | undefined,
  previous?: StoredEvent,
  sequence?: number,
): DynamoDBRecord => {
  const id = (next ?? previous)?.id ?? 'missing';
  const n = sequence ?? ++seq;
  return {
    eventID: `e-${n}`,
    eventName: !previous ? 'INSERT' : next ? 'MODIFY' : 'REMOVE',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      Keys: marshall(eventKey(id)) as never,
      ...(next ? { NewImage: marshall(toEventItem(next), { removeUndefinedValues: true }) as never } : {}),
      ...(previous
        ? { OldImage: marshall(toEventItem(previous), { removeUndefinedValues: true }) as never }
        : {}),
      SequenceNumber: String(n).padStart(21, '0'),
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
};
