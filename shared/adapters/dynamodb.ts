import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoSettings {
  /** Set for the local runtime and tests (dynalite); unset in AWS. */
  endpoint?: string;
  region?: string;
}

/** One document client per cold start; handlers receive it through their deps. */
export const createDocumentClient = (settings: DynamoSettings = {}): DynamoDBDocumentClient => {
  const client = new DynamoDBClient(
    settings.endpoint
      ? {
          endpoint: settings.endpoint,
          region: settings.region ?? 'local',
          // dynalite accepts any credentials; the SDK insists on having some.
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          maxAttempts: 5,
        }
      : { region: settings.region },
  );
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
};
