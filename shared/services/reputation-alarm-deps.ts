import { makeControlStore } from '../adapters/control-store.js';
import { createDocumentClient } from '../adapters/dynamodb.js';
import { ENV, optionalEnv, requireEnv } from '../config.js';
import type { ReputationAlarmDeps } from './reputation-alarm.js';

let cached: ReputationAlarmDeps | undefined;

/** The reputation alarm handler's wiring: the table, nothing else. */
export const reputationAlarmDeps = (): ReputationAlarmDeps => {
  cached ??= {
    control: makeControlStore(
      createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) }),
      requireEnv(ENV.tableName),
    ),
  };
  return cached;
};
