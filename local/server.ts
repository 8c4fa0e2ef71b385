import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { AuthorizerResult } from '../functions/authorize-request.js';
import type { RouteSpec } from '../shared/routes.js';
import { lambdaContext } from './lambda-context.js';

export type LocalApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;
export type LocalAuthorizer = (event: { headers: Record<string, string> }) => Promise<AuthorizerResult>;

export interface LocalRoute extends RouteSpec {
  handler: LocalApiHandler;
}

/** API Gateway's own limit on an HTTP API payload; the functions enforce the much lower 256 KB. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;

const compile = (path: string): RegExp =>
  new RegExp(
    `^${path
      .split('/')
      .map((part) => {
        const m = /^\{(\w+)(\+?)\}$/.exec(part);
        if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        return m[2] ? `(?<${m[1]}>.+)` : `(?<${m[1]}>[^/]+)`;
      })
      .join('/')}$`,
  );

const TEXT_TYPES = /^(text\/|application\/(json|xml|x-www-form-urlencoded|[a-z0-9.+-]+\+(json|xml)))/i;

/** Reads the body as API Gateway would pass it: text as is, anything else base64-encoded. */
const readBody = (req: IncomingMessage): Promise<Buffer | 'too-large'> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > GATEWAY_MAX_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });

const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
};

export interface LocalServerOptions {
  routes: LocalRoute[];
  authorize: LocalAuthorizer;
  /** Requests that match no API route; answers 404 when absent or when it returns false. */
  fallback?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /**
   * Answers a page of the site that nothing else served (a GET or HEAD outside `/api/` and
   * `/local/`), as CloudFront's site behaviour does; anything else unmatched is API Gateway's JSON
   * 404, also when this is absent.
   */
  notFound?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  log?: (line: string) => void;
}

/** Paths that belong to the API or to the local runtime's own tools, never to the site. */
const NOT_SITE = /^\/(api|local)(\/|$)/;

/** The names the local server answers to; anything else reached it through a name it does not own. */
const LOCAL_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * Whether `Host` names this machine and the server's own port. A page on another site can point a
 * name it controls at 127.0.0.1 (DNS rebinding) and then read the answers as same-origin; its
 * requests still carry that name in `Host`, so they are refused.
 */
export const isLocalHost = (host: string | undefined, port: number): boolean => {
  const value = host?.toLowerCase();
  if (!value) return false;
  return LOCAL_HOSTS.some((name) => value === `${name}:${port}` || (port === 80 && value === name));
};

/** The HTTP API as API Gateway runs it: routes, the authorizer on write routes, v2 payloads. */
export const createLocalServer = (options: LocalServerOptions): Server => {
  const compiled = options.routes.map((route) => ({ route, pattern: compile(route.path) }));
  const server = createServer(async (req, res) => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    if (!isLocalHost(req.headers.host, port)) {
      // Before anything else: the site, the outbox and the API alike.
      req.resume();
      return send(
        res,
        421,
        JSON.stringify({
          message: `Misdirected Request: the local server answers only to localhost, 127.0.0.1 or [::1] on port ${port}`,
        }),
      );
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    let match: { route: LocalRoute; params: Record<string, string> } | undefined;
    for (const { route, pattern } of compiled) {
      const m = route.method === method ? pattern.exec(url.pathname) : null;
      if (m) {
        match = { route, params: { ...m.groups } };
        break;
      }
    }
    try {
      if (!match) {
        if (options.fallback && (await options.fallback(req, res))) return;
        if (options.notFound && (method === 'GET' || method === 'HEAD') && !NOT_SITE.test(url.pathname))
          return await options.notFound(req, res);
        return send(res, 404, JSON.stringify({ message: 'Not Found' }));
      }
      const { route, params } = match;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
      }
      let authorizer: { lambda: Record<string, unknown> } | undefined;
      if (route.auth) {
        // API Gateway's identity source check, then the Lambda authorizer.
        if (!headers.authorization) return send(res, 401, JSON.stringify({ message: 'Unauthorized' }));
        const verdict = await options.authorize({ headers });
        if (!verdict.isAuthorized) return send(res, 403, JSON.stringify({ message: 'Forbidden' }));
        authorizer = { lambda: { ...verdict.context } };
      }
      const body = await readBody(req);
      if (body === 'too-large')
        return send(res, 413, JSON.stringify({ message: 'Request Entity Too Large' }));
      const query: Record<string, string> = {};
      for (const [key, value] of url.searchParams)
        query[key] = key in query ? `${query[key]},${value}` : value;
      const isText = TEXT_TYPES.test(headers['content-type'] ?? '');
      const requestId = randomUUID();
      const now = new Date();
      const event: APIGatewayProxyEventV2 = {
        version: '2.0',
        routeKey: `${route.method} ${route.path}`,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
        ...(Object.keys(params).length > 0 ? { pathParameters: params } : {}),
        requestContext: {
          accountId: '000000000000',
          apiId: 'local',
          domainName: headers.host ?? 'localhost',
          domainPrefix: 'localhost',
          http: {
            method,
            path: url.pathname,
            protocol: `HTTP/${req.httpVersion}`,
            sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
            userAgent: headers['user-agent'] ?? '',
          },
          requestId,
          ...(authorizer ? { authorizer } : {}),
          routeKey: `${route.method} ${route.path}`,
          stage: '$default',
          time: now.toUTCString(),
          timeEpoch: now.getTime(),
        },
        ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
        isBase64Encoded: body.length > 0 && !isText,
      };
      const result = await route.handler(event, lambdaContext(route.fn, requestId));
      const resultHeaders: Record<string, string> = {};
      for (const [name, value] of Object.entries(result.headers ?? {})) resultHeaders[name] = String(value);
      const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64') : (result.body ?? '');
      res.writeHead(result.statusCode ?? 200, resultHeaders);
      res.end(payload);
      options.log?.(`${method} ${url.pathname} ${result.statusCode}`);
    } catch (error) {
      // The functions answer every error themselves; reaching here is a local runtime fault.
      options.log?.(`local server error: ${(error as Error).stack ?? error}`);
      if (!res.headersSent) send(res, 500, JSON.stringify({ message: 'Internal Server Error' }));
      else res.end();
    }
  });
  return server;
};
