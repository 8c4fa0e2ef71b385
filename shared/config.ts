/** Environment variable names, imported by the CDK constructs and by the runtime. */
export const ENV = {
  tableName: 'TABLE_NAME',
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  siteUrl: 'SITE_URL',
  topicArn: 'TOPIC_ARN',
} as const;

export class MissingSettingError extends Error {
  constructor(name: string) {
    super(`environment variable ${name} is not set`);
    this.name = 'MissingSettingError';
  }
}

/** Reads a required setting; throws on first use when it is missing rather than running half-configured. */
export const requireEnv = (name: string, env: NodeJS.ProcessEnv = process.env): string => {
  const value = env[name];
  if (value === undefined || value === '') throw new MissingSettingError(name);
  return value;
};

export const optionalEnv = (name: string, env: NodeJS.ProcessEnv = process.env): string | undefined => {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
};
