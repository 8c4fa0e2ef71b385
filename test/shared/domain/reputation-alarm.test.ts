import { describe, expect, it } from 'vitest';
import {
  type AlarmChange,
  applyAlarmChange,
  parseAlarmNotification,
} from '../../../shared/domain/reputation-alarm.js';

const change = (alarm: string, state: AlarmChange['state'], at: string): AlarmChange => ({
  alarm,
  state,
  reason: 'Threshold Crossed',
  at,
});

describe('parseAlarmNotification', () => {
  it('reads the alarm, its new state, reason and time (CloudWatch writes +0000)', () => {
    expect(
      parseAlarmNotification(
        JSON.stringify({
          AlarmName: 'bounces',
          NewStateValue: 'ALARM',
          NewStateReason: 'Threshold Crossed',
          StateChangeTime: '2026-03-01T10:00:00.123+0000',
        }),
      ),
    ).toEqual({ kind: 'change', change: change('bounces', 'ALARM', '2026-03-01T10:00:00.123Z') });
  });

  it.each([
    ['not json', 'not JSON'],
    ['null', 'not an object'],
    [JSON.stringify({ NewStateValue: 'OK', StateChangeTime: '2026-03-01T10:00:00Z' }), 'no AlarmName'],
    [
      JSON.stringify({ AlarmName: 'a', NewStateValue: 'ON', StateChangeTime: '2026-03-01T10:00:00Z' }),
      'NewStateValue',
    ],
    [
      JSON.stringify({ AlarmName: 'a', NewStateValue: 'OK', StateChangeTime: 'yesterday' }),
      'StateChangeTime',
    ],
  ])('drops %s: %s', (message, why) => {
    const parsed = parseAlarmNotification(message);
    expect(parsed.kind).toBe('malformed');
    expect(parsed.kind === 'malformed' && parsed.why).toContain(why);
  });
});

describe('applyAlarmChange', () => {
  it('pauses while any alarm is in ALARM and resumes when none is', () => {
    const one = applyAlarmChange(undefined, change('bounces', 'ALARM', '2026-03-01T10:00:00.000Z'));
    expect(one).toMatchObject({ paused: true, at: '2026-03-01T10:00:00.000Z' });
    const two = applyAlarmChange(one, change('complaints', 'ALARM', '2026-03-01T10:01:00.000Z'));
    const three = applyAlarmChange(two, change('bounces', 'OK', '2026-03-01T11:00:00.000Z'));
    expect(three).toMatchObject({ paused: true, reason: expect.stringContaining('complaints') });
    expect(applyAlarmChange(three, change('complaints', 'OK', '2026-03-01T12:00:00.000Z'))).toMatchObject({
      paused: false,
    });
  });

  it('changes nothing for a notification no newer than the one applied for its alarm', () => {
    const on = applyAlarmChange(undefined, change('bounces', 'ALARM', '2026-03-01T10:00:00.000Z'));
    expect(applyAlarmChange(on, change('bounces', 'OK', '2026-03-01T09:00:00.000Z'))).toBeUndefined();
    expect(applyAlarmChange(on, change('bounces', 'ALARM', '2026-03-01T10:00:00.000Z'))).toBeUndefined();
  });
});
