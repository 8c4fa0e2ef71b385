import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { fromEventItem } from '../shared/adapters/event-store.js';
import { EVENT_SK, eventIdOfKey } from '../shared/keys.js';
import { logger } from '../shared/logger.js';
import { flushMetrics } from '../shared/metrics.js';
import { changeDeps } from '../shared/services/change-deps.js';
import { type ChangeDeps, processChanges } from '../shared/services/changes.js';
import { lazy } from '../shared/services/deps.js';
import type { EventChange } from '../shared/services/listings.js';

type Image = Record<string, AttributeValue>;

const imageOf = (image: unknown) =>
  image ? fromEventItem(unmarshall(image as Image) as Record<string, unknown>) : undefined;

/** An event item's change, or undefined for records of other items (derived listings, keys). */
export const toChange = (record: DynamoDBRecord): EventChange | undefined => {
  const keys = record.dynamodb?.Keys;
  const sequenceNumber = record.dynamodb?.SequenceNumber;
  if (!keys || !sequenceNumber) return undefined;
  const key = unmarshall(keys as Image);
  const id = eventIdOfKey(key);
  if (!id || key.SK !== EVENT_SK) return undefined;
  return {
    sequenceNumber,
    id,
    oldImage: imageOf(record.dynamodb?.OldImage),
    newImage: imageOf(record.dynamodb?.NewImage),
  };
};

/**
 * DynamoDB stream consumer: keeps the derived listings exact, marks what the publisher must
 * rebuild, fans every change out to the SNS topic, and reports partial batch failures by
 * sequence number, so one bad record is retried alone. Each failed change is also parked in the
 * table (`PARKED#<event id>`) until it or a later revision is projected: stream records expire
 * after 24 hours, and `tidings redrive` invokes this handler again with the parked records.
 */
export const makeHandler = (deps: ChangeDeps | (() => ChangeDeps) = changeDeps) => {
  const get = lazy(deps);
  const invocation = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>().handler(async (event) => {
    const changes: EventChange[] = [];
    const unreadable: string[] = [];
    for (const record of event.Records) {
      try {
        const change = toChange(record);
        if (change) changes.push(change);
      } catch (error) {
        logger.error('unreadable stream record', { error: error as Error, eventID: record.eventID });
        if (record.dynamodb?.SequenceNumber) unreadable.push(record.dynamodb.SequenceNumber);
      }
    }
    const failed = [...unreadable, ...(await processChanges(get(), changes))];
    if (failed.length > 0) logger.warn('changes failed', { failed });
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  });
  return invocation.use(flushMetrics());
};

export const handler = makeHandler();
