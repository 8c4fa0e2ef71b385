/**
 * Stands in for `@aws-sdk/credential-provider-node` in function bundles. Lambda always hands a
 * function its role's credentials in environment variables, the first link of the SDK's default
 * chain; the other links (SSO, profiles, web identity, container and instance metadata) and the
 * STS and SSO clients they bring are about 90 KB of every bundle that Lambda never runs.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
