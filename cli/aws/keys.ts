import { randomBytes } from 'node:crypto';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { apiKeyIdOf, formatApiKey, hashApiKey } from '../../shared/domain/api-key.js';
import { apiKeyKey, PARTITION_PREFIX } from '../../shared/keys.js';
import type { ApiKeyInfo, CreatedApiKey, RevokedApiKey } from '../backend.js';
import { CliError } from '../errors.js';
import type { AwsContext } from './context.js';
import { scanTable } from './scan.js';

/** How long the API's authorizer keeps an answer (infra/constructs/api.ts: resultsCacheTtl). */
export const AUTHORIZER_CACHE_SECONDS = 300;

const NAME = /^[\p{L}\p{N} ._@-]{1,64}$/u;

type KeyRow = ApiKeyInfo & { hash: string };

/** Every key, by Scan of the APIKEY# items (a few, read by hand). */
const allKeys = async (ctx: AwsContext): Promise<KeyRow[]> => {
  const keys: KeyRow[] = [];
  await scanTable(
    ctx,
    {
      FilterExpression: 'begins_with(PK, :p)',
      ExpressionAttributeValues: { ':p': PARTITION_PREFIX.apiKey },
    },
    (items) => {
      for (const item of items) {
        const hash = String(item.PK).slice(PARTITION_PREFIX.apiKey.length);
        if (typeof item.name !== 'string') continue;
        keys.push({
          hash,
          name: item.name,
          id: apiKeyIdOf(hash),
          createdAt: typeof item.createdAt === 'string' ? item.createdAt : '',
          revoked: item.revoked === true,
        });
      }
    },
  );
  return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
};

const info = ({ hash: _hash, ...key }: KeyRow): ApiKeyInfo => key;

export const createKey = async (ctx: AwsContext, name: string): Promise<CreatedApiKey> => {
  if (!NAME.test(name)) {
    throw new CliError('--name must be 1 to 64 letters, digits, spaces, ".", "_", "@" or "-"', {
      usage: true,
    });
  }
  if ((await allKeys(ctx)).some((k) => k.name === name && !k.revoked)) {
    throw new CliError(`a key named ${name} exists: revoke it first or choose another name`);
  }
  const key = formatApiKey(randomBytes(32));
  const hash = hashApiKey(key);
  const createdAt = new Date(ctx.now()).toISOString();
  await ctx.clients.db.send(
    new PutCommand({
      TableName: ctx.outputs.get('TableName'),
      Item: { ...apiKeyKey(hash), type: 'apiKey', name, createdAt, revoked: false },
      ConditionExpression: 'attribute_not_exists(PK)',
    }),
  );
  return { key, name, id: apiKeyIdOf(hash), createdAt, revoked: false };
};

export const listKeys = async (ctx: AwsContext): Promise<ApiKeyInfo[]> => (await allKeys(ctx)).map(info);

export const revokeKey = async (ctx: AwsContext, nameOrId: string): Promise<RevokedApiKey> => {
  const keys = await allKeys(ctx);
  const byId = keys.filter((k) => k.id === nameOrId);
  const byName = keys.filter((k) => k.name === nameOrId);
  const matches =
    byId.length > 0
      ? byId
      : byName.filter((k) => !k.revoked).length > 0
        ? byName.filter((k) => !k.revoked)
        : byName;
  const [match, ...others] = matches;
  if (!match) throw new CliError(`no API key is named ${nameOrId} or has that id (see tidings keys list)`);
  if (others.length > 0) {
    throw new CliError(
      `${matches.length} keys are named ${nameOrId}: revoke one by id (${matches.map((k) => k.id).join(', ')})`,
    );
  }
  await ctx.clients.db.send(
    new UpdateCommand({
      TableName: ctx.outputs.get('TableName'),
      Key: apiKeyKey(match.hash),
      UpdateExpression: 'SET revoked = :t, revokedAt = if_not_exists(revokedAt, :at)',
      ConditionExpression: 'attribute_exists(PK)',
      ExpressionAttributeValues: { ':t': true, ':at': new Date(ctx.now()).toISOString() },
    }),
  );
  return { ...info(match), revoked: true, refusedWithinSeconds: AUTHORIZER_CACHE_SECONDS };
};
