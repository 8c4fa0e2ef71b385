import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DIGEST_CADENCES, type DigestCadence } from '../shared/domain/subscription.js';
import { logger } from '../shared/logger.js';
import { flushMetrics, METRIC } from '../shared/metrics.js';
import { lazy } from '../shared/services/deps.js';
import { digestDeps } from '../shared/services/digest-deps.js';
import {
  type DigestDeps,
  type DigestMessage,
  handleDigestMessage,
  needsRetry,
} from '../shared/services/digests.js';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * What may arrive on the digest queue; anything else is a poison message for the dead-letter
 * queue. Checked by hand: the shape is small, and a schema library would add more to this
 * function's bundle than the rest of its own code.
 */
export const parseDigestMessage = (body: string): DigestMessage => {
  const message = JSON.parse(body) as Record<string, unknown>;
  const fail = (rule: string): never => {
    throw new Error(`not a digest message: ${rule}`);
  };
  if (typeof message !== 'object' || message === null) fail('must be an object');
  const { kind, cadence, end } = message;
  if (!DIGEST_CADENCES.includes(cadence as DigestCadence))
    fail(`cadence must be one of ${DIGEST_CADENCES.join(', ')}`);
  if (typeof end !== 'string' || !ISO_TIME.test(end)) fail('end must be an ISO timestamp');
  const { at } = message;
  if (at !== undefined && (typeof at !== 'string' || !ISO_TIME.test(at))) fail('at must be an ISO timestamp');
  const atField = at === undefined ? {} : { at: at as string };
  if (kind === 'plan') {
    const { shard, startKey, buckets } = message;
    if (!Number.isInteger(shard) || (shard as number) < 0) fail('shard must be a whole number');
    if (startKey !== undefined && typeof startKey !== 'string') fail('startKey must be a string');
    if (
      buckets !== undefined &&
      (!Array.isArray(buckets) ||
        buckets.length > 10_000 ||
        !buckets.every((b) => typeof b === 'string' && (b === '' || b.startsWith('!'))))
    ) {
      fail('buckets must be a list of digest buckets');
    }
    return {
      kind,
      cadence: cadence as DigestCadence,
      end: end as string,
      shard: shard as number,
      ...(startKey ? { startKey: startKey as string } : {}),
      ...atField,
      ...(buckets ? { buckets: buckets as string[] } : {}),
    };
  }
  if (kind === 'send') {
    const { subscribers } = message;
    if (
      !Array.isArray(subscribers) ||
      subscribers.length === 0 ||
      subscribers.length > 1000 ||
      !subscribers.every((id) => typeof id === 'string' && id.length > 0)
    ) {
      fail('subscribers must be 1 to 1000 ids');
    }
    return {
      kind,
      cadence: cadence as DigestCadence,
      end: end as string,
      ...atField,
      subscribers: subscribers as string[],
    };
  }
  return fail('kind must be plan or send');
};

/**
 * The digest worker, on the digest queue: plans a shard (fanning out batches of subscribers) or
 * sends a batch's digests. A message with any failure (a send, or a write recording one) is reported
 * back for redelivery; the ledger makes the redelivery skip what already went out.
 */
export const makeHandler = (
  deps: Omit<DigestDeps, 'remainingMs'> | (() => Omit<DigestDeps, 'remainingMs'>) = digestDeps,
) => {
  const get = lazy(deps);
  const invocation = middy<SQSEvent, SQSBatchResponse, Error, Context>().handler(async (event, context) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    const remainingMs = () => context.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY;
    for (const record of event.Records) {
      try {
        const message = parseDigestMessage(record.body);
        const report = await handleDigestMessage({ ...get(), remainingMs }, message);
        logger.info('digest message handled', { kind: message.kind, ...report });
        const { metrics } = get();
        metrics?.count(METRIC.digestsSent, report.sent);
        metrics?.count(METRIC.digestsEmpty, report.empty);
        metrics?.count(METRIC.digestsFailed, report.failed);
        if (needsRetry(report)) batchItemFailures.push({ itemIdentifier: record.messageId });
      } catch (error) {
        logger.error('digest message failed', { error: error as Error, messageId: record.messageId });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  });
  return invocation.use(flushMetrics());
};

export const handler = makeHandler();
