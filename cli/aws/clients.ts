import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The SDK clients one CLI run uses, each created once with the caller's region and profile. */
export interface AwsClients {
  cloudFormation: CloudFormationClient;
  cloudWatch: CloudWatchClient;
  db: DynamoDBDocumentClient;
  /** The low-level client under `db`, for table-level calls (DescribeTable). */
  dynamo: DynamoDBClient;
  lambda: LambdaClient;
  secrets: SecretsManagerClient;
  ses: SESv2Client;
  sns: SNSClient;
  sqs: SQSClient;
  destroy(): void;
}

export interface ClientOptions {
  region?: string;
  profile?: string;
  /** Tests only: the table lives in dynalite at this endpoint (every other service is faked). */
  dynamodbEndpoint?: string;
}

export const createAwsClients = (options: ClientOptions): AwsClients => {
  // Unset fields are left out: the SDK then takes them from AWS_REGION, AWS_PROFILE and ~/.aws.
  const config = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  const low = new DynamoDBClient(
    options.dynamodbEndpoint
      ? {
          ...config,
          endpoint: options.dynamodbEndpoint,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : config,
  );
  const clients = {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    db: DynamoDBDocumentClient.from(low, { marshallOptions: { removeUndefinedValues: true } }),
    lambda: new LambdaClient(config),
    secrets: new SecretsManagerClient(config),
    ses: new SESv2Client(config),
    sns: new SNSClient(config),
    sqs: new SQSClient(config),
  };
  return {
    ...clients,
    dynamo: low,
    destroy() {
      for (const client of Object.values(clients)) client.destroy();
      low.destroy();
    },
  };
};
