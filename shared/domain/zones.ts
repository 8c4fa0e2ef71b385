/**
 * Local time in IANA time zones, on the platform's own zone data (Intl): when a subscriber's local
 * delivery hour falls, and which delivery buckets are due at an instant. Pure: instants come in
 * as epoch milliseconds.
 *
 * Daylight-saving rule (the "compatible" disambiguation of Temporal and RFC 5545): a local hour
 * that does not exist on a day (clocks jump over it) is delivered at the first instant after the
 * jump; a local hour that happens twice (clocks go back) is delivered at its first occurrence only.
 * So every local day has exactly one delivery, whichever way the clocks move.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** The planner runs every quarter hour: zones have half- and quarter-hour offsets (India, Nepal). */
export const PLAN_STEP_MS = 15 * MINUTE_MS;

const formatters = new Map<string, Intl.DateTimeFormat>();
const formatterOf = (zone: string): Intl.DateTimeFormat => {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, format);
  }
  return format;
};

/** A wall-clock reading in some zone. `weekday` 0 = Sunday. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

/** The wall clock of `zone` at `instant`, as if it were UTC (milliseconds, whole seconds). */
const wallMs = (zone: string, instant: number): number => {
  const parts: Record<string, number> = {};
  for (const part of formatterOf(zone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return Date.UTC(
    parts.year as number,
    (parts.month as number) - 1,
    parts.day as number,
    parts.hour as number,
    parts.minute as number,
    parts.second as number,
  );
};

/** The zone's offset from UTC at `instant`, in milliseconds (positive east of Greenwich). */
export const offsetAt = (zone: string, instant: number): number =>
  wallMs(zone, instant) - (instant - (((instant % 1000) + 1000) % 1000));

/** The wall clock of `zone` at `instant`. */
export const localTimeAt = (zone: string, instant: number): LocalTime => {
  const wall = new Date(instant + offsetAt(zone, instant));
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    weekday: wall.getUTCDay(),
  };
};

/**
 * The instant a local date and hour names in `zone`: in a gap (clocks jumped over it) the instant
 * the jump lands on plus what was left of the hour, i.e. the hour as read on the clock before the
 * jump; in an overlap (clocks went back) the first occurrence. `wall` is the local time as if UTC.
 */
export const instantOf = (zone: string, wall: number): number => {
  // Offsets either side of any change near this wall time (changes are months apart).
  const before = offsetAt(zone, wall - DAY_MS);
  const after = offsetAt(zone, wall + DAY_MS);
  const candidates = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((instant) => wallMs(zone, instant) === wall)
    .sort((a, b) => a - b);
  // None reads `wall`: it is in a gap, and the offset in force before the jump places it after.
  return candidates[0] ?? wall - before;
};

/** The local date (as a UTC midnight) and weekday of `instant` in `zone`. */
const localDayOf = (zone: string, instant: number): number => {
  const wall = instant + offsetAt(zone, instant);
  return wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS);
};

/** When a subscriber's digests go out: their zone, local hour and (weekly) local weekday, 0 = Sunday. */
export interface Delivery {
  timeZone: string;
  hour: number;
  weekday: number;
}

/**
 * The most recent delivery time at or before `at`: the local `hour` of the latest local day (for
 * weekly, the latest such day on `weekday`) whose delivery instant is not after `at`.
 */
export const latestDelivery = (delivery: Delivery, weekly: boolean, at: number): number => {
  const today = localDayOf(delivery.timeZone, at);
  // Two days back covers a delivery not yet reached today; eight covers any weekday.
  for (let back = 0; back <= 8; back++) {
    const day = today - back * DAY_MS;
    if (weekly && new Date(day).getUTCDay() !== delivery.weekday) continue;
    const instant = instantOf(delivery.timeZone, day + delivery.hour * HOUR_MS);
    if (instant <= at) return instant;
  }
  // Unreachable for real zones (a local day is never skipped twice in a row).
  throw new RangeError(
    `no delivery time found for ${delivery.timeZone} before ${new Date(at).toISOString()}`,
  );
};

/** Whether a delivery falls exactly at `at` (a planner run's quarter hour). */
export const isDeliveryAt = (delivery: Delivery, weekly: boolean, at: number): boolean =>
  latestDelivery(delivery, weekly, at) === at;

/** The start of the quarter hour holding `instant`: the planner's run time. */
export const quarterHourOf = (instant: number): number =>
  instant - (((instant % PLAN_STEP_MS) + PLAN_STEP_MS) % PLAN_STEP_MS);

/** A (zone, local hour, local weekday) a delivery falls in at some instant. */
export interface DueBucket {
  timeZone: string;
  hour: number;
  /** The local weekday of the delivery (what a weekly subscriber's weekday must be). */
  weekday: number;
}

/**
 * The buckets of `zones` whose deliveries fall exactly at `at`: per zone, the local hour read at
 * `at` if it is on the hour, and any hour the clocks just jumped over (delivered on landing).
 * Each zone has at most a few; most have none unless `at` is a whole hour there.
 */
export const dueBuckets = (zones: Iterable<string>, at: number): DueBucket[] => {
  const due: DueBucket[] = [];
  for (const timeZone of zones) {
    const local = localTimeAt(timeZone, at);
    // Gaps are an hour (half an hour on Lord Howe Island): a jumped-over hour lands within two.
    for (let hour = local.hour; hour >= Math.max(0, local.hour - 2); hour--) {
      if (isDeliveryAt({ timeZone, hour, weekday: local.weekday }, false, at)) {
        due.push({ timeZone, hour, weekday: local.weekday });
      }
    }
  }
  return due;
};

/**
 * The zone as the platform names it canonically (`Asia/Kolkata` and `Asia/Calcutta` are one zone),
 * or undefined when Intl does not know it.
 */
export const canonicalZone = (name: string): string | undefined => {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
};

/** The zones a subscriber can choose from (and the planner looks at): the platform's list, UTC first. */
export const supportedZones = (): string[] => {
  const listed = Intl.supportedValuesOf('timeZone');
  return ['UTC', ...listed.filter((zone) => zone !== 'UTC')];
};
