import { describe, expect, it } from 'vitest';
import {
  type AlertSettings,
  type AlertState,
  afterSend,
  DEFAULT_ALERT_SETTINGS,
  type EventAlertRecord,
  earliestAllowed,
  emptyAlertState,
  firstLookAt,
  flushDecision,
  followChanges,
  followedBy,
  inQuietHours,
  instantOfLocal,
  localMinute,
  localTime,
  nextLocalHour,
  nextLocalMidnight,
  queueDecision,
  selectAlertItems,
  settleAlertState,
  zoneOf,
} from '../../../shared/domain/alerts.js';
import { type NewsEvent, type StoredEvent, tombstoneOf } from '../../../shared/domain/event.js';
import type { SubscriberRecord } from '../../../shared/domain/subscriber-changes.js';
import { makeNewsEvent } from '../../helpers/builders.js';

const S: AlertSettings = {
  ...DEFAULT_ALERT_SETTINGS,
  coalesceMs: 10 * 60_000,
  dailyCap: 3,
  gatherMs: 20_000,
};
const at = (iso: string) => Date.parse(iso);
const state = (over: Partial<AlertState> = {}): AlertState => ({ ...emptyAlertState(), ...over });

const record = (over: Partial<SubscriberRecord> = {}): SubscriberRecord => ({
  id: 'sub1',
  email: 'a@example.org',
  topics: [],
  tags: [
    { slug: 'syria', name: 'Syria' },
    { slug: 'russia', name: 'Russia' },
  ],
  cadence: 'instant',
  status: 'confirmed',
  createdAt: '2026-01-01T00:00:00.000Z',
  changedAt: '2026-01-01T00:00:00.000Z',
  tokenVersion: 0,
  revision: 1,
  ...over,
});

describe('the followers index', () => {
  it('holds a confirmed instant subscriber under each of their tags', () => {
    expect(followChanges(undefined, record())).toEqual({
      add: [
        { kind: 'tag', slug: 'syria' },
        { kind: 'tag', slug: 'russia' },
      ],
      remove: [],
    });
  });

  it.each([
    ['pending', { status: 'pending' as const }],
    ['unsubscribed', { status: 'unsubscribed' as const }],
    ['a daily reader', { cadence: 'daily' as const }],
    ['suppressed', { suppressedAt: '2026-01-02T00:00:00.000Z' }],
  ])('drops every follow when the subscriber becomes %s', (_, change) => {
    expect(followChanges(record(), record(change))).toEqual({
      add: [],
      remove: [
        { kind: 'tag', slug: 'syria' },
        { kind: 'tag', slug: 'russia' },
      ],
    });
  });

  it('moves only the tags that changed', () => {
    const after = record({
      topics: [],
      tags: [
        { slug: 'syria', name: 'Syria' },
        { slug: 'iran', name: 'Iran' },
      ],
    });
    expect(followChanges(record(), after)).toEqual({
      add: [{ kind: 'tag', slug: 'iran' }],
      remove: [{ kind: 'tag', slug: 'russia' }],
    });
  });

  it('indexes topic labels followed as FOLLOW#topic beside the tags', () => {
    const label = { slug: 'armed-conflicts-and-attacks', name: 'Armed conflicts and attacks' };
    expect(followChanges(record(), record({ topics: [label] }))).toEqual({
      add: [{ kind: 'topic', slug: 'armed-conflicts-and-attacks' }],
      remove: [],
    });
    expect(
      followChanges(record({ topics: [label] }), record({ topics: [label], cadence: 'daily' })).remove,
    ).toEqual([
      { kind: 'tag', slug: 'syria' },
      { kind: 'tag', slug: 'russia' },
      { kind: 'topic', slug: 'armed-conflicts-and-attacks' },
    ]);
  });

  it('looks a change up under its tags and its topic label', () => {
    const event = makeNewsEvent(1, ['Syria', 'Russia'], { topic: 'Russian President' });
    expect(followedBy(event)).toEqual([
      { kind: 'tag', slug: 'syria' },
      { kind: 'tag', slug: 'russia' },
      { kind: 'topic', slug: 'russian-president' },
    ]);
  });
});

describe('coalescing', () => {
  const now = at('2026-03-10T12:00:00.000Z');

  it('looks at a lone event after the gather, within a minute', () => {
    const look = Date.parse(firstLookAt(state(), now, S));
    expect(look - now).toBe(20_000);
    expect(flushDecision(state({ pending: ['a'] }), look, {}, S)).toEqual({ kind: 'send' });
  });

  it('holds events after an alert until the coalescing window of that alert ends', () => {
    const last = new Date(now - 3 * 60_000).toISOString();
    const s = state({ pending: ['a'], lastSentAt: last });
    expect(firstLookAt(s, now, S)).toBe('2026-03-10T12:07:00.000Z');
    expect(flushDecision(s, now + 20_000, {}, S)).toEqual({
      kind: 'wait',
      until: '2026-03-10T12:07:00.000Z',
    });
    expect(flushDecision(s, at('2026-03-10T12:07:00.000Z'), {}, S)).toEqual({ kind: 'send' });
  });

  it('after the window has passed, a new event is lone again', () => {
    const s = state({ lastSentAt: '2026-03-10T11:00:00.000Z' });
    expect(Date.parse(firstLookAt(s, now, S)) - now).toBe(20_000);
  });

  it('has nothing to do when nothing waits', () => {
    expect(flushDecision(state(), now, {}, S)).toEqual({ kind: 'idle' });
  });

  it('a sent alert opens a window and counts against its day', () => {
    expect(afterSend(state(), at('2026-03-10T12:00:21.000Z'), {}, S)).toEqual({
      lastSentAt: '2026-03-10T12:00:21.000Z',
      day: '2026-03-10',
      sentToday: 1,
    });
    expect(afterSend(state({ day: '2026-03-10', sentToday: 2 }), now, {}, S).sentToday).toBe(3);
  });

  it('three bursts a window apart make three alerts, each burst in one', () => {
    let s = state();
    const sends: number[] = [];
    for (let burst = 0; burst < 3; burst++) {
      const start = now + burst * S.coalesceMs;
      let look: string | undefined;
      for (let i = 0; i < 5; i++) {
        // Only the first arrival into an empty set schedules a look; the rest join it.
        if (s.pending.length === 0) look = firstLookAt(s, start + i * 1000, S);
        s = { ...s, pending: [...s.pending, `e${burst}-${i}`] };
      }
      let t = Date.parse(look as string);
      for (
        let decision = flushDecision(s, t, {}, S);
        decision.kind === 'wait';
        decision = flushDecision(s, t, {}, S)
      )
        t = Date.parse(decision.until);
      expect(s.pending).toHaveLength(5);
      s = { ...s, ...afterSend(s, t, {}, S), pending: [] };
      sends.push(t);
    }
    expect(sends.map((t) => (t - now) / 1000)).toEqual([20, 620, 1220]);
  });
});

describe('the daily cap, in the local day', () => {
  it('holds alerts after the cap until the next local midnight, which sends them together', () => {
    const tokyo = { timeZone: 'Asia/Tokyo' };
    // 23:00 in Tokyo on the 10th: the 10th's three alerts are spent.
    const s = state({ pending: ['x', 'y'], day: '2026-03-10', sentToday: 3 });
    expect(flushDecision(s, at('2026-03-10T14:00:00.000Z'), tokyo, S)).toEqual({
      kind: 'wait',
      until: '2026-03-10T15:00:00.000Z',
    });
    expect(flushDecision(s, at('2026-03-10T15:00:00.000Z'), tokyo, S)).toEqual({ kind: 'send' });
    expect(afterSend(s, at('2026-03-10T15:00:00.000Z'), tokyo, S)).toMatchObject({
      day: '2026-03-11',
      sentToday: 1,
    });
  });

  it('counts in the subscriber zone, not UTC: the same instant is another day in Los Angeles', () => {
    const la = { timeZone: 'America/Los_Angeles' };
    // 02:00 UTC on the 11th is 19:00 on the 10th in Los Angeles: still the capped day.
    const s = state({ pending: ['x'], day: '2026-03-10', sentToday: 3 });
    expect(flushDecision(s, at('2026-03-11T02:00:00.000Z'), la, S)).toEqual({
      kind: 'wait',
      until: '2026-03-11T07:00:00.000Z',
    });
    // In UTC the 11th has begun: the cap of the 10th does not hold.
    expect(flushDecision(s, at('2026-03-11T02:00:00.000Z'), {}, S)).toEqual({ kind: 'send' });
  });

  it('lets the cap-th alert out and holds the one after', () => {
    let s = state({ pending: ['x'] });
    const t = at('2026-03-10T08:00:00.000Z');
    for (let i = 0; i < 3; i++) {
      const when = t + i * S.coalesceMs;
      expect(flushDecision(s, when, {}, S)).toEqual({ kind: 'send' });
      s = { ...s, ...afterSend(s, when, {}, S) };
    }
    expect(flushDecision(s, t + 3 * S.coalesceMs, {}, S)).toEqual({
      kind: 'wait',
      until: '2026-03-11T00:00:00.000Z',
    });
  });

  it('counts a new day from one', () => {
    const s = state({ pending: ['x'], day: '2026-03-09', sentToday: 3 });
    expect(flushDecision(s, at('2026-03-10T08:00:00.000Z'), {}, S)).toEqual({ kind: 'send' });
    expect(afterSend(s, at('2026-03-10T08:00:00.000Z'), {}, S).sentToday).toBe(1);
  });

  it('uses the default zone setting when the subscriber chose none, or an unknown one', () => {
    const settings = { ...S, defaultTimeZone: 'Asia/Kolkata' };
    expect(zoneOf({}, settings)).toBe('Asia/Kolkata');
    expect(zoneOf({ timeZone: 'Mars/Olympus' }, settings)).toBe('Asia/Kolkata');
    expect(zoneOf({ timeZone: 'Europe/Berlin' }, settings)).toBe('Europe/Berlin');
  });
});

describe('quiet hours', () => {
  const night = { timeZone: 'Europe/Berlin', quietHours: { from: 22, to: 7 } };

  it('waits until the local end of quiet hours across midnight', () => {
    // 23:30 in Berlin (CET, UTC+1) → 07:00 Berlin = 06:00 UTC the next day.
    const s = state({ pending: ['a'] });
    expect(flushDecision(s, at('2026-01-15T22:30:00.000Z'), night, S)).toEqual({
      kind: 'wait',
      until: '2026-01-16T06:00:00.000Z',
    });
  });

  it('lets alerts out outside quiet hours', () => {
    expect(inQuietHours(at('2026-01-16T06:00:00.000Z'), 'Europe/Berlin', night.quietHours)).toBe(false);
    expect(inQuietHours(at('2026-01-16T05:59:00.000Z'), 'Europe/Berlin', night.quietHours)).toBe(true);
    // 11:00 UTC is 12:00 in Berlin; 12:00 UTC is 13:00; 14:00 UTC is 15:00.
    expect(inQuietHours(at('2026-01-16T11:00:00.000Z'), 'Europe/Berlin', { from: 13, to: 15 })).toBe(false);
    expect(inQuietHours(at('2026-01-16T12:00:00.000Z'), 'Europe/Berlin', { from: 13, to: 15 })).toBe(true);
    expect(inQuietHours(at('2026-01-16T14:00:00.000Z'), 'Europe/Berlin', { from: 13, to: 15 })).toBe(false);
    expect(inQuietHours(at('2026-01-16T13:00:00.000Z'), 'Europe/Berlin', { from: 9, to: 9 })).toBe(false);
  });

  it('ends quiet hours at the local hour on the night clocks go forward (Berlin, 29 March 2026)', () => {
    // 01:30 CET = 00:30 UTC; at 02:00 local the clocks jump to 03:00 CEST; 07:00 CEST = 05:00 UTC.
    expect(flushDecision(state({ pending: ['a'] }), at('2026-03-29T00:30:00.000Z'), night, S)).toEqual({
      kind: 'wait',
      until: '2026-03-29T05:00:00.000Z',
    });
  });

  it('ends quiet hours at the local hour on the night clocks go back (New York, 1 November 2026)', () => {
    const ny = { timeZone: 'America/New_York', quietHours: { from: 0, to: 6 } };
    // 00:30 EDT = 04:30 UTC; 06:00 EST (after the change at 02:00 EDT) = 11:00 UTC.
    expect(flushDecision(state({ pending: ['a'] }), at('2026-11-01T04:30:00.000Z'), ny, S)).toEqual({
      kind: 'wait',
      until: '2026-11-01T11:00:00.000Z',
    });
  });

  it('a capped day and quiet hours together: the next day, after its quiet hours', () => {
    const s = state({ pending: ['a'], day: '2026-01-15', sentToday: 3 });
    // 20:00 Berlin on the 15th: capped → midnight, which is quiet → 07:00 on the 16th.
    expect(earliestAllowed(at('2026-01-15T19:00:00.000Z'), s, night, S)).toBe(at('2026-01-16T06:00:00.000Z'));
  });
});

describe('local time across zones and clock changes', () => {
  it('reads the wall clock as Intl does, minute by minute across clock changes and odd offsets', () => {
    const zones = [
      'Europe/Berlin',
      'America/St_Johns',
      'Australia/Lord_Howe',
      'Pacific/Chatham',
      'Asia/Kathmandu',
    ];
    const intl = (ms: number, zone: string) => {
      const parts = Object.fromEntries(
        new Intl.DateTimeFormat('en-US', {
          timeZone: zone,
          hourCycle: 'h23',
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
          hour: '2-digit',
          minute: '2-digit',
        })
          .formatToParts(new Date(ms))
          .filter((p) => p.type !== 'literal')
          .map((p) => [p.type, Number(p.value)]),
      );
      return [parts.year, parts.month, parts.day, parts.hour, parts.minute];
    };
    // The days around each zone's 2026 clock changes, in steps of 7 minutes 13 seconds.
    const days = [
      '2026-03-08',
      '2026-03-29',
      '2026-04-05',
      '2026-09-27',
      '2026-10-04',
      '2026-10-25',
      '2026-11-01',
    ];
    for (const zone of zones) {
      for (const day of days) {
        const from = Date.parse(`${day}T00:00:00Z`) - 86_400_000;
        for (let ms = from; ms < from + 2 * 86_400_000; ms += 433_000) {
          const t = localTime(ms, zone);
          expect([t.year, t.month, t.day, t.hour, t.minute], `${zone} ${new Date(ms).toISOString()}`).toEqual(
            intl(ms, zone),
          );
        }
      }
    }
  });

  it.each([
    ['Europe/Berlin', '2026-03-29', 3, '2026-03-29T01:00:00.000Z'],
    ['Europe/Berlin', '2026-10-25', 4, '2026-10-25T03:00:00.000Z'],
    ['America/New_York', '2026-03-08', 7, '2026-03-08T11:00:00.000Z'],
    ['Australia/Sydney', '2026-04-05', 7, '2026-04-04T21:00:00.000Z'],
    ['Australia/Sydney', '2026-10-04', 7, '2026-10-03T20:00:00.000Z'],
    ['Asia/Kolkata', '2026-06-01', 7, '2026-06-01T01:30:00.000Z'],
    ['Asia/Kathmandu', '2026-06-01', 0, '2026-05-31T18:15:00.000Z'],
  ])('%s %s %i:00 is %s', (zone, date, hour, expected) => {
    const [y, m, d] = date.split('-').map(Number) as [number, number, number];
    expect(new Date(instantOfLocal(zone, y, m, d, hour)).toISOString()).toBe(expected);
  });

  it('an hour the clocks skip is the first instant after the gap', () => {
    // 02:00 does not exist in Berlin on 29 March 2026: 03:00 CEST.
    expect(new Date(instantOfLocal('Europe/Berlin', 2026, 3, 29, 2)).toISOString()).toBe(
      '2026-03-29T01:00:00.000Z',
    );
  });

  it('a local day is 23 or 25 hours long when clocks move', () => {
    const berlin = 'Europe/Berlin';
    const spring = nextLocalMidnight(at('2026-03-28T23:30:00.000Z'), berlin);
    expect(new Date(spring).toISOString()).toBe('2026-03-29T22:00:00.000Z');
    expect(spring - at('2026-03-28T23:00:00.000Z')).toBe(23 * 3600_000);
    expect(localTime(spring, berlin).date).toBe('2026-03-30');
  });

  it('finds the next local hour today or tomorrow', () => {
    expect(new Date(nextLocalHour(at('2026-06-01T00:00:00.000Z'), 'Asia/Kolkata', 7)).toISOString()).toBe(
      '2026-06-01T01:30:00.000Z',
    );
    expect(new Date(nextLocalHour(at('2026-06-01T02:00:00.000Z'), 'Asia/Kolkata', 7)).toISOString()).toBe(
      '2026-06-02T01:30:00.000Z',
    );
  });

  it('names the zone in the times it writes', () => {
    expect(localMinute(at('2026-06-01T01:30:00.000Z'), 'Asia/Kolkata')).toBe('2026-06-01 07:00 Asia/Kolkata');
  });
});

describe('which waiting events an alert lists', () => {
  const live = (n: number, headline: string, over: Partial<NewsEvent> = {}) =>
    makeNewsEvent(n, ['Syria'], { headline, ...over });
  const events = (list: StoredEvent[]) => new Map(list.map((e) => [e.id, e]));

  it('lists new events, newest first, each once', () => {
    const a = live(1, 'A', { updatedAt: '2026-11-27T10:00:00.000Z' });
    const b = live(2, 'B', { updatedAt: '2026-11-27T11:00:00.000Z' });
    const items = selectAlertItems([a.id, b.id, a.id], events([a, b]));
    expect(items.map((i) => [i.event.id, i.updated])).toEqual([
      [b.id, false],
      [a.id, false],
    ]);
  });

  it('never lists a deleted or missing event', () => {
    const a = live(1, 'A');
    const gone = tombstoneOf(live(2, 'B'), '2026-11-27T10:05:00.000Z');
    expect(selectAlertItems([a.id, gone.id, 'nope'], events([a, gone])).map((i) => i.event.id)).toEqual([
      a.id,
    ]);
  });

  it('marks as updated a correction of an event published before the last alert', () => {
    const corrected = live(1, 'New headline', { revision: 2, publishedAt: '2026-11-27T09:00:00.000Z' });
    const freshlyCorrected = live(2, 'Fixed typo', { revision: 2, publishedAt: '2026-11-27T10:30:00.000Z' });
    const items = selectAlertItems(
      [corrected.id, freshlyCorrected.id],
      events([corrected, freshlyCorrected]),
      '2026-11-27T10:00:00.000Z',
    );
    expect(Object.fromEntries(items.map((i) => [i.event.id, i.updated]))).toEqual({
      [corrected.id]: true,
      [freshlyCorrected.id]: false,
    });
  });
});

describe('whether a change is queued for followers', () => {
  const now = Date.parse('2026-03-10T12:00:00.000Z');
  const lease = 5 * 60_000;
  const record = (over: Partial<EventAlertRecord> = {}): EventAlertRecord => ({
    revision: 1,
    headline: 'Talks open',
    state: 'queued',
    at: '2026-03-10T11:00:00.000Z',
    ...over,
  });
  const change = (revision: number, headline = 'Talks open') => ({ revision, headline });

  it.each([
    ['a new event', undefined, change(1), { kind: 'queue' }],
    ['a redelivered change', record(), change(1), { kind: 'skip', reason: 'repeat' }],
    [
      'a change another worker is queuing',
      record({ state: 'queuing', at: '2026-03-10T11:58:00.000Z' }),
      change(1),
      { kind: 'skip', reason: 'repeat' },
    ],
    [
      'a change whose worker died',
      record({ state: 'queuing', at: '2026-03-10T11:50:00.000Z' }),
      change(1),
      { kind: 'queue' },
    ],
    [
      'an older revision arriving late',
      record({ revision: 3 }),
      change(2),
      { kind: 'skip', reason: 'older' },
    ],
    ['a correction keeping the headline', record(), change(2), { kind: 'skip', reason: 'same-headline' }],
    ['a correction changing the headline', record(), change(2, 'Talks collapse'), { kind: 'queue' }],
    [
      'a correction after an unfinished queuing',
      record({ state: 'queuing', at: '2026-03-10T11:59:00.000Z' }),
      change(2),
      { kind: 'queue' },
    ],
  ])('%s', (_, stored, incoming, expected) => {
    expect(queueDecision(stored as EventAlertRecord | undefined, incoming, now, lease)).toEqual(expected);
  });
});

describe('the state a look decides on', () => {
  const stored = {
    pending: ['e3'],
    lastSentAt: '2026-03-10T12:00:20.000Z',
    day: '2026-03-10',
    sentToday: 2,
    claimId: 'c2',
    claimedAt: '2026-03-10T12:00:20.000Z',
    sending: ['e1', 'e2'],
    before: { lastSentAt: '2026-03-10T09:00:00.000Z', day: '2026-03-10', sentToday: 1 },
  };

  it('a claim with its receipt is a finished send: its record stands, its events are gone', () => {
    expect(settleAlertState(stored, 'c2')).toEqual({
      pending: ['e3'],
      lastSentAt: '2026-03-10T12:00:20.000Z',
      day: '2026-03-10',
      sentToday: 2,
      read: { claimId: 'c2', lastSentAt: '2026-03-10T12:00:20.000Z' },
    });
  });

  it('a claim without it may not have sent: its events wait again and its record is undone', () => {
    expect(settleAlertState(stored, 'c1')).toEqual({
      pending: ['e3', 'e1', 'e2'],
      lastSentAt: '2026-03-10T09:00:00.000Z',
      day: '2026-03-10',
      sentToday: 1,
      claimId: 'c2',
      claimedAt: '2026-03-10T12:00:20.000Z',
      read: { claimId: 'c2', lastSentAt: '2026-03-10T12:00:20.000Z' },
    });
    // The first alert's claim: nothing sent before it.
    expect(settleAlertState({ ...stored, before: { sentToday: 0 } }, undefined)).toMatchObject({
      sentToday: 0,
      pending: ['e3', 'e1', 'e2'],
    });
    expect(settleAlertState({ ...stored, before: { sentToday: 0 } }, undefined).lastSentAt).toBeUndefined();
  });

  it('no claim: the state as stored', () => {
    const { claimId: _, claimedAt: __, before: ___, ...unclaimed } = stored;
    expect(settleAlertState({ ...unclaimed, sending: [] }, undefined)).toEqual({
      pending: ['e3'],
      lastSentAt: '2026-03-10T12:00:20.000Z',
      day: '2026-03-10',
      sentToday: 2,
      read: { lastSentAt: '2026-03-10T12:00:20.000Z' },
    });
  });
});
