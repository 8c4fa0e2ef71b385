import middy from '@middy/core';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import type { ObjectStore } from '../shared/adapters/object-store.js';
import { createS3Client, makeS3ObjectStore } from '../shared/adapters/s3.js';
import { ENV, requireEnv } from '../shared/config.js';
import { NOT_FOUND_PAGE } from '../shared/domain/site.js';
import { BUILT_IN_NOT_FOUND_PAGE } from '../shared/render/not-found.js';
import { lazy } from '../shared/services/deps.js';

export interface NotFoundDeps {
  /** The site bucket, where the publisher writes the site's 404 page. */
  objects: Pick<ObjectStore, 'get'>;
}

const bucketDeps = (): NotFoundDeps => ({
  objects: makeS3ObjectStore(createS3Client(), requireEnv(ENV.siteBucket)),
});

/** As long as CloudFront keeps the answer for one address: a page's own time (shared/adapters/s3.ts). */
const CACHE_CONTROL = 'public, max-age=60, must-revalidate';

/**
 * The site's 404 page with status 404, for whatever path: CloudFront asks here when the bucket has
 * no object for a page of the site (the site behaviour's failover origin), so the API's own
 * errors are never replaced. Until the first publish writes the page, a bare built-in one.
 */
export const makeHandler = (deps: NotFoundDeps | (() => NotFoundDeps) = bucketDeps) => {
  const get = lazy(deps);
  return middy<LambdaFunctionURLEvent, LambdaFunctionURLResult>().handler(async () => {
    const page = await get().objects.get(NOT_FOUND_PAGE);
    return {
      statusCode: 404,
      headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': CACHE_CONTROL },
      body: page ? Buffer.from(page).toString('utf8') : BUILT_IN_NOT_FOUND_PAGE,
    };
  });
};

export const handler = makeHandler();
