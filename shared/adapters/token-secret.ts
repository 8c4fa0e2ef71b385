import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The secret that signs subscriber links and derives subscriber ids. Secrets Manager in AWS; a
 * file in the data folder locally. It must never change once subscribers exist: their ids are
 * HMACs under it, so a new secret orphans every record and voids every link sent.
 */
export type TokenSecret = () => Promise<string>;

/** Shorter secrets are refused: an HMAC key should carry at least 256 bits. */
export const MIN_SECRET_LENGTH = 32;

/** The one call the provider makes; a `SecretsManagerClient` fits, and so does a test's fake. */
export interface SecretsClient {
  send(command: GetSecretValueCommand): Promise<{ SecretString?: string }>;
}

export const createSecretsClient = (): SecretsManagerClient => new SecretsManagerClient({});

/**
 * Reads the secret's string once per container and keeps it; a failed read is not kept, so the
 * next request tries again.
 */
export const secretsManagerTokenSecret = (client: SecretsClient, secretId: string): TokenSecret => {
  let cached: Promise<string> | undefined;
  return () => {
    cached ??= client.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
      const secret = out.SecretString ?? '';
      if (secret.length < MIN_SECRET_LENGTH) {
        throw new Error(`secret ${secretId} must be a string of at least ${MIN_SECRET_LENGTH} characters`);
      }
      return secret;
    });
    cached.catch(() => {
      cached = undefined;
    });
    return cached;
  };
};

/** A fixed secret (the local runtime's file, tests). */
export const staticTokenSecret = (secret: string): TokenSecret => {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`the token secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return () => Promise.resolve(secret);
};
