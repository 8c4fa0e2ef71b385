// A namespace import lets esbuild drop what is unused (the named `z` export keeps all of zod).
import * as z from 'zod';
import type { Webhook } from './adapters/webhooks.js';
import type { NewsEvent, Tombstone } from './domain/event.js';
import { EVENT_ID_PATTERN, eventInputSchema, LIMITS } from './domain/event.js';
import { HONEYPOT_FIELD } from './domain/signup.js';
import { CADENCES, type TagRef, type TopicRef } from './domain/subscription.js';
import { LEASE, SECRET_MAX_BYTES } from './domain/websub.js';
import { MAX_ISSUES } from './errors.js';
import { MAX_BODY_BYTES } from './http.js';
import { TOKEN_FIELD, tokenField, tokenFormSchema } from './link-token.js';
import { API_ROUTES, type RouteSpec } from './routes.js';
import { BATCH_MAX, batchSchema, eventQuerySchema } from './services/events.js';
import { manageSchema, oneClickFormSchema, subscribeSchema } from './services/subscriptions.js';
import { WEBHOOK_ID_PATTERN, webhookInput } from './services/webhooks.js';

/**
 * The OpenAPI 3.1 document of the HTTP API, generated: request schemas are the zod schemas that
 * validate requests (`z.toJSONSchema`), routes are API_ROUTES, and each route's answers are listed
 * in routeDocs below. A route without an entry there stops the generation, so an undocumented
 * route cannot ship (test/shared/openapi.test.ts), and test/e2e/openapi-responses.test.ts checks the
 * real answers of every route against the document.
 */

type JsonSchema = Record<string, unknown>;

/** A request schema as the caller writes it (before transforms), in JSON Schema 2020-12. */
const inputSchema = (schema: z.ZodType): JsonSchema => {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return json;
};

/** A response schema: objects closed (`additionalProperties: false`), so an undocumented field fails the check. */
const outputSchema = (schema: z.ZodType): JsonSchema => {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
  return json;
};

const ref = (name: SchemaName): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

// What the API answers. Typed against the domain's own types, so a field the code adds or
// renames breaks the build here before it breaks a client.
const tagOut = z.object({ slug: z.string(), name: z.string() });
const tagRefOut: z.ZodType<TagRef> = tagOut;
const topicOut: z.ZodType<TopicRef> = z.object({
  slug: z.string(),
  name: z.string().meta({ description: 'The topic label, as events carry it.' }),
});
/** What a subscriber follows, as every subscription answer gives it. */
const followsOut = {
  tags: z.array(tagRefOut),
  topicLabels: z.array(topicOut),
  topics: z
    .array(tagRefOut)
    .meta({ deprecated: true, description: 'Deprecated: the same as `tags`, under its former name.' }),
};
const sourceOut = z.object({ name: z.string(), url: z.string() });
const imageOut = z.object({ url: z.string(), caption: z.string().optional() });
const stamps = {
  publishedAt: z.iso.datetime().meta({ description: 'When the event was first published.' }),
  updatedAt: z.iso.datetime().meta({ description: 'When the event last changed.' }),
  revision: z.int().min(1).meta({ description: 'Bumped by every change; the ETag is this number, quoted.' }),
};
const eventOut: z.ZodType<NewsEvent> = z
  .object({
    id: z.string().meta({ description: 'YYYY/MM/DD/<slug>' }),
    date: z.iso.date(),
    headline: z.string(),
    body: z.string(),
    topic: z.string().optional(),
    tags: z.array(tagOut),
    sources: z.array(sourceOut),
    image: imageOut.optional(),
    ...stamps,
  })
  .meta({ description: 'A published event.' });
const tombstoneOut: z.ZodType<Tombstone> = z
  .object({
    id: z.string(),
    date: z.iso.date(),
    headline: z.string(),
    tags: z.array(tagOut),
    topic: z.string().optional(),
    ...stamps,
    deletedAt: z.iso.datetime(),
    deleted: z.literal(true),
  })
  .meta({ description: 'What is left of a deleted event.' });
const issueOut = z.object({
  path: z.string().meta({ description: 'The field, such as `tags[3]` or `query.limit`.' }),
  rule: z.string().meta({ description: 'The rule it broke.' }),
});
const errorDetail = z.object({
  code: z.string().meta({ description: 'Stable, for programs: validation_failed, not_found, conflict…' }),
  message: z.string().meta({ description: 'For people: what was wrong and what is allowed.' }),
  issues: z
    .array(issueOut)
    .max(MAX_ISSUES)
    .optional()
    .meta({ description: `validation_failed only: at most ${MAX_ISSUES} issues.` }),
  moreIssues: z
    .int()
    .min(1)
    .optional()
    .meta({ description: 'How many issues were found beyond those listed.' }),
});
const cadenceOut = z.enum(CADENCES);
const webhookOut: z.ZodType<Webhook> = z.object({
  id: z.string(),
  url: z.string().meta({ description: 'Without its query string, which is never shown again.' }),
  filterPolicy: z.record(z.string(), z.array(z.string())).optional().meta({
    description: 'The SNS filter policy made of `tags` and `changeTypes`; absent when every change is sent.',
  }),
  status: z.enum(['pending-confirmation', 'confirmed']),
});
const subscriberStatus = z.enum(['pending', 'confirmed', 'unsubscribed']);
/** The delivery time a subscriber chose; absent fields: the deployment's default. */
const preferencesOut = {
  timeZone: z.string().optional().meta({ description: 'IANA zone, as the platform names it.' }),
  deliveryHour: z.int().min(0).max(23).optional().meta({ description: 'Local hour of digests.' }),
  deliveryWeekday: z
    .int()
    .min(0)
    .max(6)
    .optional()
    .meta({ description: 'Local day of weekly digests, 0 = Sunday.' }),
  quietHours: z
    .object({ from: z.int().min(0).max(23), to: z.int().min(0).max(23) })
    .optional()
    .meta({ description: 'Local hours during which instant alerts wait.' }),
};

const RESPONSE_SCHEMAS = {
  Event: eventOut,
  Tombstone: tombstoneOut,
  EventList: z.object({
    events: z.array(eventOut),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Give it as `cursor` for the next page; null on the last page.' }),
  }),
  TagList: z.object({
    tags: z.array(
      tagOut.extend({ count: z.int().min(0).meta({ description: 'Live events with the tag.' }) }),
    ),
  }),
  BatchResult: z.object({
    summary: z.object({ created: z.int().min(0), unchanged: z.int().min(0), rejected: z.int().min(0) }),
    results: z
      .array(
        z.union([
          z.object({
            index: z.int().min(0),
            status: z.union([z.literal(201), z.literal(200)]),
            id: z.string(),
            revision: z.int().min(1),
            result: z.enum(['created', 'unchanged']),
          }),
          z.object({
            index: z.int().min(0),
            status: z.int().min(400).max(499),
            id: z.string().optional(),
            error: errorDetail,
          }),
        ]),
      )
      .meta({ description: 'One result per event, in the order given.' }),
  }),
  Webhook: webhookOut,
  WebhookList: z.object({ webhooks: z.array(webhookOut) }),
  SubscriptionRequested: z.object({
    message: z.string(),
    email: z.string(),
    ...followsOut,
    cadence: cadenceOut,
    ...preferencesOut,
  }),
  ConfirmView: z.object({
    status: subscriberStatus,
    ...followsOut,
    cadence: cadenceOut,
    ...preferencesOut,
    confirmed: z.literal(false),
  }),
  Confirmed: z.object({
    status: subscriberStatus,
    ...followsOut,
    cadence: cadenceOut,
    ...preferencesOut,
    changed: z.boolean(),
  }),
  UnsubscribeView: z.object({
    subscribed: z.boolean(),
    tag: tagRefOut.optional().meta({ description: 'The tag the link leaves.' }),
    topicLabel: topicOut.optional().meta({ description: 'The topic label the link leaves.' }),
    topic: tagRefOut
      .optional()
      .meta({ deprecated: true, description: 'Deprecated: the same as `tag`, under its former name.' }),
  }),
  Subscription: z.object({
    ...followsOut,
    cadence: cadenceOut,
    ...preferencesOut,
    offered: z
      .object({ tags: z.array(tagRefOut), topicLabels: z.array(topicOut) })
      .meta({ description: 'The most used tags, and topic labels, to add.' }),
    changed: z.boolean(),
  }),
  SignedOut: z.object({ signedOut: z.literal(true) }),
  HubAccepted: z.object({ message: z.string() }),
  Error: z.object({ error: errorDetail }).meta({ description: 'Every error the functions answer.' }),
  GatewayMessage: z.object({ message: z.string() }).meta({
    description: 'Answered by API Gateway itself (its authorizer, its throttling), before any function.',
  }),
} satisfies Record<string, z.ZodType>;

/** Request bodies, from the schemas the functions validate with. */
const REQUEST_SCHEMAS = {
  EventInput: () => inputSchema(eventInputSchema()),
  // Each event is checked on its own (one bad event does not refuse the batch), so the envelope's
  // schema takes any items; the document says what each should be.
  BatchInput: () => {
    const envelope = inputSchema(batchSchema());
    const properties = envelope.properties as Record<string, JsonSchema>;
    return { ...envelope, properties: { events: { ...properties.events, items: ref('EventInput') } } };
  },
  WebhookInput: () => inputSchema(webhookInput),
  SubscriptionInput: () => inputSchema(subscribeSchema),
  ManageInput: () => inputSchema(manageSchema),
};

type SchemaName = keyof typeof RESPONSE_SCHEMAS | keyof typeof REQUEST_SCHEMAS;

/** Forms repeat `tags` and `topicLabels` (or `tags[]`, `topicLabels[]`, as checkboxes name them) once per value. */
const FORM_ENCODING = {
  tags: { style: 'form', explode: true },
  topicLabels: { style: 'form', explode: true },
};

const formContent = (form: z.ZodType) => {
  const schema = inputSchema(form);
  return { schema, ...('tags' in ((schema.properties as object) ?? {}) ? { encoding: FORM_ENCODING } : {}) };
};

interface Reply {
  description: string;
  /** A JSON body, by schema name (or a schema of its own); absent for answers without a body. */
  json?: SchemaName | JsonSchema;
  /** The route answers this status with a page to browsers (form posts, `Accept: text/html`). */
  page?: true;
  /** The route answers this status with an Atom feed (and nothing else). */
  atom?: true;
  headers?: readonly HeaderName[];
}

interface RouteDoc {
  operationId: string;
  summary: string;
  description?: string;
  /** The query parameters: listing's, or the link token (each from the schema that validates it). */
  query?: 'events' | 'token';
  /** `form`: the schema of an `application/x-www-form-urlencoded` body, with the fields only forms carry. */
  body?: { json?: SchemaName; form?: z.ZodType; required: boolean };
  /** Conditional request headers the route reads. */
  conditions?: readonly ('If-Match' | 'If-None-Match')[];
  replies: Record<number, Reply>;
  /** Statuses answered with the error shape (JSON, or a page when the route answers pages). */
  errors: readonly number[];
  /** Errors are pages for browsers though no success is (a feed opened in a browser). */
  errorPages?: true;
}

const HEADERS = {
  ETag: {
    description: 'The revision, quoted ("3"): give it back in If-Match to change what you saw.',
    required: true,
    schema: { type: 'string', pattern: '^"\\d+"$' },
  },
  Location: { description: 'Where the created resource is.', required: true, schema: { type: 'string' } },
  'Cache-Control': { required: true, schema: { type: 'string' } },
} as const;
type HeaderName = keyof typeof HEADERS;

const PAGE_NOTE =
  'Browsers get HTML pages: form posts, and requests with `Accept: text/html`; other callers get JSON.';
const LINK_NOTE =
  'The token comes from a link in an email. Links are opened with GET, which changes nothing (mail scanners open links); POST acts.';
const WRITE_ERRORS = [400, 409, 413, 415, 500] as const;
const LINK_READ_ERRORS = [400, 403, 410, 500] as const;
const LINK_POST_ERRORS = [400, 403, 409, 410, 413, 415, 500] as const;

/** Each route's answers, by `METHOD path` as in API_ROUTES. Built on use: it renders schemas. */
const routeDocs = (): Record<string, RouteDoc> => ({
  'POST /api/events': {
    operationId: 'postEvent',
    summary: 'Publish an event',
    description:
      'The id is derived from date and headline unless given. Posting the same event again is harmless (200); different content under an existing id is a conflict (use PUT).',
    body: { json: 'EventInput', required: true },
    replies: {
      201: { description: 'Published.', json: 'Event', headers: ['Location', 'ETag'] },
      200: {
        description: 'Already published with the same content.',
        json: 'Event',
        headers: ['Location', 'ETag'],
      },
    },
    errors: WRITE_ERRORS,
  },
  'POST /api/events/batch': {
    operationId: 'postEventsBatch',
    summary: 'Publish up to 100 events',
    description: `Up to ${BATCH_MAX} events, each accepted or rejected on its own, with one result each in the order given.`,
    body: { json: 'BatchInput', required: true },
    replies: { 200: { description: 'One result per event.', json: 'BatchResult' } },
    errors: [400, 413, 415, 500],
  },
  'PUT /api/events/{id+}': {
    operationId: 'putEvent',
    summary: 'Correct an event',
    description:
      'Replaces the content (the next revision). With If-Match, only if the event is still at that revision.',
    body: { json: 'EventInput', required: true },
    conditions: ['If-Match'],
    replies: { 200: { description: 'Corrected (or unchanged).', json: 'Event', headers: ['ETag'] } },
    errors: [400, 404, 409, 410, 412, 413, 415, 500],
  },
  'DELETE /api/events/{id+}': {
    operationId: 'deleteEvent',
    summary: 'Delete an event',
    description: 'Leaves a tombstone; deleting again is harmless.',
    conditions: ['If-Match'],
    replies: { 200: { description: 'Deleted.', json: 'Tombstone' } },
    errors: [400, 404, 409, 412, 500],
  },
  'GET /api/events/{id+}': {
    operationId: 'getEvent',
    summary: 'Read an event',
    conditions: ['If-None-Match'],
    replies: {
      200: { description: 'The event.', json: 'Event', headers: ['ETag', 'Cache-Control'] },
      304: { description: 'Not modified since the ETag given in If-None-Match.', headers: ['ETag'] },
    },
    errors: [400, 404, 410, 500],
  },
  'GET /api/events': {
    operationId: 'listEvents',
    summary: 'List events',
    description:
      'The latest events overall, or those of one day, or of one tag; newest first, a page at a time.',
    query: 'events',
    replies: { 200: { description: 'A page of events.', json: 'EventList' } },
    errors: [400, 404, 500],
  },
  'GET /api/tags': {
    operationId: 'listTags',
    summary: 'List tags',
    replies: { 200: { description: 'Every tag with its number of events.', json: 'TagList' } },
    errors: [400, 500],
  },
  'POST /api/webhooks': {
    operationId: 'createWebhook',
    summary: 'Register a webhook',
    description:
      "Subscribes an endpoint to the change messages, filtered by tags and change types. The endpoint first receives a SubscriptionConfirmation to confirm. Webhooks belong to the caller's API key.",
    body: { json: 'WebhookInput', required: true },
    replies: { 201: { description: 'Registered.', json: 'Webhook', headers: ['Location'] } },
    errors: WRITE_ERRORS,
  },
  'GET /api/webhooks': {
    operationId: 'listWebhooks',
    summary: "List the caller's webhooks",
    replies: { 200: { description: "The webhooks of the caller's key.", json: 'WebhookList' } },
    errors: [400, 500],
  },
  'DELETE /api/webhooks/{id}': {
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook',
    replies: { 204: { description: 'Deleted.' } },
    errors: [400, 404, 500],
  },
  'POST /api/websub': {
    operationId: 'websubHub',
    summary: 'WebSub hub: subscribe to or unsubscribe from a feed',
    description:
      'W3C WebSub. The hub then verifies intent with a GET to the callback (hub.mode, hub.topic, hub.challenge, hub.lease_seconds, the callback\'s own query kept); the subscription is active only once the callback echoes hub.challenge with a 2xx. Every feed of the site names this hub (rel="hub", JSON Feed `hubs`). 409 when the callback\'s host or the feed has as many subscriptions as the hub keeps.',
    body: {
      form: z.object({
        'hub.mode': z.enum(['subscribe', 'unsubscribe']),
        'hub.topic': z.string().meta({ format: 'uri', description: 'A feed URL of this site.' }),
        'hub.callback': z.string().meta({
          format: 'uri',
          description: 'https, to a public address (locally: http(s) on this machine).',
        }),
        'hub.lease_seconds': z
          .number()
          .int()
          .min(LEASE.minSeconds)
          .max(LEASE.maxSeconds)
          .optional()
          .meta({ description: `Seconds; ${LEASE.defaultSeconds} (10 days) when left out.` }),
        'hub.secret': z
          .string()
          .optional()
          .meta({
            description: `Under ${SECRET_MAX_BYTES} bytes; deliveries then carry X-Hub-Signature: sha256=<HMAC of the body>.`,
          }),
      }),
      required: true,
    },
    replies: { 202: { description: 'Accepted; verification follows.', json: 'HubAccepted' } },
    errors: [400, 409, 413, 415, 500],
  },
  'POST /api/subscriptions': {
    operationId: 'createSubscription',
    summary: 'Subscribe to a digest by email',
    description: `Sends a confirmation link (double opt-in). The answer is the same whether or not the address was known. ${PAGE_NOTE}`,
    body: {
      json: 'SubscriptionInput',
      form: subscribeSchema.extend({
        [HONEYPOT_FIELD]: z
          .string()
          .optional()
          .meta({ description: 'Left empty by people (a hidden field).' }),
      }),
      required: true,
    },
    replies: { 202: { description: 'Requested.', json: 'SubscriptionRequested', page: true } },
    errors: [400, 403, 409, 413, 415, 500],
  },
  'GET /api/subscriptions/confirm': {
    operationId: 'viewConfirmation',
    summary: 'What a confirmation link would confirm',
    description: `${LINK_NOTE} ${PAGE_NOTE}`,
    query: 'token',
    replies: { 200: { description: 'The subscription the link asks for.', json: 'ConfirmView', page: true } },
    errors: LINK_READ_ERRORS,
  },
  'POST /api/subscriptions/confirm': {
    operationId: 'confirmSubscription',
    summary: 'Confirm a subscription',
    description: `Idempotent. ${LINK_NOTE} ${PAGE_NOTE}`,
    query: 'token',
    body: {
      form: tokenFormSchema,
      required: false,
    },
    replies: { 200: { description: 'Confirmed.', json: 'Confirmed', page: true } },
    errors: LINK_POST_ERRORS,
  },
  'GET /api/subscriptions/unsubscribe': {
    operationId: 'viewUnsubscribe',
    summary: 'What an unsubscribe link would do',
    description: `${LINK_NOTE} ${PAGE_NOTE}`,
    query: 'token',
    replies: { 200: { description: 'What is left to leave.', json: 'UnsubscribeView', page: true } },
    errors: LINK_READ_ERRORS,
  },
  'POST /api/subscriptions/unsubscribe': {
    operationId: 'unsubscribe',
    summary: 'Unsubscribe (RFC 8058 one-click)',
    description: `Leaves the link's tag or topic label, or everything. Idempotent. ${LINK_NOTE}`,
    query: 'token',
    body: {
      form: oneClickFormSchema.extend({ [TOKEN_FIELD]: tokenField }),
      required: true,
    },
    replies: { 200: { description: 'Unsubscribed.', page: true } },
    errors: LINK_POST_ERRORS,
  },
  'GET /api/subscriptions/manage': {
    operationId: 'viewSubscription',
    summary: 'A subscription, to change',
    description: `${LINK_NOTE} ${PAGE_NOTE}`,
    query: 'token',
    replies: { 200: { description: 'The subscription.', json: 'Subscription', page: true } },
    errors: [400, 403, 409, 410, 500],
  },
  'POST /api/subscriptions/manage': {
    operationId: 'manageSubscription',
    summary: 'Change tags, topic labels and cadence',
    description: `Validated like a sign-up. JSON callers give the token in the query. ${LINK_NOTE} ${PAGE_NOTE}`,
    query: 'token',
    body: {
      json: 'ManageInput',
      form: manageSchema.extend({ [TOKEN_FIELD]: tokenField }),
      required: true,
    },
    replies: { 200: { description: 'The subscription as it now is.', json: 'Subscription', page: true } },
    errors: LINK_POST_ERRORS,
  },
  'POST /api/subscriptions/sign-out': {
    operationId: 'signOutLinks',
    summary: 'Sign out every link',
    description: `Every confirmation and manage link made so far stops working (unsubscribe links keep working). ${LINK_NOTE} ${PAGE_NOTE}`,
    query: 'token',
    body: {
      form: tokenFormSchema,
      required: false,
    },
    replies: { 200: { description: 'Signed out.', json: 'SignedOut', page: true } },
    errors: LINK_POST_ERRORS,
  },
  'GET /api/subscriptions/feed': {
    operationId: 'getSubscriberFeed',
    summary: "A subscriber's digest as a private Atom feed",
    description:
      "The events of the subscriber's tags and topic labels changed in the last 7 days, newest first, each once (at most 50). The token is a feed link's, from the manage page or a digest: it works for 400 days, until the subscriber signs out all their links or leaves. Kept by the reader a few minutes (`Cache-Control: private, max-age=300`); never by a shared cache.",
    query: 'token',
    replies: { 200: { description: 'The feed (Atom 1.0).', atom: true, headers: ['Cache-Control'] } },
    errors: [400, 403, 409, 410, 500],
    errorPages: true,
  },
  'GET /api/openapi.json': {
    operationId: 'getOpenApi',
    summary: 'This document',
    replies: {
      200: {
        description: 'The OpenAPI 3.1 document of the API.',
        json: { type: 'object', required: ['openapi', 'info', 'paths'] },
        headers: ['Cache-Control'],
      },
    },
    errors: [400, 500],
  },
});

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request: `error.issues` names each field and the rule it broke.',
  401: 'No API key: the Authorization header is missing (answered by API Gateway).',
  403: 'Refused.',
  404: 'Not found.',
  409: 'Conflict with the current state.',
  410: 'Gone.',
  412: 'If-Match names a revision the resource is no longer at.',
  413: `The body is over ${MAX_BODY_BYTES} bytes.`,
  415: 'The body is not of a media type the route accepts.',
  429: 'Too many requests (API Gateway throttling).',
  500: "Internal error: the function's message quotes a request id.",
  503: 'The function did not answer in time (API Gateway).',
};

const jsonContent = (schema: JsonSchema) => ({ 'application/json': { schema } });
const PAGE_CONTENT = { 'text/html': { schema: { type: 'string' } } };
const ATOM_CONTENT = { 'application/atom+xml': { schema: { type: 'string' } } };

/** API Gateway's own answers on write routes: no key (401), a key the authorizer refuses (403). */
const gatewayError = (description: string) => ({ description, content: jsonContent(ref('GatewayMessage')) });

/** `/api/events/{id+}` (API Gateway's greedy parameter) is `/api/events/{id}` in OpenAPI. */
export const openApiPath = (path: string): string => path.replace(/\{(\w+)\+\}/g, '{$1}');

export const routeKeyOf = (route: Pick<RouteSpec, 'method' | 'path'>): string =>
  `${route.method} ${route.path}`;

const pathParameter = (route: RouteSpec): JsonSchema[] => {
  if (route.path.includes('{id+}')) {
    return [
      {
        name: 'id',
        in: 'path',
        required: true,
        description:
          "The event's id, YYYY/MM/DD/<slug>. It holds slashes: API Gateway's greedy `{id+}` takes the rest of the path, so give the slashes as they are (or as %2F).",
        schema: {
          type: 'string',
          pattern: EVENT_ID_PATTERN.source,
          examples: ['2016/11/16/aid-convoy-reaches-aleppo'],
        },
      },
    ];
  }
  if (route.path.includes('{id}')) {
    return [
      {
        name: 'id',
        in: 'path',
        required: true,
        description: 'A webhook id from GET /api/webhooks.',
        schema: { type: 'string', pattern: WEBHOOK_ID_PATTERN.source },
      },
    ];
  }
  return [];
};

/** Query parameters from the schema that validates them: the link token, or listing's. */
const queryParameters = (doc: RouteDoc): JsonSchema[] => {
  if (!doc.query) return [];
  const schema = inputSchema(doc.query === 'events' ? eventQuerySchema() : tokenFormSchema);
  const properties = schema.properties as Record<string, JsonSchema>;
  const required = (schema.required as string[] | undefined) ?? [];
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: 'query',
      required: required.includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
};

const CONDITIONS = {
  'If-Match': {
    name: 'If-Match',
    in: 'header',
    required: false,
    description: 'The ETag last seen ("3"), or *: the change is refused (412) if the event has moved on.',
    schema: { type: 'string' },
  },
  'If-None-Match': {
    name: 'If-None-Match',
    in: 'header',
    required: false,
    description: 'ETags already held: 304 when one is current.',
    schema: { type: 'string' },
  },
};

const operation = (route: RouteSpec, doc: RouteDoc) => {
  const responses: Record<string, unknown> = {};
  for (const [status, reply] of Object.entries(doc.replies)) {
    const content = {
      ...(typeof reply.json === 'string' ? jsonContent(ref(reply.json)) : {}),
      ...(typeof reply.json === 'object' ? jsonContent(reply.json) : {}),
      ...(reply.page ? PAGE_CONTENT : {}),
      ...(reply.atom ? ATOM_CONTENT : {}),
    };
    responses[status] = {
      description: reply.description,
      ...(reply.headers ? { headers: Object.fromEntries(reply.headers.map((h) => [h, HEADERS[h]])) } : {}),
      ...(Object.keys(content).length > 0 ? { content } : {}),
    };
  }
  const pages = doc.errorPages === true || Object.values(doc.replies).some((reply) => reply.page);
  for (const status of doc.errors) {
    responses[status] =
      status >= 500
        ? // Never a page: only the errors a caller can act on are. When the function itself fails
          // (a crash, a timeout), API Gateway answers in its own words.
          {
            description: STATUS_TEXT[status],
            content: jsonContent({ anyOf: [ref('Error'), ref('GatewayMessage')] }),
          }
        : {
            description: STATUS_TEXT[status] ?? 'Error.',
            content: { ...jsonContent(ref('Error')), ...(pages ? PAGE_CONTENT : {}) },
          };
  }
  if (route.auth) {
    responses[401] = gatewayError(
      'No API key: the Authorization header is missing (answered by API Gateway).',
    );
    responses[403] = gatewayError('The API key is unknown or revoked (answered by the authorizer).');
  }
  responses[429] = gatewayError(STATUS_TEXT[429] ?? '');
  responses[503] = gatewayError(STATUS_TEXT[503] ?? '');
  const body = doc.body;
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [tagOf(route)],
    ...(route.auth ? { security: [{ bearerAuth: [] }] } : {}),
    parameters: [
      ...pathParameter(route),
      ...queryParameters(doc),
      ...(doc.conditions ?? []).map((name) => CONDITIONS[name]),
    ],
    ...(body
      ? {
          requestBody: {
            required: body.required,
            content: {
              ...(body.json ? jsonContent(ref(body.json)) : {}),
              ...(body.form ? { 'application/x-www-form-urlencoded': formContent(body.form) } : {}),
            },
          },
        }
      : {}),
    responses,
  };
};

const tagOf = (route: RouteSpec): string =>
  route.path.startsWith('/api/subscriptions')
    ? 'subscriptions'
    : route.path.startsWith('/api/webhooks')
      ? 'webhooks'
      : route.path === '/api/websub'
        ? 'websub'
        : route.path === '/api/openapi.json'
          ? 'document'
          : 'events';

/** Thrown when API_ROUTES and routeDocs disagree: a route would ship undocumented. */
export class UndocumentedRouteError extends Error {}

/**
 * The document for `routes` (API_ROUTES by default). Pure: the same routes give the same document.
 * Throws UndocumentedRouteError when a route has no entry in routeDocs, or an entry no route.
 */
export const openApiDocument = (routes: readonly RouteSpec[] = API_ROUTES) => {
  const docs = routeDocs();
  const keys = new Set(routes.map(routeKeyOf));
  const undocumented = [...keys].filter((key) => !docs[key]);
  const stale = Object.keys(docs).filter((key) => !keys.has(key));
  if (undocumented.length > 0 || stale.length > 0) {
    throw new UndocumentedRouteError(
      [
        ...undocumented.map((key) => `${key} is in shared/routes.ts but not documented in shared/openapi.ts`),
        ...stale.map((key) => `${key} is documented in shared/openapi.ts but is not a route`),
      ].join('; '),
    );
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const doc = docs[routeKeyOf(route)] as RouteDoc;
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation(route, doc) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tidings API',
      version: '1',
      description: `Events, tags, webhooks and email subscriptions of a Tidings site. Request bodies are at most ${MAX_BODY_BYTES} bytes; unknown fields and query parameters are refused with 400. Headlines are at most ${LIMITS.headline} characters.`,
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    tags: [
      { name: 'events', description: 'Publishing and reading events.' },
      { name: 'webhooks', description: 'Change messages posted to your endpoints.' },
      { name: 'subscriptions', description: 'Email digests: sign-up and the links in the emails.' },
      { name: 'websub', description: 'Instant feed updates for readers that speak WebSub.' },
      { name: 'document', description: 'This description of the API.' },
    ],
    paths,
    components: {
      schemas: {
        ...Object.fromEntries(
          Object.entries(RESPONSE_SCHEMAS).map(([name, schema]) => [name, outputSchema(schema)]),
        ),
        ...Object.fromEntries(Object.entries(REQUEST_SCHEMAS).map(([name, build]) => [name, build()])),
      },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key the operator created (`tidings keys create`), as `Authorization: Bearer <key>`.',
        },
      },
    },
  };
};

export type OpenApiDocument = ReturnType<typeof openApiDocument>;
