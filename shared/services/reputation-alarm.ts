import type { ControlStore } from '../adapters/control-store.js';
import { applyAlarmChange, parseAlarmNotification } from '../domain/reputation-alarm.js';
import { logger } from '../logger.js';

export interface ReputationAlarmDeps {
  control: ControlStore;
}

export type ReputationOutcome =
  | { kind: 'ignored'; why: string }
  | { kind: 'stale' }
  | { kind: 'switched'; paused: boolean };

const MAX_ATTEMPTS = 5;

/**
 * One CloudWatch alarm notification about SES reputation (bounce or complaint rate): records the
 * alarm's state on the confirmation switch, paused while any reputation alarm is in ALARM.
 * Idempotent (a redelivery is older than or equal to what is stored); a lost race re-reads.
 */
export const handleReputationAlarm = async (
  deps: ReputationAlarmDeps,
  message: string,
): Promise<ReputationOutcome> => {
  const parsed = parseAlarmNotification(message);
  if (parsed.kind === 'malformed') {
    // Reading it again would not help: drop it, loudly.
    logger.warn('reputation alarm notification dropped', { why: parsed.why, size: message.length });
    return { kind: 'ignored', why: parsed.why };
  }
  for (let attempt = 1; ; attempt++) {
    const read = await deps.control.readConfirmationSwitch();
    const next = applyAlarmChange(read.value, parsed.change);
    if (!next) return { kind: 'stale' };
    if (await deps.control.writeConfirmationSwitch(next, read)) {
      logger.info('confirmation switch set', {
        alarm: parsed.change.alarm,
        state: parsed.change.state,
        paused: next.paused,
      });
      return { kind: 'switched', paused: next.paused };
    }
    if (attempt >= MAX_ATTEMPTS) throw new Error('the confirmation switch kept changing under this write');
  }
};
