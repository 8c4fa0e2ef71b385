import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (an esbuild alias in
 * infra/constructs/tidings-function.ts). Lambda always hands a function its role's credentials in
 * the environment, so the SDK's full chain (SSO, INI files, process, web identity, IMDS, each with
 * its own clients) is dead weight there: about 115 KB of every bundle and of every cold start.
 */
export const defaultProvider = (_init?: unknown) => fromEnv();
