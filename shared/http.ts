import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  bounded,
  ExposedError,
  MalformedBodyError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors.js';
import { logger } from './logger.js';

export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2;
export type ApiHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** What the authorizer says of the caller of a write route (API Gateway's `authorizer.lambda`). */
export interface CallerContext {
  /** The key's name, as the operator gave it. */
  keyName: string;
  /** `apiKeyIdOf(hash)`: stable, not secret. */
  keyId: string;
}

/** The caller of a write route, or undefined on a public route (no authorizer ran). */
export const callerOf = (event: ApiEvent): CallerContext | undefined => {
  const lambda = (event.requestContext as { authorizer?: { lambda?: Record<string, unknown> } }).authorizer
    ?.lambda;
  const keyName = lambda?.keyName;
  const keyId = lambda?.keyId;
  return typeof keyName === 'string' && typeof keyId === 'string' && keyId !== ''
    ? { keyName, keyId }
    : undefined;
};

/** Request bodies above this are refused with 413 before parsing. */
export const MAX_BODY_BYTES = 256 * 1024;

const JSON_TYPE = 'application/json; charset=utf-8';

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResult => ({
  statusCode,
  headers: { 'content-type': JSON_TYPE, ...headers },
  body: JSON.stringify(body),
});

/**
 * Longest error message answered: messages may quote input, and no answer may grow with bad input
 * (a validation error's own message is already bounded by its issues).
 */
export const MAX_ERROR_MESSAGE = 8 * 1024;

const errorBody = (error: ExposedError) => ({
  error: {
    code: error.code,
    message: bounded(error.message, MAX_ERROR_MESSAGE),
    ...(error instanceof ValidationError
      ? { issues: error.issues, ...(error.moreIssues > 0 ? { moreIssues: error.moreIssues } : {}) }
      : {}),
  },
});

/** Renders an exposed error as an HTML page for callers that want pages (see `wantsHtml`). */
export type ErrorPage = (error: ExposedError) => string;

/**
 * Exposed errors become their 4xx with a specific message; anything else is logged with its
 * context and answered with a generic 500 that names the request id, never the error itself.
 */
const errorResponses = (errorPage?: ErrorPage): MiddlewareObj<ApiEvent, ApiResult> => ({
  onError: async (request) => {
    const { error } = request;
    if (error instanceof ExposedError) {
      request.response =
        errorPage && wantsHtml(request.event)
          ? html(error.statusCode, errorPage(error))
          : json(error.statusCode, errorBody(error));
      return;
    }
    const requestId = request.context.awsRequestId;
    logger.error('request failed', {
      error: error as Error,
      requestId,
      route: request.event.routeKey,
      path: request.event.rawPath,
    });
    request.response = json(500, {
      error: { code: 'internal', message: `internal error; quote request id ${requestId} when reporting it` },
    });
  },
});

const CALLER_KEYS = ['keyName', 'keyId'];

/**
 * Attribution in the application logs: every line a request with an API key logs names the key,
 * and each such request (every write, accepted or refused) logs one line with its route and
 * status. Public routes have no caller and log nothing here. The keys are cleared first: a warm
 * function serves many callers.
 */
const callerLogging = (): MiddlewareObj<ApiEvent, ApiResult> => {
  const logWrite = (request: { event: ApiEvent; response: ApiResult | null }): void => {
    if (!callerOf(request.event)) return;
    logger.info('authorized request', {
      route: request.event.routeKey,
      path: request.event.rawPath,
      status: request.response?.statusCode,
      ...(request.response?.headers?.location ? { location: request.response.headers.location } : {}),
    });
  };
  return {
    before: (request) => {
      logger.removeKeys(CALLER_KEYS);
      const caller = callerOf(request.event);
      if (caller) logger.appendKeys({ keyName: caller.keyName, keyId: caller.keyId });
    },
    after: logWrite,
    onError: logWrite,
  };
};

/**
 * The middy stack every API function shares. With `errorPage`, callers that want HTML (a form
 * post, a browser following a link) get their 4xx as a page.
 */
export const httpApi = (fn: ApiHandler, options: { errorPage?: ErrorPage } = {}) =>
  middy<ApiEvent, ApiResult>()
    .use(httpHeaderNormalizer())
    // Before the error responses, so its onError runs after them and sees the status they set.
    .use(callerLogging())
    .use(errorResponses(options.errorPage))
    .handler(fn);

/** Pages answered to browsers: never cached, never indexed, no referrer (their URLs carry tokens). */
const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-robots-tag': 'noindex',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
};

export const html = (statusCode: number, body: string, headers: Record<string, string> = {}): ApiResult => ({
  statusCode,
  headers: { ...HTML_HEADERS, ...headers },
  body,
});

const FORM_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data'];

const mediaType = (event: ApiEvent): string =>
  (event.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/**
 * Whether to answer with a page: a form post does, a JSON body does not, and otherwise the
 * `Accept` header decides (browsers ask for text/html; API clients and curl do not).
 */
export const wantsHtml = (event: ApiEvent): boolean => {
  const type = mediaType(event);
  if (FORM_TYPES.includes(type)) return true;
  if (type !== '') return false;
  return /\btext\/html\b/i.test(event.headers.accept ?? '');
};

/** Whether the body is a form (`application/x-www-form-urlencoded` or `multipart/form-data`). */
export const isFormBody = (event: ApiEvent): boolean => FORM_TYPES.includes(mediaType(event));

/** Parses a form body (both encodings browsers and mail providers use): 415, 413 and 400 say what was wrong. */
export const formBody = async (event: ApiEvent): Promise<FormData> => {
  const contentType = event.headers['content-type'];
  if (!isFormBody(event)) {
    throw new UnsupportedMediaTypeError(
      `content-type: must be application/x-www-form-urlencoded or multipart/form-data (got ${(contentType ?? 'none').slice(0, 100)})`,
    );
  }
  const raw = event.body ?? '';
  const bytes = Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`body: must be at most ${MAX_BODY_BYTES} bytes (got ${bytes.length})`);
  }
  try {
    return await new Response(bytes, { headers: { 'content-type': contentType ?? '' } }).formData();
  } catch (error) {
    throw new MalformedBodyError(`body: is not a valid form (${(error as Error).message})`);
  }
};

const isJsonMediaType = (contentType: string): boolean => {
  const [type = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) return false;
  const charset = params.find((p) => p.startsWith('charset='));
  return !charset || /^charset="?utf-8"?$/.test(charset);
};

/** Checks content type and size, then parses: 415, 413 and 400 each say what was wrong. */
export const jsonBody = (event: ApiEvent): unknown => {
  const contentType = event.headers['content-type'];
  if (!contentType) {
    throw new UnsupportedMediaTypeError('content-type: header is required and must be application/json');
  }
  if (!isJsonMediaType(contentType)) {
    throw new UnsupportedMediaTypeError(
      `content-type: must be application/json with UTF-8 (got ${contentType.slice(0, 100)})`,
    );
  }
  const raw = event.body ?? '';
  const bytes = Buffer.byteLength(raw, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`body: must be at most ${MAX_BODY_BYTES} bytes (got ${bytes})`);
  }
  const text = (event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw).replace(
    /^\uFEFF/,
    '',
  );
  if (text.trim() === '') throw new MalformedBodyError('body: is required (a JSON document)');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MalformedBodyError(`body: is not valid JSON (${(error as Error).message})`);
  }
};

/** Query string parameters, refusing any that the route does not know. */
export const queryParams = <K extends string>(
  event: ApiEvent,
  allowed: readonly K[],
): Partial<Record<K, string>> => {
  const params = event.queryStringParameters ?? {};
  const unknown = Object.keys(params).filter((k) => !(allowed as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new ValidationError(
      unknown.map((k) => ({
        path: `query.${k}`,
        rule: `is not a known parameter (allowed: ${allowed.join(', ')})`,
      })),
    );
  }
  return params as Partial<Record<K, string>>;
};

/**
 * The revision a caller expects, from `If-Match: "3"` (strong comparison, as RFC 9110 requires
 * for If-Match); `*` means "any current version" and is returned as undefined, like no header.
 */
export const expectedRevision = (event: ApiEvent): number | undefined => {
  const header = event.headers['if-match']?.trim();
  if (header === undefined || header === '*') return undefined;
  const m = /^"(\d{1,15})"$/.exec(header);
  if (!m)
    throw ValidationError.of(
      'if-match',
      `must be an ETag from this API such as "3", or * (got ${header.slice(0, 40)})`,
    );
  return Number(m[1]);
};

/** Whether `If-None-Match` names this ETag (weak comparison, lists and * allowed, RFC 9110). */
export const matchesNoneMatch = (event: ApiEvent, tag: string): boolean => {
  const header = event.headers['if-none-match']?.trim();
  if (!header) return false;
  if (header === '*') return true;
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === tag);
};

export const etag = (revision: number): string => `"${revision}"`;
