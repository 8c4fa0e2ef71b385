import type { Backend } from '../backend.js';
import { CliError } from '../errors.js';

export interface AwsTargetOptions {
  /** The CloudFormation stack's name. */
  stack: string;
  region?: string;
  profile?: string;
}

/**
 * The Backend of a deployed stack: its outputs read with CloudFormation, the caller's AWS
 * credentials. (Being built: until then every command refuses a deployed stack in one line.)
 */
export const createAwsBackend = async (options: AwsTargetOptions): Promise<Backend> => {
  throw new CliError(`--stack ${options.stack}: commands against a deployed stack are not available yet`);
};
