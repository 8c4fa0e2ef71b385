import type { SubscriptionStore } from '../adapters/subscription-store.js';
import type { TokenSecret } from '../adapters/token-secret.js';
import { parseFeedback } from '../domain/email-feedback.js';
import { subscriberIdOf } from '../domain/tokens.js';
import { logger } from '../logger.js';
import { METRIC, type MetricsPort } from '../metrics.js';

export interface EmailFeedbackDeps {
  store: Pick<SubscriptionStore, 'suppress'>;
  tokenSecret: TokenSecret;
  now: () => string;
  /** Where suppressions are counted, as bounces or complaints; none when absent. */
  metrics?: MetricsPort;
}

export interface FeedbackOutcome {
  suppressed: number;
  ignored: boolean;
}

/**
 * One SES notification: a permanent bounce or a complaint suppresses every recipient it names
 * (idempotent: a redelivered notification finds them suppressed). Anything else is logged and
 * dropped; a notification that cannot be read is not retried, since reading it again would not help.
 */
export const handleFeedback = async (deps: EmailFeedbackDeps, message: string): Promise<FeedbackOutcome> => {
  const parsed = parseFeedback(message);
  if (parsed.kind === 'malformed') {
    logger.warn('email feedback dropped', { why: parsed.why, size: message.length });
    return { suppressed: 0, ignored: true };
  }
  if (parsed.kind === 'ignore') {
    logger.info('email feedback ignored', { why: parsed.why });
    return { suppressed: 0, ignored: true };
  }
  const { feedback } = parsed;
  const secret = await deps.tokenSecret();
  const stamped =
    feedback.at && !Number.isNaN(Date.parse(feedback.at)) ? new Date(feedback.at).toISOString() : deps.now();
  const ids = [...new Set(feedback.recipients.map((address) => subscriberIdOf(secret, address)))];
  for (const id of ids) await deps.store.suppress(id, { reason: feedback.reason, at: stamped });
  deps.metrics?.count(feedback.reason === 'complaint' ? METRIC.complaints : METRIC.bounces, ids.length);
  // Ids, never addresses, in the logs.
  logger.info('addresses suppressed', { reason: feedback.reason, subscribers: ids });
  return { suppressed: ids.length, ignored: false };
};
