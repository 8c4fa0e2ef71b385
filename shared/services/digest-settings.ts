import { ENV, optionalEnv } from '../config.js';
import type { DigestSchedule } from '../domain/digest.js';
import { canonicalZone, supportedZones } from '../domain/zones.js';

const wholeNumber = (
  name: string,
  fallback: number,
  min: number,
  max: number,
  env: NodeJS.ProcessEnv,
): number => {
  const raw = optionalEnv(name, env);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max} (got ${raw})`);
  }
  return value;
};

/** DEFAULT_TIME_ZONE as the platform names it (default UTC); an unknown zone fails at cold start. */
const timeZone = (env: NodeJS.ProcessEnv): string => {
  const raw = optionalEnv(ENV.defaultTimeZone, env) ?? 'UTC';
  const zone = canonicalZone(raw);
  if (zone === undefined || !supportedZones().includes(zone)) {
    throw new Error(
      `${ENV.defaultTimeZone} must be an IANA time zone name such as Europe/Berlin (got ${raw})`,
    );
  }
  return zone;
};

/**
 * When the digests of subscribers who have not chosen go out: DIGEST_HOUR (default 7) and
 * DIGEST_WEEKDAY (0 = Sunday, default 1) in DEFAULT_TIME_ZONE (default UTC). Also what a choice
 * left out fills in.
 */
export const digestScheduleFromEnv = (env: NodeJS.ProcessEnv = process.env): DigestSchedule => ({
  hour: wholeNumber(ENV.digestHour, 7, 0, 23, env),
  weekday: wholeNumber(ENV.digestWeekday, 1, 0, 6, env),
  timeZone: timeZone(env),
});

/** DIGEST_SEND_RATE: messages per second one worker sends (default 10; SES's sandbox allows 1). */
export const digestSendRateFromEnv = (env: NodeJS.ProcessEnv = process.env): number =>
  wholeNumber(ENV.digestSendRate, 10, 1, 10_000, env);
