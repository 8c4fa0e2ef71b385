import { describe, expect, it } from 'vitest';
import {
  canonicalZone,
  dueBuckets,
  instantOf,
  isDeliveryAt,
  latestDelivery,
  localTimeAt,
  PLAN_STEP_MS,
  quarterHourOf,
} from '../../../shared/domain/zones.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const at = (iso: string): number => Date.parse(iso);
const iso = (instant: number): string => new Date(instant).toISOString();

/** Every quarter hour from `from` to `to`: the planner's runs. */
const quarterHours = (from: string, to: string): number[] => {
  const runs: number[] = [];
  for (let t = at(from); t < at(to); t += PLAN_STEP_MS) runs.push(t);
  return runs;
};

/** The local date (YYYY-MM-DD) of an instant in a zone. */
const localDate = (zone: string, instant: number): string => {
  const l = localTimeAt(zone, instant);
  return `${l.year}-${String(l.month).padStart(2, '0')}-${String(l.day).padStart(2, '0')}`;
};

// Each zone's days when clocks move in 2026 (and Kolkata, which has a half-hour offset and no DST).
const CHANGES: { zone: string; spring: string; autumn: string }[] = [
  { zone: 'Europe/Berlin', spring: '2026-03-29', autumn: '2026-10-25' },
  { zone: 'America/New_York', spring: '2026-03-08', autumn: '2026-11-01' },
  // Southern hemisphere: clocks go back in April and forward in October.
  { zone: 'Australia/Sydney', spring: '2026-10-04', autumn: '2026-04-05' },
  { zone: 'Asia/Kolkata', spring: '2026-03-29', autumn: '2026-10-25' },
];

describe('deliveries across daylight-saving changes', () => {
  describe.each(CHANGES)('$zone', ({ zone, spring, autumn }) => {
    it.each([spring, autumn])(
      'delivers every local hour exactly once a day, three days around %s, run every quarter hour',
      (day) => {
        const from = iso(at(`${day}T00:00:00Z`) - 3 * DAY_MS);
        const to = iso(at(`${day}T00:00:00Z`) + 3 * DAY_MS);
        const around = [-1, 0, 1].map((d) => iso(at(`${day}T12:00:00Z`) + d * DAY_MS).slice(0, 10));
        for (let hour = 0; hour < 24; hour++) {
          const delivery = { timeZone: zone, hour, weekday: 0 };
          const due = quarterHours(from, to).filter((t) => isDeliveryAt(delivery, false, t));
          const count = (d: string) => due.filter((t) => localDate(zone, t) === d).length;
          // The day before, the day clocks move and the day after: none skipped, none twice.
          expect(around.map((d) => ({ hour, d, sent: count(d) }))).toEqual(
            around.map((d) => ({ hour, d, sent: 1 })),
          );
          // Consecutive deliveries are a local day apart: 23 to 25 hours.
          for (let i = 1; i < due.length; i++) {
            const gap = ((due[i] as number) - (due[i - 1] as number)) / HOUR_MS;
            expect(gap).toBeGreaterThanOrEqual(23);
            expect(gap).toBeLessThanOrEqual(25);
          }
        }
      },
    );
  });

  it('delivers an hour the clocks jump over (02:00 in Berlin on 29 March) when they land, at 03:00 CEST', () => {
    const berlin = { timeZone: 'Europe/Berlin', hour: 2, weekday: 0 };
    expect(iso(instantOf('Europe/Berlin', Date.UTC(2026, 2, 29, 2)))).toBe('2026-03-29T01:00:00.000Z');
    expect(isDeliveryAt(berlin, false, at('2026-03-29T01:00:00Z'))).toBe(true);
    expect(isDeliveryAt(berlin, false, at('2026-03-28T01:00:00Z'))).toBe(true);
    expect(isDeliveryAt(berlin, false, at('2026-03-30T00:00:00Z'))).toBe(true);
  });

  it('delivers an hour that happens twice (02:00 in Berlin on 25 October) at its first occurrence only', () => {
    const berlin = { timeZone: 'Europe/Berlin', hour: 2, weekday: 0 };
    expect(isDeliveryAt(berlin, false, at('2026-10-25T00:00:00Z'))).toBe(true); // 02:00 CEST
    expect(isDeliveryAt(berlin, false, at('2026-10-25T01:00:00Z'))).toBe(false); // 02:00 CET, again
  });

  it('delivers 01:00 in New York once on 1 November (clocks go back at 02:00 EDT)', () => {
    const ny = { timeZone: 'America/New_York', hour: 1, weekday: 0 };
    const due = quarterHours('2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z').filter((t) =>
      isDeliveryAt(ny, false, t),
    );
    expect(due.map(iso)).toEqual(['2026-11-01T05:00:00.000Z']);
  });

  it('delivers 02:00 in Sydney on 4 October at 03:00 AEDT, when the clocks land', () => {
    const sydney = { timeZone: 'Australia/Sydney', hour: 2, weekday: 0 };
    const due = quarterHours('2026-10-03T12:00:00Z', '2026-10-04T12:00:00Z').filter((t) =>
      isDeliveryAt(sydney, false, t),
    );
    expect(due.map(iso)).toEqual(['2026-10-03T16:00:00.000Z']);
  });

  it('delivers on the half hour in Kolkata (UTC+05:30): 07:00 local is 01:30 UTC', () => {
    const kolkata = { timeZone: 'Asia/Kolkata', hour: 7, weekday: 1 };
    expect(latestDelivery(kolkata, false, at('2026-12-07T03:00:00Z'))).toBe(at('2026-12-07T01:30:00Z'));
    expect(isDeliveryAt(kolkata, false, at('2026-12-07T01:30:00Z'))).toBe(true);
    expect(isDeliveryAt(kolkata, false, at('2026-12-07T01:00:00Z'))).toBe(false);
  });
});

describe('weekly deliveries', () => {
  it.each(CHANGES)(
    '$zone: once a week on the local weekday, around both changes of the year',
    ({ zone, spring, autumn }) => {
      const delivery = { timeZone: zone, hour: 2, weekday: 0 }; // Sunday 02:00: the usual hour clocks move
      const due = [spring, autumn].flatMap((day) =>
        quarterHours(
          iso(at(`${day}T00:00:00Z`) - 14 * DAY_MS),
          iso(at(`${day}T00:00:00Z`) + 14 * DAY_MS),
        ).filter((t) => isDeliveryAt(delivery, true, t)),
      );
      // Four Sundays in each four weeks around a change.
      expect(due).toHaveLength(8);
      for (const t of due) expect(localTimeAt(zone, t).weekday).toBe(0);
      for (const i of [1, 2, 3, 5, 6, 7]) {
        const gap = ((due[i] as number) - (due[i - 1] as number)) / HOUR_MS;
        expect(gap).toBeGreaterThanOrEqual(167);
        expect(gap).toBeLessThanOrEqual(169);
      }
    },
  );

  it('finds the latest weekly delivery up to a week back', () => {
    const monday = { timeZone: 'Europe/Berlin', hour: 7, weekday: 1 };
    // Sunday 6 December 2026, 12:00 UTC: the last Monday 07:00 in Berlin was 30 November, 06:00 UTC.
    expect(iso(latestDelivery(monday, true, at('2026-12-06T12:00:00Z')))).toBe('2026-11-30T06:00:00.000Z');
  });
});

describe('dueBuckets', () => {
  it('names the zones and local hours due at a quarter hour, with the local weekday', () => {
    const zones = ['Europe/Berlin', 'Asia/Kolkata', 'America/New_York', 'Asia/Kathmandu'];
    expect(dueBuckets(zones, at('2026-12-07T06:00:00Z'))).toEqual([
      { timeZone: 'Europe/Berlin', hour: 7, weekday: 1 },
      { timeZone: 'America/New_York', hour: 1, weekday: 1 },
    ]);
    expect(dueBuckets(zones, at('2026-12-07T01:30:00Z'))).toEqual([
      { timeZone: 'Asia/Kolkata', hour: 7, weekday: 1 },
    ]);
    // Nepal is UTC+05:45.
    expect(dueBuckets(zones, at('2026-12-07T01:15:00Z'))).toEqual([
      { timeZone: 'Asia/Kathmandu', hour: 7, weekday: 1 },
    ]);
  });

  it('names both the hour the clocks jumped over and the hour they landed on', () => {
    expect(dueBuckets(['Europe/Berlin'], at('2026-03-29T01:00:00Z'))).toEqual([
      { timeZone: 'Europe/Berlin', hour: 3, weekday: 0 },
      { timeZone: 'Europe/Berlin', hour: 2, weekday: 0 },
    ]);
  });

  it('does not name an hour that comes round a second time', () => {
    expect(dueBuckets(['Europe/Berlin'], at('2026-10-25T01:00:00Z'))).toEqual([]);
  });
});

describe('quarterHourOf and canonicalZone', () => {
  it('rounds a schedule time down to its quarter hour', () => {
    expect(iso(quarterHourOf(at('2026-12-07T06:14:59.999Z')))).toBe('2026-12-07T06:00:00.000Z');
    expect(iso(quarterHourOf(at('2026-12-07T06:15:00Z')))).toBe('2026-12-07T06:15:00.000Z');
  });

  it('names a zone as the platform does, whatever its case or alias, and knows no made-up zone', () => {
    expect(canonicalZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalZone('US/Eastern')).toBe('America/New_York');
    expect(canonicalZone('Mars/Olympus_Mons')).toBeUndefined();
  });
});
