import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HONEYPOT_FIELD } from '../../shared/domain/signup.js';
import { subscriberLinks } from '../../shared/domain/tokens.js';
import { openApiDocument, openApiPath, routeKeyOf } from '../../shared/openapi.js';
import { API_ROUTES } from '../../shared/routes.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import {
  linkIn,
  mailTo,
  manualClock,
  pathOf,
  seedTopics,
  subscriptionsOf,
} from '../helpers/subscriptions.js';

/**
 * Every route of the API driven over real HTTP against the local runtime, for its success and its
 * main errors, and each answer checked against the OpenAPI document the runtime serves: the status
 * must be documented for the route, the content type among the documented ones, required headers
 * present, and a JSON body valid against the route's schema for that status.
 */

type Json = Record<string, unknown>;
interface DocumentedResponse {
  content?: Record<string, { schema: Json }>;
  headers?: Record<string, { required?: boolean; schema: Json }>;
}
type Document = { paths: Record<string, Record<string, { responses: Record<string, DocumentedResponse> }>> };

const clock = manualClock('2026-03-02T10:00:00.000Z');
let rt: TestRuntime;
let doc: Document;
let ajv: Ajv2020;
/** Route key → the statuses its answers were checked with. */
const checked = new Map<string, Set<number>>();

beforeAll(async () => {
  rt = await startTestRuntime({ now: clock.now });
  const res = await rt.request('/api/openapi.json');
  expect(res.status).toBe(200);
  doc = (await res.json()) as Document;
  // Formats are checked by the patterns zod writes beside them.
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(doc, 'openapi.json');
}, 60_000);
afterAll(async () => {
  await rt?.dispose();
});

const validatorOf = (schema: Json) => {
  const target = typeof schema.$ref === 'string' ? { $ref: `openapi.json${schema.$ref}` } : schema;
  return ajv.compile(target);
};

/** Checks one answer of `routeKey` against the document; returns its body (parsed when JSON). */
const check = async (routeKey: string, res: Response): Promise<Json & { text: string }> => {
  const route = API_ROUTES.find((r) => routeKeyOf(r) === routeKey);
  if (!route) throw new Error(`${routeKey} is not a route`);
  const operation = doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
  expect(operation, `${routeKey} is documented`).toBeDefined();
  const documented = operation?.responses[String(res.status)];
  const text = await res.text();
  expect(documented, `${routeKey} answered ${res.status}, undocumented: ${text.slice(0, 300)}`).toBeDefined();
  checked.set(routeKey, new Set([...(checked.get(routeKey) ?? []), res.status]));
  for (const [name, header] of Object.entries(documented?.headers ?? {})) {
    const value = res.headers.get(name);
    if (header.required) expect(value, `${routeKey} ${res.status} header ${name}`).not.toBeNull();
    if (value !== null) expect(validatorOf(header.schema)(value), `${name}: ${value}`).toBe(true);
  }
  if (!documented?.content) {
    expect(text, `${routeKey} ${res.status} has no body`).toBe('');
    return { text };
  }
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  expect(Object.keys(documented.content), `${routeKey} ${res.status} content type`).toContain(mediaType);
  if (mediaType === 'text/html') {
    expect(text).toMatch(/^<!doctype html>/i);
    return { text };
  }
  if (mediaType === 'application/atom+xml') {
    expect(text).toMatch(
      /^<\?xml version="1.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom"/,
    );
    return { text };
  }
  const body = JSON.parse(text) as Json;
  const validate = validatorOf(documented.content[mediaType]?.schema ?? {});
  expect(
    validate(body) ? [] : validate.errors,
    `${routeKey} ${res.status} body ${text.slice(0, 300)}`,
  ).toEqual([]);
  return { ...body, text };
};

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };
const noKey = (method: string, path: string, body?: unknown) =>
  rt.request(path, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const wrongKey = (method: string, path: string) =>
  rt.request(path, {
    method,
    headers: { authorization: 'Bearer not-a-key', 'content-type': 'application/json' },
  });

const ID = '2016/11/16/russian-president-vladimir-putin-signs-a-symbolic-order-to-withdraw-from-the-icc';

describe.sequential('every answer of every route matches the OpenAPI document', () => {
  it('the served document is the generated one, and a valid OpenAPI 3.1 document', async () => {
    expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    expect(await new Validator().validate(doc as never)).toEqual({ valid: true });
    const served = await rt.request('/api/openapi.json');
    expect((await check('GET /api/openapi.json', served)).openapi).toBe('3.1.0');
    expect(served.headers.get('cache-control')).toBe('public, max-age=300');
    const res = await rt.request('/api/openapi.json?format=yaml');
    await check('GET /api/openapi.json', res);
    expect(res.status).toBe(400);
  });

  it('POST /api/events', async () => {
    const key = 'POST /api/events';
    expect((await check(key, await rt.write('POST', '/api/events', makeEventInput()))).id).toBe(ID);
    const again = await rt.write('POST', '/api/events', makeEventInput());
    await check(key, again);
    expect(again.status).toBe(200);
    const conflict = await rt.write('POST', '/api/events', makeEventInput({ body: 'Other words.' }));
    await check(key, conflict);
    expect(conflict.status).toBe(409);
    const invalid = await check(key, await rt.write('POST', '/api/events', makeEventInput({ color: 'red' })));
    expect((invalid.error as Json).issues).toEqual([
      { path: 'color', rule: expect.stringContaining('is not a known field') },
    ]);
    const malformed = await rt.write('POST', '/api/events', '{"date":');
    await check(key, malformed);
    expect(malformed.status).toBe(400);
    const plain = await rt.write('POST', '/api/events', 'x', { 'content-type': 'text/plain' });
    await check(key, plain);
    expect(plain.status).toBe(415);
    const large = await rt.write('POST', '/api/events', makeEventInput({ body: 'x'.repeat(300 * 1024) }));
    await check(key, large);
    expect(large.status).toBe(413);
    const anonymous = await noKey('POST', '/api/events', makeEventInput());
    await check(key, anonymous);
    expect(anonymous.status).toBe(401);
    const refused = await wrongKey('POST', '/api/events');
    await check(key, refused);
    expect(refused.status).toBe(403);
  });

  it('POST /api/events/batch', async () => {
    const key = 'POST /api/events/batch';
    const events = [
      makeEventInput({ headline: 'Aid convoy reaches Aleppo', tags: ['Syria'] }),
      makeEventInput({ headline: '' }),
      makeEventInput({ body: 'Different words.' }),
    ];
    const batch = await check(key, await rt.write('POST', '/api/events/batch', { events }));
    expect(batch.summary).toEqual({ created: 1, unchanged: 0, rejected: 2 });
    const empty = await rt.write('POST', '/api/events/batch', { events: [] });
    await check(key, empty);
    expect(empty.status).toBe(400);
    const anonymous = await noKey('POST', '/api/events/batch', { events });
    await check(key, anonymous);
    expect(anonymous.status).toBe(401);
  });

  it('GET /api/events/{id+}', async () => {
    const key = 'GET /api/events/{id+}';
    const res = await rt.request(`/api/events/${ID}`);
    expect((await check(key, res)).revision).toBe(1);
    const notModified = await rt.request(`/api/events/${ID}`, { headers: { 'if-none-match': '"1"' } });
    await check(key, notModified);
    expect(notModified.status).toBe(304);
    const encoded = await rt.request(`/api/events/${ID.replaceAll('/', '%2F')}`);
    await check(key, encoded);
    expect(encoded.status).toBe(200);
    const missing = await rt.request('/api/events/2016/11/16/never-published');
    await check(key, missing);
    expect(missing.status).toBe(404);
    const malformed = await rt.request('/api/events/2016/11/16/Not_An_Id');
    await check(key, malformed);
    expect(malformed.status).toBe(400);
  });

  it('PUT /api/events/{id+}', async () => {
    const key = 'PUT /api/events/{id+}';
    const corrected = await rt.write('PUT', `/api/events/${ID}`, makeEventInput({ body: 'Corrected.' }), {
      'if-match': '"1"',
    });
    expect((await check(key, corrected)).revision).toBe(2);
    const stale = await rt.write('PUT', `/api/events/${ID}`, makeEventInput({ body: 'Again.' }), {
      'if-match': '"1"',
    });
    await check(key, stale);
    expect(stale.status).toBe(412);
    const missing = await rt.write('PUT', '/api/events/2016/11/16/never-published', makeEventInput());
    await check(key, missing);
    expect(missing.status).toBe(404);
    const invalid = await rt.write('PUT', `/api/events/${ID}`, makeEventInput({ date: 'soon' }));
    await check(key, invalid);
    expect(invalid.status).toBe(400);
    const refused = await wrongKey('PUT', `/api/events/${ID}`);
    await check(key, refused);
    expect(refused.status).toBe(403);
  });

  it('DELETE /api/events/{id+}, and what is left of a deleted event', async () => {
    const key = 'DELETE /api/events/{id+}';
    const stale = await rt.write('DELETE', `/api/events/${ID}`, undefined, { 'if-match': '"1"' });
    await check(key, stale);
    expect(stale.status).toBe(412);
    const deleted = await check(key, await rt.write('DELETE', `/api/events/${ID}`));
    expect(deleted.deleted).toBe(true);
    const again = await rt.write('DELETE', `/api/events/${ID}`);
    await check(key, again);
    expect(again.status).toBe(200);
    const missing = await rt.write('DELETE', '/api/events/2016/11/16/never-published');
    await check(key, missing);
    expect(missing.status).toBe(404);
    const anonymous = await noKey('DELETE', `/api/events/${ID}`);
    await check(key, anonymous);
    expect(anonymous.status).toBe(401);
    const gone = await rt.request(`/api/events/${ID}`);
    await check('GET /api/events/{id+}', gone);
    expect(gone.status).toBe(410);
    const correctGone = await rt.write('PUT', `/api/events/${ID}`, makeEventInput());
    await check('PUT /api/events/{id+}', correctGone);
    expect(correctGone.status).toBe(410);
  });

  it('GET /api/events and GET /api/tags', async () => {
    await seedTopics(rt);
    const list = 'GET /api/events';
    const page = await check(list, await rt.request('/api/events?limit=1'));
    expect(page.nextCursor).toEqual(expect.any(String));
    const next = await check(list, await rt.request(`/api/events?limit=1&cursor=${page.nextCursor}`));
    expect((next.events as unknown[]).length).toBe(1);
    const byTag = await check(list, await rt.request('/api/events?tag=syria'));
    expect(byTag.nextCursor).toBeNull();
    await check(list, await rt.request('/api/events?date=2016-11-16'));
    const unknownTag = await rt.request('/api/events?tag=atlantis');
    await check(list, unknownTag);
    expect(unknownTag.status).toBe(404);
    for (const query of ['limit=0', 'date=2016-02-30', 'date=2016-11-16&tag=syria', 'sort=asc', 'cursor=x']) {
      const bad = await rt.request(`/api/events?${query}`);
      await check(list, bad);
      expect(bad.status, query).toBe(400);
    }
    const tags = await check('GET /api/tags', await rt.request('/api/tags'));
    expect(tags.tags).toContainEqual({ slug: 'syria', name: 'Syria', count: expect.any(Number) });
    const bad = await rt.request('/api/tags?page=2');
    await check('GET /api/tags', bad);
    expect(bad.status).toBe(400);
  });

  it('POST /api/subscriptions, as JSON and as the form posts it', async () => {
    const key = 'POST /api/subscriptions';
    const json = await rt.request('/api/subscriptions', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: 'reader@example.org', tags: ['Syria'], cadence: 'daily' }),
    });
    expect((await check(key, json)).email).toBe('reader@example.org');
    const form = await rt.request('/api/subscriptions', {
      method: 'POST',
      headers: FORM_HEADERS,
      body: `email=pending%40example.org&tags%5B%5D=Syria&tags%5B%5D=Russia&cadence=weekly&${HONEYPOT_FIELD}=`,
    });
    await check(key, form);
    expect(form.status).toBe(202);
    const unknownTag = await rt.request('/api/subscriptions', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ email: 'x@example.org', tags: ['Atlantis'], cadence: 'daily' }),
    });
    expect(((await check(key, unknownTag)).error as Json).issues).toEqual([
      { path: 'tags[0]', rule: expect.stringContaining('is not a known tag') },
    ]);
    const formError = await rt.request('/api/subscriptions', {
      method: 'POST',
      headers: FORM_HEADERS,
      body: 'email=nobody&tags=Syria&cadence=daily',
    });
    await check(key, formError);
    expect(formError.status).toBe(400);
    const crossSite = await rt.request('/api/subscriptions', {
      method: 'POST',
      headers: { ...FORM_HEADERS, 'sec-fetch-site': 'cross-site', origin: 'https://elsewhere.example' },
      body: 'email=victim%40example.org&tags=Syria&cadence=daily',
    });
    await check(key, crossSite);
    expect(crossSite.status).toBe(403);
    const plain = await rt.request('/api/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'subscribe me',
    });
    await check(key, plain);
    expect(plain.status).toBe(415);
  });

  it('the link routes: confirm, manage, unsubscribe, sign out', async () => {
    const [mail] = await mailTo(rt, 'reader@example.org');
    if (!mail) throw new Error('no confirmation email');
    const confirm = pathOf(linkIn(mail, '/api/subscriptions/confirm'));
    const token = new URL(confirm, rt.url).searchParams.get('token') ?? '';

    const view = 'GET /api/subscriptions/confirm';
    expect(
      (await check(view, await rt.request(confirm, { headers: { accept: 'application/json' } }))).confirmed,
    ).toBe(false);
    const page = await rt.request(confirm, { headers: { accept: 'text/html' } });
    await check(view, page);
    expect(page.status).toBe(200);
    const noToken = await rt.request('/api/subscriptions/confirm');
    await check(view, noToken);
    expect(noToken.status).toBe(400);
    const forged = await rt.request(`/api/subscriptions/confirm?token=${token.slice(0, -4)}AAAA`);
    await check(view, forged);
    expect(forged.status).toBe(403);
    const forgedPage = await rt.request(`/api/subscriptions/confirm?token=${token.slice(0, -4)}AAAA`, {
      headers: { accept: 'text/html' },
    });
    await check(view, forgedPage);
    expect(forgedPage.headers.get('content-type')).toMatch(/^text\/html/);

    const post = 'POST /api/subscriptions/confirm';
    const confirmed = await check(
      post,
      await rt.request(confirm, { method: 'POST', headers: { accept: 'application/json' } }),
    );
    expect(confirmed).toMatchObject({ status: 'confirmed', changed: true });
    const button = await rt.request('/api/subscriptions/confirm', {
      method: 'POST',
      headers: FORM_HEADERS,
      body: new URLSearchParams({ token }).toString(),
    });
    await check(post, button);
    expect(button.status).toBe(200);
    const both = await rt.request(confirm, { method: 'POST', headers: FORM_HEADERS, body: `token=${token}` });
    await check(post, both);
    expect(both.status).toBe(400);

    const subs = subscriptionsOf(rt);
    const stored = await subs.subscriber('reader@example.org');
    const pending = await subs.subscriber('pending@example.org');
    subs.close();
    if (!stored || !pending) throw new Error('subscribers not stored');
    const now = Math.floor(Date.parse(clock.now()) / 1000);
    const links = subscriberLinks(subs.keys, rt.url, stored, now);

    const manage = pathOf(links.manage);
    const viewManage = 'GET /api/subscriptions/manage';
    const current = await check(
      viewManage,
      await rt.request(manage, { headers: { accept: 'application/json' } }),
    );
    expect(current.cadence).toBe('daily');
    await check(viewManage, await rt.request(manage, { headers: { accept: 'text/html' } }));
    const unconfirmed = await rt.request(pathOf(subscriberLinks(subs.keys, rt.url, pending, now).manage), {
      headers: { accept: 'application/json' },
    });
    await check(viewManage, unconfirmed);
    expect(unconfirmed.status).toBe(409);

    const change = 'POST /api/subscriptions/manage';
    const changed = await check(
      change,
      await rt.request(manage, {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ tags: ['Syria', 'Iran'], cadence: 'weekly' }),
      }),
    );
    expect(changed).toMatchObject({ cadence: 'weekly', changed: true });
    const manageToken = new URL(links.manage).searchParams.get('token') ?? '';
    const formChange = await rt.request('/api/subscriptions/manage', {
      method: 'POST',
      headers: FORM_HEADERS,
      body: `token=${manageToken}&tags%5B%5D=Syria&cadence=daily`,
    });
    await check(change, formChange);
    expect(formChange.status).toBe(200);
    const invalid = await rt.request(manage, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ tags: [], cadence: 'hourly' }),
    });
    expect(((await check(change, invalid)).error as Json).issues).toHaveLength(2);

    const feedRoute = 'GET /api/subscriptions/feed';
    await check(feedRoute, await rt.request(pathOf(links.feed)));
    const feedWithManageToken = await rt.request(`/api/subscriptions/feed?token=${manageToken}`);
    await check(feedRoute, feedWithManageToken);
    expect(feedWithManageToken.status).toBe(403);

    const unsubscribe = pathOf(links.unsubscribeTag('syria'));
    const viewLeave = 'GET /api/subscriptions/unsubscribe';
    const leaving = await check(
      viewLeave,
      await rt.request(unsubscribe, { headers: { accept: 'application/json' } }),
    );
    expect(leaving).toMatchObject({ subscribed: true, topic: { slug: 'syria' } });
    await check(viewLeave, await rt.request(unsubscribe, { headers: { accept: 'text/html' } }));
    const wrongPurpose = await rt.request(`/api/subscriptions/unsubscribe?token=${manageToken}`);
    await check(viewLeave, wrongPurpose);
    expect(wrongPurpose.status).toBe(400);

    const leave = 'POST /api/subscriptions/unsubscribe';
    const notOneClick = await rt.request(unsubscribe, {
      method: 'POST',
      headers: FORM_HEADERS,
      body: 'all=yes',
    });
    await check(leave, notOneClick);
    expect(notOneClick.status).toBe(400);
    const oneClick = await rt.request(unsubscribe, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    await check(leave, oneClick);
    expect(oneClick.status).toBe(200);
    const asJson = await rt.request(unsubscribe, { method: 'POST', headers: JSON_HEADERS, body: '{}' });
    await check(leave, asJson);
    expect(asJson.status).toBe(415);

    const signOut = 'POST /api/subscriptions/sign-out';
    const out = await check(
      signOut,
      await rt.request(`/api/subscriptions/sign-out?token=${manageToken}`, {
        method: 'POST',
        headers: { accept: 'application/json' },
      }),
    );
    expect(out.signedOut).toBe(true);
    const again = await rt.request(`/api/subscriptions/sign-out?token=${manageToken}`, {
      method: 'POST',
      headers: { accept: 'application/json' },
    });
    await check(signOut, again);
    expect(again.status).toBe(410);
    const stalePage = await rt.request(manage, { headers: { accept: 'text/html' } });
    await check(viewManage, stalePage);
    expect(stalePage.status).toBe(410);
  });

  it('POST, GET and DELETE /api/webhooks', async () => {
    const create = 'POST /api/webhooks';
    const body = {
      url: 'https://hooks.example.org/tidings?secret=s3',
      tags: ['syria'],
      changeTypes: ['created'],
    };
    const webhook = await check(create, await rt.write('POST', '/api/webhooks', body));
    expect(webhook.url).toBe('https://hooks.example.org/tidings');
    const duplicate = await rt.write('POST', '/api/webhooks', body);
    await check(create, duplicate);
    expect(duplicate.status).toBe(409);
    const invalid = await rt.write('POST', '/api/webhooks', { url: 'ftp://example.org', tags: [] });
    expect(((await check(create, invalid)).error as Json).issues).toHaveLength(2);
    const anonymous = await noKey('POST', '/api/webhooks', body);
    await check(create, anonymous);
    expect(anonymous.status).toBe(401);

    const list = await check('GET /api/webhooks', await rt.write('GET', '/api/webhooks'));
    expect(list.webhooks).toEqual([expect.objectContaining({ id: webhook.id })]);
    const refused = await wrongKey('GET', '/api/webhooks');
    await check('GET /api/webhooks', refused);
    expect(refused.status).toBe(403);

    const remove = 'DELETE /api/webhooks/{id}';
    const removed = await rt.write('DELETE', `/api/webhooks/${webhook.id}`);
    await check(remove, removed);
    expect(removed.status).toBe(204);
    const again = await rt.write('DELETE', `/api/webhooks/${webhook.id}`);
    await check(remove, again);
    expect(again.status).toBe(404);
    const malformed = await rt.write('DELETE', '/api/webhooks/not_an_id');
    await check(remove, malformed);
    expect(malformed.status).toBe(400);
  });

  it('POST /api/websub', async () => {
    const hub = 'POST /api/websub';
    await rt.capture.idle();
    await rt.publish();
    const form = (fields: Record<string, string>) =>
      rt.request('/api/websub', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
    const fields = {
      'hub.mode': 'subscribe',
      'hub.topic': `${rt.url}/feeds/all.atom`,
      'hub.callback': 'http://127.0.0.1:9/reader',
    };
    const accepted = await form(fields);
    await check(hub, accepted);
    expect(accepted.status).toBe(202);
    const short = await form({ ...fields, 'hub.lease_seconds': '60' });
    expect(((await check(hub, short)).error as Json).issues).toEqual([
      expect.objectContaining({ path: 'hub.lease_seconds' }),
    ]);
    const asJson = await rt.request('/api/websub', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(fields),
    });
    await check(hub, asJson);
    expect(asJson.status).toBe(415);
  });

  it('drove every route of shared/routes.ts, to a success and to an error', () => {
    for (const route of API_ROUTES) {
      const statuses = [...(checked.get(routeKeyOf(route)) ?? [])];
      expect(
        statuses.some((s) => s < 400),
        `${routeKeyOf(route)} succeeded`,
      ).toBe(true);
      expect(
        statuses.some((s) => s >= 400),
        `${routeKeyOf(route)} failed`,
      ).toBe(true);
    }
  });
});
