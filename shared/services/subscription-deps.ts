import { createDocumentClient } from '../adapters/dynamodb.js';
import { createSesClient, makeSesMailer } from '../adapters/ses-mailer.js';
import { makeSignupLimits } from '../adapters/signup-limits.js';
import { makeSubscriptionStore } from '../adapters/subscription-store.js';
import { createSecretsClient, secretsManagerTokenSecret } from '../adapters/token-secret.js';
import { ENV, optionalEnv, requireEnv, siteConfigFromEnv } from '../config.js';
import { emfMetrics } from '../metrics.js';
import type { SignupDeps } from './subscriptions.js';

/**
 * CONFIRMATIONS_PER_HOUR as a whole number of at least 1. Required in AWS (the stack sets it);
 * the local runtime passes its default as `fallback`.
 */
export const confirmationsPerHourFromEnv = (
  env: NodeJS.ProcessEnv = process.env,
  fallback?: number,
): number => {
  const raw =
    fallback === undefined
      ? requireEnv(ENV.confirmationsPerHour, env)
      : optionalEnv(ENV.confirmationsPerHour, env);
  const value = raw === undefined ? fallback : Number(raw);
  if (value === undefined || !Number.isInteger(value) || value < 1) {
    throw new Error(`${ENV.confirmationsPerHour} must be a whole number of at least 1 (got ${raw})`);
  }
  return value;
};

let cached: SignupDeps | undefined;

/** The sign-up function's wiring: the table, the token secret, SES, the limits and the site's settings. */
export const subscriptionDeps = (): SignupDeps => {
  if (!cached) {
    const db = createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) });
    const tableName = requireEnv(ENV.tableName);
    const tokenSecret = secretsManagerTokenSecret(createSecretsClient(), requireEnv(ENV.tokenSecretArn));
    cached = {
      store: makeSubscriptionStore(db, tableName),
      tokenSecret,
      mailer: makeSesMailer(createSesClient(), { configurationSet: requireEnv(ENV.sesConfigurationSet) }),
      site: siteConfigFromEnv(),
      from: requireEnv(ENV.fromAddress),
      now: () => new Date().toISOString(),
      limits: makeSignupLimits(db, tableName, tokenSecret),
      metrics: emfMetrics,
      confirmationsPerHour: confirmationsPerHourFromEnv(),
    };
  }
  return cached;
};
