import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LookMessage } from '../shared/adapters/alert-queue.js';
import type { ChangeType } from '../shared/domain/change-message.js';
import { logger } from '../shared/logger.js';
import { flushMetrics } from '../shared/metrics.js';
import { alertDeps } from '../shared/services/alert-deps.js';
import {
  type AlertDeps,
  type AlertLook,
  type ChangeNotice,
  lookAtAlerts,
  queueChanges,
} from '../shared/services/alerts.js';
import { lazy } from '../shared/services/deps.js';

const CHANGE_TYPES: readonly ChangeType[] = ['created', 'updated', 'deleted'];
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * What may arrive on the alert queue: a change message from the topic (raw delivery, schema 1.x;
 * only what routing needs is read) or a look at one subscriber. Anything else is a poison message
 * for the dead-letter queue. Checked by hand, as the digest worker does.
 */
export const parseAlertMessage = (body: string): ChangeNotice | AlertLook => {
  const message = JSON.parse(body) as Record<string, unknown>;
  const fail = (rule: string): never => {
    throw new Error(`not an alert message: ${rule}`);
  };
  if (typeof message !== 'object' || message === null) return fail('must be an object');
  if (message.kind === 'look') {
    const { subscriber, at } = message as Partial<LookMessage>;
    if (typeof subscriber !== 'string' || subscriber === '') fail('subscriber must be an id');
    if (typeof at !== 'string' || !ISO_TIME.test(at)) fail('at must be an ISO timestamp');
    return { subscriber: subscriber as string, at: at as string };
  }
  if (typeof message.schemaVersion !== 'string' || !message.schemaVersion.startsWith('1.'))
    fail('schemaVersion must be 1.x');
  const { changeType, id, revision } = message;
  const event = message.event as Record<string, unknown> | undefined;
  if (!CHANGE_TYPES.includes(changeType as ChangeType))
    fail(`changeType must be one of ${CHANGE_TYPES.join(', ')}`);
  if (typeof id !== 'string' || id === '') fail('id must be an event id');
  if (!Number.isInteger(revision) || (revision as number) < 1) fail('revision must be a whole number from 1');
  if (typeof event !== 'object' || event === null || !Array.isArray(event.tags))
    fail('event.tags must be a list');
  const headline = typeof event?.headline === 'string' ? event.headline : '';
  const tags = (event as { tags: unknown[] }).tags.flatMap((t) => {
    const tag = t as Record<string, unknown>;
    return typeof tag?.slug === 'string' && typeof tag.name === 'string'
      ? [{ slug: tag.slug, name: tag.name }]
      : [];
  });
  const topic = typeof event?.topic === 'string' && event.topic !== '' ? event.topic : undefined;
  return {
    changeType: changeType as ChangeType,
    id: id as string,
    revision: revision as number,
    headline,
    tags,
    ...(topic ? { topic } : {}),
  };
};

/**
 * The alert worker, on the alert queue: change messages (from the topic of changes) join their
 * followers' waiting sets; looks send what is due. Failures are reported per message for
 * redelivery; both halves are idempotent.
 */
export const makeHandler = (deps: AlertDeps | (() => AlertDeps) = alertDeps) => {
  const get = lazy(deps);
  const invocation = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
    const failures = new Set<string>();
    const changes: { messageId: string; change: ChangeNotice }[] = [];
    const looks: { messageId: string; look: AlertLook }[] = [];
    for (const record of event.Records) {
      try {
        const message = parseAlertMessage(record.body);
        if ('subscriber' in message) looks.push({ messageId: record.messageId, look: message });
        else changes.push({ messageId: record.messageId, change: message });
      } catch (error) {
        logger.error('unreadable alert message', { error: error as Error, messageId: record.messageId });
        failures.add(record.messageId);
      }
    }
    if (changes.length > 0) {
      const { report, failed } = await queueChanges(
        get(),
        changes.map((c) => c.change),
      );
      for (const i of failed) failures.add((changes[i] as { messageId: string }).messageId);
      logger.info('changes queued for alerts', { changes: changes.length, ...report });
    }
    if (looks.length > 0) {
      try {
        const { report, failed } = await lookAtAlerts(
          get(),
          looks.map((l) => l.look),
        );
        const retry = new Set(failed);
        for (const l of looks) if (retry.has(l.look.subscriber)) failures.add(l.messageId);
        logger.info('alert looks handled', { looks: looks.length, ...report });
      } catch (error) {
        logger.error('alert looks failed', { error: error as Error });
        for (const l of looks) failures.add(l.messageId);
      }
    }
    return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
  });
  return invocation.use(flushMetrics());
};

export const handler = makeHandler();
