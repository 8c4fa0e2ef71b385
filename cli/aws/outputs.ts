import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CliError } from '../errors.js';
import type { AwsClients } from './clients.js';

/**
 * The stack outputs the CLI reads (infra/tidings-stack.ts declares them). Outputs added with the
 * CLI are optional here: a stack deployed before them still answers the commands that do not need them.
 */
export const OUTPUT = {
  tableName: 'TableName',
  topicArn: 'TopicArn',
  siteUrl: 'SiteUrl',
  apiUrl: 'ApiUrl',
  publishFunction: 'PublishFunction',
  planDigestsFunction: 'PlanDigestsFunction',
  processChangesFunction: 'ProcessChangesFunction',
  feedbackFunction: 'FeedbackFunction',
  changeDeadLetterQueueUrl: 'ChangeDeadLetterQueueUrl',
  digestQueueUrl: 'DigestQueueUrl',
  digestDeadLetterQueueUrl: 'DigestDeadLetterQueueUrl',
  alertDeadLetterQueueUrl: 'AlertDeadLetterQueueUrl',
  feedbackDeadLetterQueueUrl: 'FeedbackDeadLetterQueueUrl',
  websubDeadLetterQueueUrl: 'WebSubDeadLetterQueueUrl',
  publishDeadLetterQueueUrl: 'PublishDeadLetterQueueUrl',
  tokenSecretArn: 'TokenSecretArn',
  fromAddress: 'FromAddress',
} as const;

export type OutputName = (typeof OUTPUT)[keyof typeof OUTPUT];

export interface StackOutputs {
  stack: string;
  region: string;
  /** The value of an output, or a CliError saying to deploy a version that has it. */
  get(name: OutputName): string;
  find(name: OutputName): string | undefined;
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredTokenException',
  'ExpiredToken',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
]);

/** Turns the AWS failures an operator fixes (credentials, permissions) into one-line CliErrors. */
export const operatorError = (error: unknown, what: string): unknown => {
  if (!(error instanceof Error) || error instanceof CliError) return error;
  if (CREDENTIAL_ERRORS.has(error.name)) {
    return new CliError(
      `${what}: no usable AWS credentials (${error.message.split('\n')[0]}); sign in (aws sso login, or set AWS_PROFILE / --profile)`,
      { cause: error },
    );
  }
  if (error.name === 'AccessDeniedException' || error.name === 'AccessDenied') {
    return new CliError(`${what}: your AWS identity may not do this (${error.message.split('\n')[0]})`, {
      cause: error,
    });
  }
  return error;
};

/** Reads the stack's outputs once: DescribeStacks. */
export const readOutputs = async (clients: AwsClients, stack: string): Promise<StackOutputs> => {
  let region: string;
  try {
    region = await clients.cloudFormation.config.region();
  } catch (error) {
    throw new CliError('no AWS region: pass --region or set AWS_REGION', { cause: error });
  }
  let values: Map<string, string>;
  try {
    const out = await clients.cloudFormation.send(new DescribeStacksCommand({ StackName: stack }));
    const found = out.Stacks?.[0];
    if (!found) throw new CliError(`no stack ${stack} in ${region}: check --stack, --region and --profile`);
    values = new Map(
      (found.Outputs ?? []).flatMap((o) =>
        o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue]] : [],
      ),
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      throw new CliError(`no stack ${stack} in ${region}: check --stack, --region and --profile`, {
        cause: error,
      });
    }
    throw operatorError(error, `reading stack ${stack}`);
  }
  return {
    stack,
    region,
    find: (name) => values.get(name),
    get(name) {
      const value = values.get(name);
      if (value === undefined) {
        throw new CliError(
          `stack ${stack} has no output ${name}: deploy this version of Tidings to it (npx cdk deploy)`,
        );
      }
      return value;
    },
  };
};
