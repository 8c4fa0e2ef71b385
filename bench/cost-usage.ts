/**
 * What the cost benchmark's counting wrappers record, and how a unit of work's counts become
 * priced quantities (bench/prices.ts). Kept apart from bench/cost.ts, which synthesizes the stack,
 * so the arithmetic is tested without loading the CDK.
 */
import { GB, type Usage } from './cost-model.js';
import type { DynamoCounts } from './counting-dynamo.js';

/**
 * Log bytes written beside the functions' own lines (estimates, said so in docs/costs.md): Lambda's
 * START, END and REPORT records (JSON log format) per invocation, and the HTTP API's access log
 * line per request.
 */
export const PLATFORM_LOG_BYTES = 600;
export const API_ACCESS_LOG_BYTES = 400;

/** What the counting wrappers saw. */
export interface Counters {
  lambda: Record<string, { invocations: number; ms: number }>;
  apiRequests: number;
  snsRequests: number;
  emails: number;
  emailBytes: number;
  s3Put: number;
  s3Head: number;
  s3Get: number;
  s3Delete: number;
  sqsRequests: number;
  secretCalls: number;
  logBytes: number;
}

export const emptyCounters = (): Counters => ({
  lambda: {},
  apiRequests: 0,
  snsRequests: 0,
  emails: 0,
  emailBytes: 0,
  s3Put: 0,
  s3Head: 0,
  s3Get: 0,
  s3Delete: 0,
  sqsRequests: 0,
  secretCalls: 0,
  logBytes: 0,
});

/** What a unit of work did: counts straight from the wrappers, before pricing. */
export interface Measured {
  dynamo: DynamoCounts;
  counters: Counters;
}

export const diffCounters = (a: Counters, b: Counters): Counters => {
  const lambda: Counters['lambda'] = {};
  for (const [fn, x] of Object.entries(a.lambda)) {
    const y = b.lambda[fn] ?? { invocations: 0, ms: 0 };
    if (x.invocations !== y.invocations)
      lambda[fn] = { invocations: x.invocations - y.invocations, ms: x.ms - y.ms };
  }
  const out = { ...a, lambda };
  for (const key of Object.keys(a) as (keyof Counters)[]) {
    if (key !== 'lambda') (out[key] as number) = (a[key] as number) - (b[key] as number);
  }
  return out;
};

export interface StackFacts {
  memoryMb: Record<string, number>;
  alarms: number;
  alarmMetrics: number;
  dashboards: number;
  secrets: number;
  kmsKeys: number;
  sqsPollers: number;
  digestBatchSize: number;
  logRetentionDays: number[];
  cloudfrontFunctions: number;
  customMetrics: number;
}

/**
 * A function's memory (MB) in the template, found by its file name: logical ids carry the
 * construct's name first (`publisher-publish-site` for `publish-site`).
 */
export const memoryOf = (template: Pick<StackFacts, 'memoryMb'>, fn: string): number => {
  const found = Object.entries(template.memoryMb).find(([id]) => id === fn || id.endsWith(`-${fn}`));
  if (!found) throw new Error(`the template has no function ${fn}`);
  return found[1];
};

/** Priced quantities of what a unit of work did. */
export const usageOf = (m: Measured, template: Pick<StackFacts, 'memoryMb'>): Usage => {
  const c = m.counters;
  let invocations = 0;
  let gbSeconds = 0;
  for (const [fn, x] of Object.entries(c.lambda)) {
    invocations += x.invocations;
    gbSeconds += ((x.ms / 1000) * memoryOf(template, fn)) / 1024;
  }
  const logBytes = c.logBytes + invocations * PLATFORM_LOG_BYTES + c.apiRequests * API_ACCESS_LOG_BYTES;
  return {
    dynamoWrite: m.dynamo.tableWriteUnits + m.dynamo.indexWriteUnits,
    dynamoRead: m.dynamo.readUnits,
    lambdaRequests: invocations,
    lambdaArmGbSeconds: gbSeconds,
    apiRequests: c.apiRequests,
    snsPublishes: c.snsRequests,
    sesEmails: c.emails,
    sqsRequests: c.sqsRequests,
    s3Put: c.s3Put,
    s3Get: c.s3Get + c.s3Head,
    secretCalls: c.secretCalls,
    logsIngestion: logBytes / GB,
  };
};

export const scaleMeasured = (m: Measured, by: number): Measured => {
  const dynamo = structuredClone(m.dynamo);
  for (const k of Object.keys(dynamo.requests)) dynamo.requests[k] = (dynamo.requests[k] ?? 0) / by;
  dynamo.readUnits /= by;
  dynamo.tableWriteUnits /= by;
  dynamo.indexWriteUnits /= by;
  dynamo.conditionalFailures /= by;
  const counters = structuredClone(m.counters);
  for (const x of Object.values(counters.lambda)) {
    x.invocations /= by;
    x.ms /= by;
  }
  for (const key of Object.keys(counters) as (keyof Counters)[]) {
    if (key !== 'lambda') (counters[key] as number) /= by;
  }
  return { dynamo, counters };
};
