import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { eventInputSchema } from '../../shared/domain/event.js';
import { openApiDocument, openApiPath, routeKeyOf, UndocumentedRouteError } from '../../shared/openapi.js';
import { API_ROUTES } from '../../shared/routes.js';
import { BATCH_MAX, MAX_LIMIT } from '../../shared/services/events.js';
import { makeEventInput } from '../helpers/builders.js';

type Json = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document, asserted on structurally
type Operation = any;

const doc = openApiDocument();
const operationOf = (method: string, path: string): Operation =>
  (doc.paths as Record<string, Record<string, Operation>>)[openApiPath(path)]?.[method.toLowerCase()];
const schemas = doc.components.schemas as Record<string, Json>;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema(doc, 'openapi.json');
const validatorOf = (name: string) => ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` });

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(await new Validator().validate(doc as never)).toEqual({ valid: true });
  });

  it('documents every route of shared/routes.ts, and write routes need the bearer key', () => {
    for (const route of API_ROUTES) {
      const operation = operationOf(route.method, route.path);
      expect(operation, routeKeyOf(route)).toBeDefined();
      expect(operation.summary, routeKeyOf(route)).toEqual(expect.any(String));
      if (route.auth) {
        expect(operation.security, routeKeyOf(route)).toEqual([{ bearerAuth: [] }]);
        for (const status of ['401', '403']) {
          expect(operation.responses[status].content['application/json'].schema).toEqual({
            $ref: '#/components/schemas/GatewayMessage',
          });
        }
      } else {
        expect(operation.security, routeKeyOf(route)).toBeUndefined();
        expect(operation.responses['401'], routeKeyOf(route)).toBeUndefined();
      }
    }
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const operations = Object.values(doc.paths).flatMap((byMethod) => Object.values(byMethod) as Operation[]);
    expect(operations).toHaveLength(API_ROUTES.length);
    const ids = operations.map((operation) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('cannot be generated while a route of shared/routes.ts is undocumented', () => {
    const added = {
      method: 'GET',
      path: '/api/events/{id+}/history',
      fn: 'get-history',
      auth: false,
    } as const;
    expect(() => openApiDocument([...API_ROUTES, added])).toThrow(UndocumentedRouteError);
    expect(() => openApiDocument([...API_ROUTES, added])).toThrow(
      'GET /api/events/{id+}/history is in shared/routes.ts but not documented in shared/openapi.ts',
    );
    expect(() => openApiDocument(API_ROUTES.slice(1))).toThrow(
      'documented in shared/openapi.ts but is not a route',
    );
  });

  it('documents the greedy {id+} as a path parameter holding slashes', () => {
    const parameter = operationOf('GET', '/api/events/{id+}').parameters.find((p: Json) => p.in === 'path');
    expect(parameter).toMatchObject({ name: 'id', required: true });
    expect(parameter.description).toMatch(/slashes/);
    expect(new RegExp(parameter.schema.pattern).test('2016/11/16/aid-convoy-reaches-aleppo')).toBe(true);
    expect(new RegExp(parameter.schema.pattern).test('aid-convoy-reaches-aleppo')).toBe(false);
    expect(Object.keys(doc.paths)).toContain('/api/events/{id}');
    expect(Object.keys(doc.paths).filter((p) => p.includes('+'))).toEqual([]);
  });

  it('describes request bodies and query parameters with the schemas that validate them', () => {
    expect(Object.keys(schemas.EventInput?.properties as Json).sort()).toEqual(
      Object.keys(eventInputSchema().shape).sort(),
    );
    expect(validatorOf('EventInput')(makeEventInput())).toBe(true);
    expect(validatorOf('EventInput')(makeEventInput({ color: 'red' }))).toBe(false);
    expect(validatorOf('EventInput')({ headline: 'No date' })).toBe(false);
    expect(validatorOf('BatchInput')({ events: [makeEventInput()] })).toBe(true);
    expect(validatorOf('BatchInput')({ events: [] })).toBe(false);
    expect(
      validatorOf('BatchInput')({ events: Array.from({ length: BATCH_MAX + 1 }, () => makeEventInput()) }),
    ).toBe(false);
    expect(validatorOf('WebhookInput')({ url: 'https://hooks.example.org/', changeTypes: ['purged'] })).toBe(
      false,
    );
    expect(
      validatorOf('SubscriptionInput')({ email: 'a@example.org', tags: ['Syria'], cadence: 'daily' }),
    ).toBe(true);
    expect(
      validatorOf('SubscriptionInput')({ email: 'a@example.org', tags: ['Syria'], cadence: 'hourly' }),
    ).toBe(false);
    // Tags and topic labels; `topics`, the former name of `tags`, still taken and marked deprecated.
    expect(
      validatorOf('SubscriptionInput')({
        email: 'a@example.org',
        topicLabels: ['Politics'],
        cadence: 'daily',
      }),
    ).toBe(true);
    expect(
      validatorOf('SubscriptionInput')({ email: 'a@example.org', topics: ['Syria'], cadence: 'daily' }),
    ).toBe(true);
    const propertiesOf = (name: string) =>
      (doc.components.schemas as Record<string, { properties: Record<string, Json> }>)[name]?.properties ??
      {};
    expect(propertiesOf('SubscriptionInput').topics?.deprecated).toBe(true);
    expect(propertiesOf('Subscription').topics?.deprecated).toBe(true);

    const query = operationOf('GET', '/api/events').parameters.filter((p: Json) => p.in === 'query');
    expect(query.map((p: Json) => p.name)).toEqual(['date', 'tag', 'limit', 'cursor']);
    expect(query.find((p: Json) => p.name === 'limit').schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: MAX_LIMIT,
    });

    for (const path of ['/api/subscriptions', '/api/subscriptions/manage']) {
      expect(Object.keys(operationOf('POST', path).requestBody.content).sort(), path).toEqual([
        'application/json',
        'application/x-www-form-urlencoded',
      ]);
    }
    const oneClick = operationOf('POST', '/api/subscriptions/unsubscribe').requestBody.content;
    expect(Object.keys(oneClick)).toEqual(['application/x-www-form-urlencoded']);
    expect(oneClick['application/x-www-form-urlencoded'].schema.properties['List-Unsubscribe']).toMatchObject(
      {
        const: 'One-Click',
      },
    );
  });

  it('gives every 4xx and 5xx the error shape, and pages where the route answers pages', () => {
    for (const route of API_ROUTES) {
      const { responses } = operationOf(route.method, route.path);
      const errors = Object.keys(responses).filter((status) => Number(status) >= 400);
      expect(errors, routeKeyOf(route)).toContain('500');
      for (const status of errors) {
        const content = responses[status].content;
        if (status === '500') {
          expect(content['application/json'].schema.anyOf).toEqual([
            { $ref: '#/components/schemas/Error' },
            { $ref: '#/components/schemas/GatewayMessage' },
          ]);
          continue;
        }
        const schema = content['application/json'].schema.$ref;
        const fromGateway =
          ['429', '503'].includes(status) || (route.auth && ['401', '403'].includes(status));
        expect(schema, `${routeKeyOf(route)} ${status}`).toBe(
          `#/components/schemas/${fromGateway ? 'GatewayMessage' : 'Error'}`,
        );
        if (route.path.startsWith('/api/subscriptions') && !fromGateway) {
          expect(Object.keys(content), `${routeKeyOf(route)} ${status}`).toContain('text/html');
        }
      }
    }
    const error = validatorOf('Error');
    expect(
      error({ error: { code: 'validation_failed', message: 'x: y', issues: [{ path: 'x', rule: 'y' }] } }),
    ).toBe(true);
    expect(error({ message: 'Not Found' })).toBe(false);
  });

  it('documents ETag, Location and the conditional request headers', () => {
    const get = operationOf('GET', '/api/events/{id+}');
    expect(Object.keys(get.responses['200'].headers)).toEqual(['ETag', 'Cache-Control']);
    expect(get.responses['304'].content).toBeUndefined();
    expect(get.parameters.map((p: Json) => p.name)).toContain('If-None-Match');
    expect(Object.keys(operationOf('POST', '/api/events').responses['201'].headers)).toEqual([
      'Location',
      'ETag',
    ]);
    expect(Object.keys(operationOf('POST', '/api/webhooks').responses['201'].headers)).toEqual(['Location']);
    for (const method of ['PUT', 'DELETE']) {
      const operation = operationOf(method, '/api/events/{id+}');
      expect(operation.parameters.map((p: Json) => p.name)).toContain('If-Match');
      expect(Object.keys(operation.responses)).toContain('412');
    }
  });
});
