import type { SNSEvent } from 'aws-lambda';
import { lazy } from '../shared/services/deps.js';
import { handleReputationAlarm, type ReputationAlarmDeps } from '../shared/services/reputation-alarm.js';
import { reputationAlarmDeps } from '../shared/services/reputation-alarm-deps.js';

/**
 * CloudWatch alarms on SES's bounce and complaint rates, delivered by SNS: pauses confirmation
 * sending while either is in ALARM and resumes it when both are clear. A failure throws, so Lambda
 * retries the (idempotent) delivery.
 */
export const makeHandler = (
  deps: ReputationAlarmDeps | (() => ReputationAlarmDeps) = reputationAlarmDeps,
) => {
  const get = lazy(deps);
  return async (event: SNSEvent): Promise<{ paused: boolean | undefined }> => {
    let paused: boolean | undefined;
    for (const record of event.Records) {
      const outcome = await handleReputationAlarm(get(), record.Sns.Message);
      if (outcome.kind === 'switched') paused = outcome.paused;
    }
    return { paused };
  };
};

export const handler = makeHandler();
