import type { SNSEvent } from 'aws-lambda';
import { withMetrics } from '../shared/metrics.js';
import { lazy } from '../shared/services/deps.js';
import { type EmailFeedbackDeps, handleFeedback } from '../shared/services/email-feedback.js';
import { emailFeedbackDeps } from '../shared/services/email-feedback-deps.js';

/**
 * SES bounce and complaint notifications, delivered by SNS: permanent bounces and complaints
 * suppress the address. A failure throws, so Lambda retries the (idempotent) delivery.
 */
export const makeHandler = (deps: EmailFeedbackDeps | (() => EmailFeedbackDeps) = emailFeedbackDeps) => {
  const get = lazy(deps);
  return withMetrics(async (event: SNSEvent): Promise<{ suppressed: number }> => {
    let suppressed = 0;
    for (const record of event.Records)
      suppressed += (await handleFeedback(get(), record.Sns.Message)).suppressed;
    return { suppressed };
  });
};

export const handler = makeHandler();
