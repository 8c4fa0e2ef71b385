import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  callbackIssue,
  type HubMessage,
  type HubRequest,
  isFeedTopic,
  LEASE,
} from '../shared/domain/websub.js';
import { logger } from '../shared/logger.js';
import { lazy } from '../shared/services/deps.js';
import { type HubWorkerDeps, handleHubMessage } from '../shared/services/websub.js';
import { hubWorkerDeps } from '../shared/services/websub-deps.js';

/** What may arrive on the hub's queue; anything else is a poison message for the dead-letter queue. */
export const parseHubMessage = (body: string): HubMessage => {
  const m = JSON.parse(body) as Record<string, unknown>;
  const fail = (rule: string): never => {
    throw new Error(`not a hub message: ${rule}`);
  };
  if (typeof m !== 'object' || m === null) fail('must be an object');
  const topicOk = (t: unknown): t is string => typeof t === 'string' && isFeedTopic(t);
  const callbackOk = (c: unknown): c is string =>
    typeof c === 'string' && callbackIssue(c, 'local') === undefined;
  if (m.kind === 'distribute') {
    if (!Array.isArray(m.topics) || !m.topics.every(topicOk)) fail('topics must be feed paths');
    return { kind: 'distribute', topics: m.topics as string[] };
  }
  if (m.kind === 'deliver') {
    if (!topicOk(m.topic)) fail('topic must be a feed path');
    if (!callbackOk(m.callback)) fail('callback must be a URL');
    if (!Number.isInteger(m.attempt) || (m.attempt as number) < 1) fail('attempt must be a whole number');
    return {
      kind: 'deliver',
      topic: m.topic as string,
      callback: m.callback as string,
      attempt: m.attempt as number,
    };
  }
  if (m.kind === 'verify') {
    const r = m.request as Partial<HubRequest> | undefined;
    if (typeof r !== 'object' || r === null) return fail('request must be an object');
    if (r.mode !== 'subscribe' && r.mode !== 'unsubscribe')
      fail('request.mode must be subscribe or unsubscribe');
    if (!topicOk(r.topic) || !callbackOk(r.callback)) fail('request must name a feed and a callback');
    const lease = r.leaseSeconds;
    if (typeof lease !== 'number' || lease < LEASE.minSeconds || lease > LEASE.maxSeconds)
      fail('request.leaseSeconds out of bounds');
    if (r.secret !== undefined && typeof r.secret !== 'string') fail('request.secret must be a string');
    return { kind: 'verify', request: r as HubRequest };
  }
  return fail('kind must be verify, distribute or deliver');
};

/**
 * The hub's worker, on its queue: verifies intent, fans a changed feed out to its subscribers, and
 * delivers it to one callback (retrying through delayed messages). A message that fails on the store
 * or the queue is reported back for redelivery; one that cannot be read goes to the dead-letter queue.
 */
export const makeHandler = (deps: HubWorkerDeps | (() => HubWorkerDeps) = hubWorkerDeps) => {
  const get = lazy(deps);
  return middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      try {
        const outcome = await handleHubMessage(get(), parseHubMessage(record.body));
        logger.info('hub message handled', { ...outcome });
      } catch (error) {
        logger.error('hub message failed', { error: error as Error, messageId: record.messageId });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  });
};

export const handler = makeHandler();
