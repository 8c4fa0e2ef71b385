import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsBackend } from '../../../cli/aws/backend.js';
import { OUTPUT } from '../../../cli/aws/outputs.js';
import { CliError } from '../../../cli/errors.js';
import { synthTidings } from '../../helpers/synth.js';
import { describeStackAnswer, outputsOf, REGION, STACK } from './fake-stack.js';

const cfn = mockClient(CloudFormationClient);
afterEach(() => cfn.reset());

const failure = async (run: () => Promise<unknown>): Promise<CliError> => {
  try {
    await run();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('it did not fail');
};

describe('--stack NAME', () => {
  it('reads the stack outputs with DescribeStacks, once', async () => {
    cfn.on(DescribeStacksCommand).resolves(describeStackAnswer(outputsOf('events')));
    const backend = await createAwsBackend({ stack: STACK, region: REGION });
    await backend.close();
    expect(cfn.commandCalls(DescribeStacksCommand).map((c) => c.args[0].input)).toEqual([
      { StackName: STACK },
    ]);
  });

  it("gives import the stack's API URL (its ApiUrl output)", async () => {
    cfn.on(DescribeStacksCommand).resolves(describeStackAnswer(outputsOf('events')));
    const backend = await createAwsBackend({ stack: STACK, region: REGION });
    expect(await backend.apiUrl?.()).toBe('https://d111111abcdef8.cloudfront.net/api');
    await backend.close();
  });

  it('says in one line that a missing stack is missing, naming stack and region', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: `Stack with id ${STACK} does not exist`,
      }),
    );
    const error = await failure(() => createAwsBackend({ stack: STACK, region: REGION }));
    expect(error.message).toBe(`no stack ${STACK} in ${REGION}: check --stack, --region and --profile`);
    expect(error.exitCode).toBe(1);
  });

  it('says what to do when there are no credentials', async () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    cfn.on(DescribeStacksCommand).rejects(missing);
    const error = await failure(() => createAwsBackend({ stack: STACK, region: REGION }));
    expect(error.message).toMatch(/^reading stack TidingsProd: no usable AWS credentials .*--profile\)$/);
    expect(error.message).not.toContain('\n');
  });

  it('names the output a command needs when the deployed stack is older than the CLI', async () => {
    const { PlanDigestsFunction: _gone, ...older } = outputsOf('events');
    cfn.on(DescribeStacksCommand).resolves(describeStackAnswer(older));
    const backend = await createAwsBackend({ stack: STACK, region: REGION });
    const error = await failure(() =>
      backend.digest({ now: true, cadence: 'daily' }, { start() {}, update() {}, stop() {} }),
    );
    expect(error.message).toBe(
      `stack ${STACK} has no output PlanDigestsFunction: deploy this version of Tidings to it (npx cdk deploy)`,
    );
    await backend.close();
  });
});

describe('the stack', () => {
  it('declares every output the CLI reads', () => {
    const outputs = synthTidings().template.toJSON().Outputs as Record<string, unknown>;
    const missing = Object.values(OUTPUT).filter((name) => !(name in outputs));
    expect(missing).toEqual([]);
  });
});
