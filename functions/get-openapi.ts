import { httpApi, json, queryParams } from '../shared/http.js';
import { type OpenApiDocument, openApiDocument } from '../shared/openapi.js';

/** Clients and CloudFront may keep it a few minutes: it changes only with a deploy. */
const CACHE_CONTROL = 'public, max-age=300';

/** GET /api/openapi.json: the OpenAPI 3.1 document of the API, built once per cold start. */
export const makeHandler = (document: () => OpenApiDocument = openApiDocument) => {
  let built: OpenApiDocument | undefined;
  return httpApi(async (event) => {
    queryParams(event, []);
    built ??= document();
    return json(200, built, { 'cache-control': CACHE_CONTROL });
  });
};

export const handler = makeHandler();
