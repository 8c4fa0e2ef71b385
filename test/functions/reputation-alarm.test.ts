import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/handle-reputation-alarm.js';
import { makeControlStore } from '../../shared/adapters/control-store.js';
import { CONFIRMATIONS_CONTROL, controlKey } from '../../shared/keys.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { snsEventOf } from '../helpers/ses-feedback.js';

const BOUNCES = 'Tidings-MonitoringSesBounceRate-1A2B3C';
const COMPLAINTS = 'Tidings-MonitoringSesComplaintRate-4D5E6F';

/** What CloudWatch publishes to SNS when an alarm changes state. */
const alarmNotification = (alarm: string, state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA', at: string) => ({
  AlarmName: alarm,
  AlarmDescription: 'SES bounce rate over 4%',
  AWSAccountId: '123456789012',
  AlarmConfigurationUpdatedTimestamp: '2026-03-01T09:00:00.000+0000',
  NewStateValue: state,
  NewStateReason: `Threshold Crossed: 1 datapoint [0.05 (01/03/26 10:00:00)] was ${state === 'ALARM' ? 'greater than' : 'not greater than'} the threshold (0.04).`,
  StateChangeTime: at.replace('Z', '+0000'),
  Region: 'EU (Ireland)',
  AlarmArn: `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${alarm}`,
  OldStateValue: state === 'ALARM' ? 'OK' : 'ALARM',
  Trigger: {
    MetricName: 'Reputation.BounceRate',
    Namespace: 'AWS/SES',
    Statistic: 'MAXIMUM',
    Period: 300,
    EvaluationPeriods: 1,
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: 0.04,
    TreatMissingData: 'notBreaching',
    Dimensions: [],
  },
});

describe('handle-reputation-alarm', () => {
  let table: TestTable;
  let handler: ReturnType<typeof makeHandler>;
  const stored = async () =>
    (
      await table.db.send(
        new GetCommand({ TableName: table.tableName, Key: controlKey(CONFIRMATIONS_CONTROL) }),
      )
    ).Item;
  const deliver = (...notifications: unknown[]) => handler(snsEventOf(...notifications));

  beforeAll(async () => {
    table = await startTestTable();
  });
  afterAll(async () => {
    await table.close();
  });
  beforeEach(async () => {
    // A table of its own per test: the switch is one item.
    await table.close();
    table = await startTestTable();
    handler = makeHandler({ control: makeControlStore(table.db, table.tableName) });
  });

  it('pauses confirmations when a reputation alarm fires, saying which and why', async () => {
    expect(await deliver(alarmNotification(BOUNCES, 'ALARM', '2026-03-01T10:00:00.000Z'))).toEqual({
      paused: true,
    });
    expect(await stored()).toMatchObject({
      PK: 'CONTROL#confirmations',
      SK: 'CONTROL',
      paused: true,
      reason: expect.stringMatching(new RegExp(`${BOUNCES} is in ALARM: Threshold Crossed`)),
      at: '2026-03-01T10:00:00.000Z',
    });
  });

  it('resumes only when every reputation alarm is clear again', async () => {
    await deliver(alarmNotification(BOUNCES, 'ALARM', '2026-03-01T10:00:00.000Z'));
    await deliver(alarmNotification(COMPLAINTS, 'ALARM', '2026-03-01T10:05:00.000Z'));
    expect(await deliver(alarmNotification(BOUNCES, 'OK', '2026-03-01T11:00:00.000Z'))).toEqual({
      paused: true,
    });
    expect(await stored()).toMatchObject({ paused: true, reason: expect.stringContaining(COMPLAINTS) });
    expect(await deliver(alarmNotification(COMPLAINTS, 'OK', '2026-03-01T12:00:00.000Z'))).toEqual({
      paused: false,
    });
    expect(await stored()).toMatchObject({ paused: false, at: '2026-03-01T12:00:00.000Z' });
  });

  it('ignores a notification older than the one applied for its alarm (SNS does not keep order), and redeliveries', async () => {
    await deliver(alarmNotification(BOUNCES, 'ALARM', '2026-03-01T10:00:00.000Z'));
    await deliver(alarmNotification(BOUNCES, 'OK', '2026-03-01T11:00:00.000Z'));
    // The ALARM of 10:00 delivered again, after the OK of 11:00.
    expect(await deliver(alarmNotification(BOUNCES, 'ALARM', '2026-03-01T10:00:00.000Z'))).toEqual({
      paused: undefined,
    });
    expect(await stored()).toMatchObject({ paused: false });
  });

  it('keeps both changes when two alarms are handled at once', async () => {
    await Promise.all([
      deliver(alarmNotification(BOUNCES, 'ALARM', '2026-03-01T10:00:00.000Z')),
      deliver(alarmNotification(COMPLAINTS, 'ALARM', '2026-03-01T10:00:01.000Z')),
    ]);
    const item = await stored();
    expect(Object.keys(item?.alarms ?? {}).sort()).toEqual([BOUNCES, COMPLAINTS].sort());
    await deliver(alarmNotification(BOUNCES, 'OK', '2026-03-01T11:00:00.000Z'));
    expect(await stored()).toMatchObject({ paused: true });
  });

  it('treats INSUFFICIENT_DATA (no mail sent, no rate) as clear', async () => {
    await deliver(alarmNotification(BOUNCES, 'ALARM', '2026-03-01T10:00:00.000Z'));
    await deliver(alarmNotification(BOUNCES, 'INSUFFICIENT_DATA', '2026-03-01T11:00:00.000Z'));
    expect(await stored()).toMatchObject({ paused: false });
  });

  it('drops a notification it cannot read, writing nothing', async () => {
    expect(await deliver('not json', { AlarmName: BOUNCES, NewStateValue: 'ON' })).toEqual({
      paused: undefined,
    });
    expect(await stored()).toBeUndefined();
  });
});
