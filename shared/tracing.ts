import type { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * Powertools Tracer, only when the function is deployed with tracing (the `tracing` setting):
 * TIDINGS_TRACING (`ENV.tracing`, written out so the bundler can replace it) is fixed in the bundle when it is built (infra/constructs/tidings-function.ts),
 * so without tracing this import is dead code the bundle does not hold, and nothing of the tracer
 * runs. Loaded before any handler or client exists (top-level await); the service is
 * POWERTOOLS_SERVICE_NAME, as for the logger and metrics.
 */
const tracer: Tracer | undefined =
  process.env.TIDINGS_TRACING === 'active'
    ? new (await import('@aws-lambda-powertools/tracer')).Tracer()
    : undefined;

/** Whether this function traces (for tests and logs). */
export const tracingActive = (): boolean => tracer?.isTracingEnabled() ?? false;

/** An AWS SDK client whose requests are X-Ray subsegments when tracing is on; as given otherwise. */
export const traced = <T>(client: T): T => (tracer ? tracer.captureAWSv3Client(client) : client);
