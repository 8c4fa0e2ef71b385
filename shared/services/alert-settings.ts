import { ENV, optionalEnv } from '../config.js';
import { type AlertSettings, DEFAULT_ALERT_SETTINGS, isTimeZone } from '../domain/alerts.js';

const wholeNumber = (name: string, fallback: number, min: number, max: number, env: NodeJS.ProcessEnv) => {
  const raw = optionalEnv(name, env);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max} (got ${raw})`);
  }
  return value;
};

/**
 * The alert rules' settings: ALERT_COALESCE_MINUTES (default 10), ALERT_DAILY_CAP (default 12),
 * DEFAULT_TIME_ZONE (default UTC). The stack validates them at synth (infra/config.ts) as well.
 */
export const alertSettingsFromEnv = (env: NodeJS.ProcessEnv = process.env): AlertSettings => {
  const zone = optionalEnv(ENV.defaultTimeZone, env) ?? DEFAULT_ALERT_SETTINGS.defaultTimeZone;
  if (!isTimeZone(zone)) throw new Error(`${ENV.defaultTimeZone} must be an IANA time zone (got ${zone})`);
  return {
    ...DEFAULT_ALERT_SETTINGS,
    coalesceMs: wholeNumber(ENV.alertCoalesceMinutes, 10, 1, 24 * 60, env) * 60_000,
    dailyCap: wholeNumber(ENV.alertDailyCap, 12, 1, 1000, env),
    defaultTimeZone: zone,
  };
};
