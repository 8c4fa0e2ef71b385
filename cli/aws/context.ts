import type { AwsClients } from './clients.js';
import type { StackOutputs } from './outputs.js';

/** What every command against a deployed stack works with. */
export interface AwsContext {
  clients: AwsClients;
  outputs: StackOutputs;
  /** The wall clock and waits, injected so tests need not wait. */
  now(): number;
  sleep(ms: number): Promise<void>;
}
