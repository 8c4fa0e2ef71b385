import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { type ApiKeyStore, makeApiKeyStore } from '../shared/adapters/api-keys.js';
import { createDocumentClient } from '../shared/adapters/dynamodb.js';
import { ENV, optionalEnv, requireEnv } from '../shared/config.js';
import { apiKeyIdOf, bearerToken, hashApiKey } from '../shared/domain/api-key.js';
import type { CallerContext } from '../shared/http.js';
import { lazy } from '../shared/services/deps.js';

export interface AuthorizerDeps {
  keys: ApiKeyStore;
}

const defaultDeps = (): AuthorizerDeps => ({
  keys: makeApiKeyStore(
    createDocumentClient({ endpoint: optionalEnv(ENV.dynamodbEndpoint) }),
    requireEnv(ENV.tableName),
  ),
});

export type AuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<CallerContext>;

/**
 * HTTP API Lambda authorizer (simple responses) for write routes: the bearer key's hash must
 * name a key that is not revoked. API Gateway answers 401 when the header is missing, 403 when
 * this says no.
 */
export const makeHandler = (deps: AuthorizerDeps | (() => AuthorizerDeps) = defaultDeps) => {
  const get = lazy(deps);
  return async (event: Pick<APIGatewayRequestAuthorizerEventV2, 'headers'>): Promise<AuthorizerResult> => {
    const token = bearerToken(event.headers?.authorization);
    const hash = token ? hashApiKey(token) : undefined;
    const record = hash ? await get().keys.findApiKey(hash) : undefined;
    return hash && record && !record.revoked
      ? { isAuthorized: true, context: { keyName: record.name, keyId: apiKeyIdOf(hash) } }
      : { isAuthorized: false, context: { keyName: '', keyId: '' } };
  };
};

export const handler = makeHandler();
