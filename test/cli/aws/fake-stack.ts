import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsBackend } from '../../../cli/aws/backend.js';
import type { Backend, Progress } from '../../../cli/backend.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';

export const STACK = 'TidingsProd';
export const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
export const T0 = Date.UTC(2026, 11, 6, 4, 0, 0);

/** The stack's outputs, as CloudFormation lists them (infra/tidings-stack.ts). */
export const outputsOf = (tableName: string): Record<string, string> => ({
  TableName: tableName,
  TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:TidingsProd-ChangeTopic`,
  SiteUrl: 'https://d111111abcdef8.cloudfront.net',
  ApiUrl: 'https://d111111abcdef8.cloudfront.net/api',
  PublishFunction: 'TidingsProd-PublisherPublishSite-AbC',
  PlanDigestsFunction: 'TidingsProd-DigestsPlanDigests-DeF',
  ProcessChangesFunction: 'TidingsProd-ChangesProcessChanges-GhI',
  FeedbackFunction: 'TidingsProd-MailHandleEmailFeedback-JkL',
  ChangeDeadLetterQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/TidingsProd-ChangesDeadLetters`,
  DigestQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/TidingsProd-DigestsWork`,
  DigestDeadLetterQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/TidingsProd-DigestsDeadLetters`,
  AlertDeadLetterQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/TidingsProd-AlertsDeadLetters`,
  FeedbackDeadLetterQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/TidingsProd-MailFeedbackDeadLetters`,
  WebSubDeadLetterQueueUrl: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/TidingsProd-WebSubDeadLetters`,
  TokenSecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:MailTokenSecret-AbCdEf`,
  FromAddress: 'news@example.org',
});

/** The faked services (every client of each class answers through its mock). */
export const fakes = () => ({
  cloudFormation: mockClient(CloudFormationClient),
  cloudWatch: mockClient(CloudWatchClient),
  lambda: mockClient(LambdaClient),
  secrets: mockClient(SecretsManagerClient),
  ses: mockClient(SESv2Client),
  sns: mockClient(SNSClient),
  sqs: mockClient(SQSClient),
});
export type Fakes = ReturnType<typeof fakes>;

export const describeStackAnswer = (outputs: Record<string, string>) => ({
  Stacks: [
    {
      StackName: STACK,
      CreationTime: new Date(T0 - 86_400_000),
      StackStatus: 'UPDATE_COMPLETE' as const,
      Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
    },
  ],
});

/** A progress that remembers what it was told. */
export const recordingProgress = () => {
  const seen: { started?: [number, string]; updates: number[]; stopped: boolean } = {
    updates: [],
    stopped: false,
  };
  const progress: Progress = {
    start: (total, label) => {
      seen.started = [total, label];
    },
    update: (done) => {
      seen.updates.push(done);
    },
    stop: () => {
      seen.stopped = true;
    },
  };
  return { progress, seen };
};

export interface FakeStack {
  fakes: Fakes;
  table: TestTable;
  backend: Backend;
  clock: { now: number };
  slept: number[];
  close(): Promise<void>;
}

/**
 * A deployed stack whose table is a real one (dynalite) and whose other services are SDK fakes
 * answering as the SDK's types say; the backend under test reads its outputs with DescribeStacks.
 */
export const fakeStack = async (
  extraOutputs: (tableName: string) => Record<string, string | undefined> = () => ({}),
): Promise<FakeStack> => {
  const table = await startTestTable();
  const f = fakes();
  const outputs = Object.fromEntries(
    Object.entries({ ...outputsOf(table.tableName), ...extraOutputs(table.tableName) }).filter(
      (e): e is [string, string] => e[1] !== undefined,
    ),
  );
  f.cloudFormation.on(DescribeStacksCommand, { StackName: STACK }).resolves(describeStackAnswer(outputs));
  const clock = { now: T0 };
  const slept: number[] = [];
  const backend = await createAwsBackend({
    stack: STACK,
    region: REGION,
    dynamodbEndpoint: table.dynamo.endpoint,
    now: () => clock.now,
    sleep: async (ms) => {
      slept.push(ms);
      clock.now += ms;
    },
  });
  return {
    fakes: f,
    table,
    backend,
    clock,
    slept,
    async close() {
      await backend.close();
      for (const fake of Object.values(f)) fake.restore();
      await table.close();
    },
  };
};
