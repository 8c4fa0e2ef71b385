import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { CliError } from '../errors.js';
import type { AwsContext } from './context.js';

/** The token secret's current value and version (the stack's TokenSecretArn output). */
export const readTokenSecret = async (
  ctx: AwsContext,
): Promise<{ raw: string; versionId?: string; createdAt?: Date }> => {
  const out = await ctx.clients.secrets.send(
    new GetSecretValueCommand({ SecretId: ctx.outputs.get('TokenSecretArn') }),
  );
  if (!out.SecretString)
    throw new CliError('the token secret holds no string: see docs/deploy.md, "Link keys"');
  return {
    raw: out.SecretString,
    ...(out.VersionId ? { versionId: out.VersionId } : {}),
    ...(out.CreatedDate ? { createdAt: out.CreatedDate } : {}),
  };
};
