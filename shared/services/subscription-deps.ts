import { createDocumentClient } from '../adapters/dynamodb.js';
import { createSesClient, makeSesMailer } from '../adapters/ses-mailer.js';
import { makeSignupLimits } from '../adapters/signup-limits.js';
import { makeSubscriptionStore } from '../adapters/subscription-store.js';
import {
  createSecretsClient,
  secretsManagerString,
  secretsManagerTokenSecret,
} from '../adapters/token-secret.js';
import { ENV, optionalEnv, requireEnv, siteConfigFromEnv } from '../config.js';
import { emfMetrics } from '../metrics.js';
import { digestScheduleFromEnv } from './digest-settings.js';
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

/**
 * Sign-up as a function behind CloudFront: besides the rest, the secret CloudFront sends the API
 * to prove a request came through it. Without one (the local runtime) no request proves it, and
 * every sign-up is counted against its source address.
 */
export interface SignupFunctionDeps extends SignupDeps {
  originSecret?: () => Promise<string>;
}

let cached: SignupFunctionDeps | undefined;

/**
 * The sign-up function's wiring: the table, the token and origin secrets, SES, the limits and the
 * site's settings.
 */
export const subscriptionDeps = (): SignupFunctionDeps => {
  if (!cached) {
    const db = createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) });
    const tableName = requireEnv(ENV.tableName);
    const secrets = createSecretsClient();
    const tokenSecret = secretsManagerTokenSecret(secrets, requireEnv(ENV.tokenSecretArn));
    cached = {
      store: makeSubscriptionStore(db, tableName),
      tokenSecret,
      mailer: makeSesMailer(createSesClient(), { configurationSet: requireEnv(ENV.sesConfigurationSet) }),
      site: siteConfigFromEnv(),
      from: requireEnv(ENV.fromAddress),
      now: () => new Date().toISOString(),
      delivery: digestScheduleFromEnv(),
      limits: makeSignupLimits(db, tableName, tokenSecret),
      metrics: emfMetrics,
      confirmationsPerHour: confirmationsPerHourFromEnv(),
      // Read once per container, as the token secret; both ends change only with a deploy.
      originSecret: secretsManagerString(secrets, requireEnv(ENV.originSecretArn)),
    };
  }
  return cached;
};
