import { sleep } from '../../shared/adapters/items.js';
import type { Backend } from '../backend.js';
import { createAwsClients } from './clients.js';
import type { AwsContext } from './context.js';
import { digest } from './digest.js';
import { createKey, listKeys, revokeKey } from './keys.js';
import { rotateLinks } from './links.js';
import { OUTPUT, operatorError, readOutputs } from './outputs.js';
import { publish } from './publish.js';
import { redrive } from './redrive.js';
import { status } from './status.js';
import { countSubscribers, exportSubscribers, forgetSubscriber } from './subscribers.js';
import { deleteWebhook, listWebhooks } from './webhooks.js';
import { websubView } from './websub.js';

export interface AwsTargetOptions {
  /** The CloudFormation stack's name. */
  stack: string;
  region?: string;
  profile?: string;
  /** Tests only: the table in dynalite. */
  dynamodbEndpoint?: string;
  /** Tests: a fixed clock and no real waits. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The Backend of a deployed stack: its outputs read once with CloudFormation, one SDK client per
 * service with the caller's region, profile and credentials. Credential and permission failures
 * of any command become one-line CliErrors.
 */
export const createAwsBackend = async (options: AwsTargetOptions): Promise<Backend> => {
  const clients = createAwsClients(options);
  let ctx: AwsContext;
  try {
    ctx = {
      clients,
      outputs: await readOutputs(clients, options.stack),
      now: options.now ?? Date.now,
      sleep: options.sleep ?? sleep,
    };
  } catch (error) {
    clients.destroy();
    throw error;
  }
  const guard =
    <A extends unknown[], R>(what: string, run: (ctx: AwsContext, ...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await run(ctx, ...args);
      } catch (error) {
        throw operatorError(error, what);
      }
    };
  return {
    keys: {
      create: guard('keys create', createKey),
      list: guard('keys list', listKeys),
      revoke: guard('keys revoke', revokeKey),
    },
    publish: guard('publish', publish),
    digest: guard('digest', digest),
    status: guard('status', status),
    redrive: guard('redrive', redrive),
    subscribers: {
      count: guard('subscribers count', countSubscribers),
      export: guard('subscribers export', exportSubscribers),
      forget: guard('subscribers forget', forgetSubscriber),
    },
    webhooks: {
      list: guard('webhooks list', listWebhooks),
      delete: guard('webhooks delete', deleteWebhook),
    },
    websub: { view: guard('websub list', websubView) },
    links: { rotate: guard('links rotate', rotateLinks) },
    // Import writes through the public API, like an integrator: the stack's own URL for it.
    apiUrl: async () => ctx.outputs.get(OUTPUT.apiUrl),
    async close() {
      clients.destroy();
    },
  };
};
