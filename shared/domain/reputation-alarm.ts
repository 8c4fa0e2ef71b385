/**
 * SES reputation alarms and the switch they flip: confirmation sending pauses while any
 * reputation alarm is in ALARM and resumes once none is. Pure: the handler passes the SNS message
 * and the switch as stored.
 */

export type AlarmState = 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';

/** One state change of one CloudWatch alarm, from its SNS notification. */
export interface AlarmChange {
  alarm: string;
  state: AlarmState;
  reason: string;
  /** When the alarm changed state (ISO 8601), as CloudWatch says. */
  at: string;
}

/** The confirmation switch: paused while any alarm in `alarms` is in ALARM. */
export interface ConfirmationSwitch {
  paused: boolean;
  reason: string;
  at: string;
  /** The latest state of each reputation alarm heard from, and when it changed. */
  alarms: Record<string, { state: AlarmState; at: string }>;
}

const STATES: readonly AlarmState[] = ['ALARM', 'OK', 'INSUFFICIENT_DATA'];

export type ParsedAlarm = { kind: 'change'; change: AlarmChange } | { kind: 'malformed'; why: string };

/** Reads a CloudWatch alarm notification (the `Message` of the SNS record, a JSON string). */
export const parseAlarmNotification = (message: string): ParsedAlarm => {
  let body: unknown;
  try {
    body = JSON.parse(message);
  } catch {
    return { kind: 'malformed', why: 'not JSON' };
  }
  if (typeof body !== 'object' || body === null) return { kind: 'malformed', why: 'not an object' };
  const { AlarmName, NewStateValue, NewStateReason, StateChangeTime } = body as Record<string, unknown>;
  if (typeof AlarmName !== 'string' || AlarmName === '') return { kind: 'malformed', why: 'no AlarmName' };
  if (!STATES.includes(NewStateValue as AlarmState)) {
    return { kind: 'malformed', why: 'NewStateValue is not ALARM, OK or INSUFFICIENT_DATA' };
  }
  if (typeof StateChangeTime !== 'string' || Number.isNaN(Date.parse(StateChangeTime))) {
    return { kind: 'malformed', why: 'StateChangeTime is not a time' };
  }
  return {
    kind: 'change',
    change: {
      alarm: AlarmName,
      state: NewStateValue as AlarmState,
      reason: typeof NewStateReason === 'string' ? NewStateReason.slice(0, 500) : '',
      at: new Date(StateChangeTime).toISOString(),
    },
  };
};

/**
 * The switch after `change`. A notification older than the one already applied for its alarm
 * (SNS does not promise order) changes nothing. Only ALARM counts as over the threshold: OK and
 * INSUFFICIENT_DATA (no mail sent, so no rate) both let sending resume.
 */
export const applyAlarmChange = (
  current: ConfirmationSwitch | undefined,
  change: AlarmChange,
): ConfirmationSwitch | undefined => {
  const known = current?.alarms[change.alarm];
  if (known && known.at >= change.at) return undefined;
  const alarms = { ...current?.alarms, [change.alarm]: { state: change.state, at: change.at } };
  const firing = Object.entries(alarms)
    .filter(([, a]) => a.state === 'ALARM')
    .map(([name]) => name)
    .sort();
  const paused = firing.length > 0;
  return {
    paused,
    reason: paused
      ? `SES reputation alarm ${firing.join(', ')} is in ALARM${change.state === 'ALARM' ? `: ${change.reason}` : ''}`
      : `every SES reputation alarm is clear (${change.alarm} went ${change.state})`,
    at: change.at,
    alarms,
  };
};
