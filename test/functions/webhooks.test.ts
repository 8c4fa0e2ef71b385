import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler as createWebhook } from '../../functions/create-webhook.js';
import { makeHandler as deleteWebhook } from '../../functions/delete-webhook.js';
import { makeHandler as listWebhooksHandler } from '../../functions/list-webhooks.js';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { makeApiKeyStore } from '../../shared/adapters/api-keys.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { makeWebhookOwnerStore, type WebhookOwnerStore } from '../../shared/adapters/webhook-owners.js';
import { makeSnsWebhooks, type Webhook, type WebhookRegistry } from '../../shared/adapters/webhooks.js';
import { MissingSettingError } from '../../shared/config.js';
import { apiKeyIdOf, hashApiKey } from '../../shared/domain/api-key.js';
import { webhookOwnerKey } from '../../shared/keys.js';
import { createWebhookDepsFromEnv, webhookDepsFromEnv } from '../../shared/services/webhook-deps.js';
import { FILTER_POLICY_QUOTA, type WebhookDeps } from '../../shared/services/webhooks.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

interface WebhookBody {
  id: string;
  url: string;
  filterPolicy?: Record<string, unknown>;
  status: string;
}

interface ErrorBody {
  error: { code: string; message: string; issues?: { path: string; rule: string }[] };
}

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime();
});
afterAll(() => rt.dispose());

const create = (body: unknown) => rt.write('POST', '/api/webhooks', body);
const list = async (): Promise<WebhookBody[]> => {
  const res = await rt.write('GET', '/api/webhooks');
  expect(res.status).toBe(200);
  return ((await res.json()) as { webhooks: WebhookBody[] }).webhooks;
};
const remove = (id: string) => rt.write('DELETE', `/api/webhooks/${id}`);
const subscriptionsFile = () =>
  JSON.parse(readFileSync(join(rt.dataDir, 'subscriptions.json'), 'utf8')) as {
    subscriptions: { id: string; endpoint?: string; filterPolicy?: unknown; source: string }[];
  };

describe('POST, GET and DELETE /api/webhooks', () => {
  it('creates a webhook with a filter policy built from tags and change types', async () => {
    const res = await create({
      url: 'https://hooks.example.org/russia',
      tags: ['russia', 'vladimir-putin', 'russia'],
      changeTypes: ['created', 'updated'],
    });
    expect(res.status).toBe(201);
    const webhook = (await res.json()) as WebhookBody;
    expect(res.headers.get('location')).toBe(`/api/webhooks/${webhook.id}`);
    expect(webhook).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9-]+$/),
      url: 'https://hooks.example.org/russia',
      // Duplicates dropped; the attribute is `changeType`, as the messages carry it.
      filterPolicy: { tags: ['russia', 'vladimir-putin'], changeType: ['created', 'updated'] },
      status: 'confirmed',
    });

    expect(await list()).toContainEqual(webhook);
    // Kept in the local topic's config file, so it survives a restart.
    expect(subscriptionsFile().subscriptions).toContainEqual(
      expect.objectContaining({
        id: webhook.id,
        endpoint: webhook.url,
        filterPolicy: webhook.filterPolicy,
        source: 'api',
      }),
    );
    expect(rt.topic.list().map((s) => s.id)).toContain(webhook.id);

    expect((await remove(webhook.id)).status).toBe(204);
  });

  it('creates a webhook without a filter policy when neither tags nor change types are given', async () => {
    const res = await create({ url: 'http://hooks.example.org/everything' });
    expect(res.status).toBe(201);
    const webhook = (await res.json()) as WebhookBody;
    expect(webhook).toEqual({
      id: webhook.id,
      url: 'http://hooks.example.org/everything',
      status: 'confirmed',
    });
    expect(Object.hasOwn(webhook, 'filterPolicy')).toBe(false);
    expect((await remove(webhook.id)).status).toBe(204);
  });

  it('filters on change types alone', async () => {
    const res = await create({ url: 'https://hooks.example.org/deletions', changeTypes: ['deleted'] });
    expect(res.status).toBe(201);
    const webhook = (await res.json()) as WebhookBody;
    expect(webhook.filterPolicy).toEqual({ changeType: ['deleted'] });
    expect((await remove(webhook.id)).status).toBe(204);
  });

  it("lists the key's webhooks with their filter policy and status, oldest first", async () => {
    const a = (await (
      await create({ url: 'https://hooks.example.org/a', tags: ['syria'] })
    ).json()) as WebhookBody;
    const b = (await (await create({ url: 'https://hooks.example.org/b' })).json()) as WebhookBody;
    const webhooks = await list();
    expect(webhooks).toEqual([
      {
        id: a.id,
        url: 'https://hooks.example.org/a',
        filterPolicy: { tags: ['syria'] },
        status: 'confirmed',
      },
      { id: b.id, url: 'https://hooks.example.org/b', status: 'confirmed' },
    ]);
    expect((await remove(a.id)).status).toBe(204);
    expect((await remove(b.id)).status).toBe(204);
    expect(await list()).toEqual([]);
  });

  it('refuses unknown query parameters on GET', async () => {
    const res = await rt.write('GET', '/api/webhooks?status=confirmed');
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.issues).toEqual([
      expect.objectContaining({ path: 'query.status' }),
    ]);
  });

  it('DELETE removes the webhook: 204, then 404', async () => {
    const webhook = (await (await create({ url: 'https://hooks.example.org/gone' })).json()) as WebhookBody;
    const first = await remove(webhook.id);
    expect(first.status).toBe(204);
    expect(await first.text()).toBe('');
    expect((await list()).map((w) => w.id)).not.toContain(webhook.id);
    expect(subscriptionsFile().subscriptions.map((s) => s.id)).not.toContain(webhook.id);

    const again = await remove(webhook.id);
    expect(again.status).toBe(404);
    const body = (await again.json()) as ErrorBody;
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toContain(webhook.id);
  });

  it('DELETE of an id that cannot be a webhook id is a 400 naming id', async () => {
    const res = await remove('not%20an%20id');
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.issues).toEqual([expect.objectContaining({ path: 'id' })]);
  });

  it('refuses a second webhook for the same URL with 409, whatever its filter', async () => {
    const first = await create({ url: 'https://hooks.example.org/dup', tags: ['russia'] });
    expect(first.status).toBe(201);
    const webhook = (await first.json()) as WebhookBody;
    for (const body of [
      { url: 'https://hooks.example.org/dup', tags: ['russia'] },
      { url: 'https://hooks.example.org/dup', changeTypes: ['deleted'] },
      { url: 'https://hooks.example.org/dup' },
    ]) {
      const res = await create(body);
      expect(res.status).toBe(409);
      const error = ((await res.json()) as ErrorBody).error;
      expect(error.code).toBe('conflict');
      expect(error.message).toContain('https://hooks.example.org/dup');
    }
    expect((await list()).filter((w) => w.url === 'https://hooks.example.org/dup')).toEqual([webhook]);
    expect((await remove(webhook.id)).status).toBe(204);
    // Once deleted, the URL can be registered again.
    const again = await create({ url: 'https://hooks.example.org/dup' });
    expect(again.status).toBe(201);
    expect((await remove(((await again.json()) as WebhookBody).id)).status).toBe(204);
  });

  it('treats different spellings of one URL as the same webhook', async () => {
    const first = await create({ url: 'HTTPS://Hooks.Example.org:443/spelled' });
    expect(first.status).toBe(201);
    const webhook = (await first.json()) as WebhookBody;
    expect(webhook.url).toBe('https://hooks.example.org/spelled');
    expect((await create({ url: 'https://hooks.example.org/spelled' })).status).toBe(409);
    expect((await remove(webhook.id)).status).toBe(204);
  });
});

describe('POST /api/webhooks validation', () => {
  const url = 'https://hooks.example.org/valid';
  const cases: [string, unknown, string, string][] = [
    ['a URL that does not parse', { url: 'not a url' }, 'url', 'absolute http or https URL'],
    ['an ftp: URL', { url: 'ftp://hooks.example.org/x' }, 'url', 'absolute http or https URL'],
    ['a relative URL', { url: '/hooks/x' }, 'url', 'absolute http or https URL'],
    ['a URL longer than 2048', { url: `https://hooks.example.org/${'a'.repeat(2048)}` }, 'url', 'http'],
    ['credentials in the URL', { url: 'https://user:secret@hooks.example.org/x' }, 'url', 'credentials'],
    ['a user name alone in the URL', { url: 'https://user@hooks.example.org/x' }, 'url', 'credentials'],
    ['no URL', { tags: ['russia'] }, 'url', 'is required'],
    ['a URL that is not a string', { url: 42 }, 'url', 'must be a string'],
    [
      'an unknown field',
      { url, secret: 'hunter2' },
      'secret',
      'is not a known field (allowed: url, tags, changeTypes)',
    ],
    ['tags that are not slugs', { url, tags: ['russia', 'Vladimir Putin'] }, 'tags[1]', 'tag slug'],
    ['a tag slug longer than 64', { url, tags: ['a'.repeat(65)] }, 'tags[0]', 'tag slug'],
    ['tags that are not an array', { url, tags: 'russia' }, 'tags', 'must be an array'],
    ['an empty tags array', { url, tags: [] }, 'tags', 'at least one tag'],
    ['an empty changeTypes array', { url, changeTypes: [] }, 'changeTypes', 'at least one change type'],
    [
      'an unknown change type',
      { url, changeTypes: ['created', 'published'] },
      'changeTypes[1]',
      'created, updated, deleted',
    ],
    ['51 tags', { url, tags: Array.from({ length: 51 }, (_, i) => `tag-${i}`) }, 'tags', 'at most 50 tags'],
  ];

  it.each(cases)('refuses %s with 400 naming the field', async (_, body, path, rule) => {
    const res = await create(body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe('validation_failed');
    expect(error.issues).toEqual([{ path, rule: expect.stringContaining(rule) }]);
    expect(error.message).toContain(`${path}: `);
  });

  it('accepts exactly 50 tags with every change type (150 combinations, the SNS limit)', async () => {
    const tags = Array.from({ length: 50 }, (_, i) => `tag-${i}`);
    const res = await create({ url, tags, changeTypes: ['created', 'updated', 'deleted'] });
    expect(res.status).toBe(201);
    const webhook = (await res.json()) as WebhookBody;
    expect(webhook.filterPolicy).toEqual({ tags, changeType: ['created', 'updated', 'deleted'] });
    expect((await remove(webhook.id)).status).toBe(204);
  });

  it('refuses a body that is not JSON, or not declared as JSON', async () => {
    const notJson = await rt.write('POST', '/api/webhooks', '{"url": ');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as ErrorBody).error.code).toBe('malformed_body');
    const wrongType = await rt.write('POST', '/api/webhooks', JSON.stringify({ url }), {
      'content-type': 'text/plain',
    });
    expect(wrongType.status).toBe(415);
  });

  it('registers nothing when the input is refused', async () => {
    expect(await list()).toEqual([]);
  });
});

describe('webhook routes need the API key', () => {
  const routes: [string, string][] = [
    ['POST', '/api/webhooks'],
    ['GET', '/api/webhooks'],
    ['DELETE', '/api/webhooks/some-id'],
  ];

  it.each(routes)('%s %s answers 401 without a key', async (method, path) => {
    const res = await rt.request(path, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(method === 'POST' ? { body: JSON.stringify({ url: 'https://hooks.example.org/x' }) } : {}),
    });
    expect(res.status).toBe(401);
  });

  it.each(routes)('%s %s answers 403 with a wrong key', async (method, path) => {
    for (const authorization of ['Bearer tdg_not-the-key', `Bearer ${rt.apiKey}x`, rt.apiKey]) {
      const res = await rt.write(
        method,
        path,
        method === 'POST' ? { url: 'https://hooks.example.org/x' } : undefined,
        { authorization },
      );
      expect(res.status).toBe(403);
    }
  });

  it('registered nothing without a valid key', async () => {
    expect(await list()).toEqual([]);
  });
});

describe(`the SNS quota of ${FILTER_POLICY_QUOTA} filter policies per topic`, () => {
  let quota: TestRuntime;
  beforeAll(async () => {
    // A cap per key above the topic's quota, so the quota is what this meets.
    quota = await startTestRuntime({ webhooksPerKey: 500 });
  });
  afterAll(() => quota.dispose());

  const post = (body: unknown) => quota.write('POST', '/api/webhooks', body);

  // 200 webhooks through HTTP, each create reading its key's records: about 3 s alone, several
  // times that beside the rest of the suite on two cores.
  it('refuses the 201st filtered webhook with 409, and still takes unfiltered ones', {
    timeout: 120_000,
  }, async () => {
    // 200 registrations through the API, 50 requests in flight at a time.
    const ids: string[] = [];
    for (let start = 0; start < FILTER_POLICY_QUOTA; start += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, k) =>
          post({ url: `https://hooks.example.org/q/${start + k}`, tags: [`tag-${(start + k) % 7}`] }),
        ),
      );
      for (const res of batch) {
        expect(res.status).toBe(201);
        ids.push(((await res.json()) as WebhookBody).id);
      }
    }
    expect(new Set(ids).size).toBe(FILTER_POLICY_QUOTA);

    const over = await post({ url: 'https://hooks.example.org/q/over', changeTypes: ['deleted'] });
    expect(over.status).toBe(409);
    const error = ((await over.json()) as ErrorBody).error;
    expect(error.code).toBe('conflict');
    expect(error.message).toContain('200 filter policies');
    expect(error.message).toContain('SNS quota');

    // A webhook without a filter policy does not count against the quota.
    const unfiltered = await post({ url: 'https://hooks.example.org/q/everything' });
    expect(unfiltered.status).toBe(201);

    const listed = await quota.write('GET', '/api/webhooks');
    const webhooks = ((await listed.json()) as { webhooks: WebhookBody[] }).webhooks;
    expect(webhooks).toHaveLength(FILTER_POLICY_QUOTA + 1);
    expect(webhooks.filter((w) => w.filterPolicy)).toHaveLength(FILTER_POLICY_QUOTA);
    expect(webhooks.map((w) => w.url)).not.toContain('https://hooks.example.org/q/over');

    // Removing one frees a place.
    expect((await quota.write('DELETE', `/api/webhooks/${ids[0]}`)).status).toBe(204);
    const retry = await post({ url: 'https://hooks.example.org/q/over', changeTypes: ['deleted'] });
    expect(retry.status).toBe(201);
    expect((await post({ url: 'https://hooks.example.org/q/over-2', tags: ['x'] })).status).toBe(409);
  });
});

const OTHER_KEY = 'tdg_partner-key-0123456789abcdef';

/** Registers a second API key in a runtime's table, as an operator would. */
const addKey = async (runtime: TestRuntime, key: string, name: string) => {
  const db = createDocumentClient({ endpoint: runtime.dynamodbEndpoint });
  try {
    await makeApiKeyStore(db, LOCAL_TABLE).putApiKey(hashApiKey(key), {
      name,
      createdAt: '2026-01-01T00:00:00.000Z',
      revoked: false,
    });
  } finally {
    db.destroy();
  }
};

const asKey = (runtime: TestRuntime, key: string) => ({
  create: (body: unknown) => runtime.write('POST', '/api/webhooks', body, { authorization: `Bearer ${key}` }),
  list: async (): Promise<WebhookBody[]> => {
    const res = await runtime.write('GET', '/api/webhooks', undefined, { authorization: `Bearer ${key}` });
    expect(res.status).toBe(200);
    return ((await res.json()) as { webhooks: WebhookBody[] }).webhooks;
  },
  remove: (id: string) =>
    runtime.write('DELETE', `/api/webhooks/${id}`, undefined, { authorization: `Bearer ${key}` }),
});

describe('webhooks belong to the key that created them', () => {
  let own: TestRuntime;
  beforeAll(async () => {
    own = await startTestRuntime();
    await addKey(own, OTHER_KEY, 'partner');
  });
  afterAll(() => own.dispose());

  it("lists only the caller's webhooks, and deletes only those: another key's id is a 404", async () => {
    const mine = asKey(own, own.apiKey);
    const theirs = asKey(own, OTHER_KEY);
    const a = (await (await mine.create({ url: 'https://hooks.example.org/mine' })).json()) as WebhookBody;
    const b = (await (
      await theirs.create({ url: 'https://hooks.example.org/theirs' })
    ).json()) as WebhookBody;

    expect((await mine.list()).map((w) => w.id)).toEqual([a.id]);
    expect((await theirs.list()).map((w) => w.id)).toEqual([b.id]);

    const refused = await theirs.remove(a.id);
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as ErrorBody).error.message).toContain('not created with this API key');
    expect(own.topic.list().map((s) => s.id)).toContain(a.id);

    // The record names the creating key by its id and name: WEBHOOK#<keyId> / <subscription id>.
    const db = createDocumentClient({ endpoint: own.dynamodbEndpoint });
    const owners = makeWebhookOwnerStore(db, LOCAL_TABLE);
    try {
      expect(await owners.listOwned(apiKeyIdOf(hashApiKey(own.apiKey)))).toEqual([
        {
          id: a.id,
          keyId: apiKeyIdOf(hashApiKey(own.apiKey)),
          keyName: 'local',
          createdAt: expect.any(String),
        },
      ]);
      expect(webhookOwnerKey('abc', a.id)).toEqual({ PK: 'WEBHOOK#abc', SK: a.id });
    } finally {
      db.destroy();
    }

    expect((await theirs.remove(b.id)).status).toBe(204);
    expect((await mine.remove(a.id)).status).toBe(204);
  });

  it('a URL another key registered is a 409 that does not say another key has it', async () => {
    const mine = asKey(own, own.apiKey);
    const theirs = asKey(own, OTHER_KEY);
    const a = (await (await mine.create({ url: 'https://hooks.example.org/shared' })).json()) as WebhookBody;

    // SNS keeps one subscription per endpoint, so the URL cannot be registered twice; the answer
    // is the one a URL the operator declared gets: nothing says who holds it.
    const refused = await theirs.create({ url: 'https://hooks.example.org/shared', tags: ['russia'] });
    expect(refused.status).toBe(409);
    const { error } = (await refused.json()) as ErrorBody;
    expect(error.code).toBe('conflict');
    expect(error.message).not.toMatch(/exists|another|other key|DELETE/i);
    const declared = own.topic.subscribe('http', 'https://hooks.example.org/declared');
    const byOperator = await theirs.create({ url: 'https://hooks.example.org/declared' });
    expect(byOperator.status).toBe(409);
    expect(((await byOperator.json()) as ErrorBody).error.message).toBe(
      error.message.replace('/shared', '/declared'),
    );
    own.topic.unsubscribe(declared.id);

    // The key that holds it is told so, with the way to change its filter.
    const again = await mine.create({ url: 'https://hooks.example.org/shared' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as ErrorBody).error.message).toContain('this API key already has a webhook');
    expect(await theirs.list()).toEqual([]);
    expect((await mine.remove(a.id)).status).toBe(204);
  });

  it('never lists nor deletes a subscription the API did not create (the config file, the operator)', async () => {
    const declared = own.topic.subscribe('http', 'http://127.0.0.1:9/declared-by-the-operator');
    expect(await asKey(own, own.apiKey).list()).toEqual([]);
    expect((await asKey(own, own.apiKey).remove(declared.id)).status).toBe(404);
    expect(own.topic.list().map((s) => s.id)).toContain(declared.id);
    own.topic.unsubscribe(declared.id);
  });

  it('drops a webhook whose subscription is gone (its endpoint unsubscribed) from the list, freeing its place', async () => {
    const mine = asKey(own, own.apiKey);
    const hook = (await (
      await mine.create({ url: 'https://hooks.example.org/leaving' })
    ).json()) as WebhookBody;
    own.topic.unsubscribe(hook.id);
    expect(await mine.list()).toEqual([]);
    expect((await mine.remove(hook.id)).status).toBe(404);
  });
});

describe('a cap on webhooks per key (WEBHOOKS_PER_KEY)', () => {
  let capped: TestRuntime;
  beforeAll(async () => {
    capped = await startTestRuntime({ webhooksPerKey: 3 });
    await addKey(capped, OTHER_KEY, 'partner');
  });
  afterAll(() => capped.dispose());

  it('refuses the key its 4th webhook with 409 naming the limit; other keys are not affected', async () => {
    const mine = asKey(capped, capped.apiKey);
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await mine.create({ url: `https://hooks.example.org/cap/${n}` });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as WebhookBody).id);
    }
    const over = await mine.create({ url: 'https://hooks.example.org/cap/4' });
    expect(over.status).toBe(409);
    const error = ((await over.json()) as ErrorBody).error;
    expect(error.code).toBe('conflict');
    expect(error.message).toContain('WEBHOOKS_PER_KEY = 3');
    expect(capped.topic.list().map((s) => s.endpoint)).not.toContain('https://hooks.example.org/cap/4');

    const theirs = asKey(capped, OTHER_KEY);
    const other = await theirs.create({ url: 'https://hooks.example.org/cap/other' });
    expect(other.status).toBe(201);

    // Deleting one frees a place.
    expect((await mine.remove(ids[0] as string)).status).toBe(204);
    expect((await mine.create({ url: 'https://hooks.example.org/cap/4' })).status).toBe(201);
    for (const w of await mine.list()) expect((await mine.remove(w.id)).status).toBe(204);
    for (const w of await theirs.list()) expect((await theirs.remove(w.id)).status).toBe(204);
  });

  it('holds when creates race: never more than the cap, whatever the interleaving', async () => {
    const mine = asKey(capped, capped.apiKey);
    expect(await mine.list()).toEqual([]);
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, n) => mine.create({ url: `https://hooks.example.org/race/${n}` })),
    );
    const created = answers.filter((r) => r.status === 201).length;
    expect(answers.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(created).toBeGreaterThanOrEqual(1);
    expect(created).toBeLessThanOrEqual(3);
    expect(await mine.list()).toHaveLength(created);
    // Nothing refused stays subscribed.
    expect(capped.topic.list().filter((s) => s.endpoint?.includes('/race/'))).toHaveLength(created);
  });

  it('reads the cap from WEBHOOKS_PER_KEY, 50 when unset locally, and refuses a bad value at start', async () => {
    const { parseWebhooksPerKey, DEFAULT_WEBHOOKS_PER_KEY } = await import(
      '../../shared/services/webhooks.js'
    );
    expect(DEFAULT_WEBHOOKS_PER_KEY).toBe(50);
    expect(parseWebhooksPerKey('7')).toBe(7);
    for (const bad of ['0', '-1', '2.5', 'ten', '10001']) {
      expect(() => parseWebhooksPerKey(bad)).toThrow(/WEBHOOKS_PER_KEY must be a whole number/);
    }
  });
});

describe('webhook URLs are shown without their query strings', () => {
  it('answers and lists the URL without its query, and delivers to the URL as given', async () => {
    const res = await create({ url: 'https://hooks.example.org/signed?token=s3cret&v=2#frag' });
    expect(res.status).toBe(201);
    const webhook = (await res.json()) as WebhookBody;
    expect(webhook.url).toBe('https://hooks.example.org/signed');
    const listed = await list();
    expect(listed.map((w) => w.url)).toEqual(['https://hooks.example.org/signed']);
    expect(JSON.stringify(listed)).not.toContain('s3cret');
    // The topic keeps the whole URL: the endpoint still gets its token.
    expect(subscriptionsFile().subscriptions.find((s) => s.id === webhook.id)?.endpoint).toBe(
      'https://hooks.example.org/signed?token=s3cret&v=2#frag',
    );
    const dup = await create({ url: 'https://hooks.example.org/signed?token=s3cret&v=2#frag' });
    expect(dup.status).toBe(409);
    expect(await dup.text()).not.toContain('s3cret');
    expect((await remove(webhook.id)).status).toBe(204);
  });
});

describe('local webhooks refuse link-local and metadata addresses', () => {
  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://[fe80::1]/hook',
    'http://0xa9fea9fe/',
  ])('refuses %s with 400 naming url and the rule', async (url) => {
    const res = await create({ url });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.issues).toEqual([{ path: 'url', rule: expect.stringContaining('169.254.0.0/16') }]);
    expect(await list()).toEqual([]);
  });

  it('accepts http on loopback, where local integrators listen', async () => {
    const res = await create({ url: 'http://127.0.0.1:9/local-integrator' });
    expect(res.status).toBe(201);
    expect((await remove(((await res.json()) as WebhookBody).id)).status).toBe(204);
  });
});

/** An in-memory SNS stand-in for the handlers' unit tests: subscriptions pending until confirmed. */
const fakeRegistry = (): WebhookRegistry & { subs: Map<string, Webhook> } => {
  const subs = new Map<string, Webhook>();
  let n = 0;
  return {
    subs,
    async add(url, filterPolicy) {
      const webhook: Webhook = {
        id: `sub-${++n}`,
        url,
        ...(filterPolicy ? { filterPolicy } : {}),
        status: 'pending-confirmation',
      };
      subs.set(webhook.id, webhook);
      return webhook;
    },
    async list() {
      return [...subs.values()];
    },
    async get(id) {
      return subs.get(id);
    },
    async remove(id) {
      return subs.delete(id);
    },
  };
};

const apiEvent = (
  method: string,
  body?: unknown,
  id?: string,
  caller: Record<string, string> | null = { keyName: 'newsroom', keyId: '0123456789abcdef' },
): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: `${method} /api/webhooks${id ? '/{id}' : ''}`,
    rawPath: `/api/webhooks${id ? `/${id}` : ''}`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    ...(id ? { pathParameters: { id } } : {}),
    requestContext: {
      requestId: 'req-1',
      http: { method, path: '/api/webhooks', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      ...(caller ? { authorizer: { lambda: caller } } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;

const context = { awsRequestId: 'req-1' } as Context;

describe('the webhook functions as deployed to AWS', () => {
  let table: TestTable;
  let owners: WebhookOwnerStore;
  let registry: ReturnType<typeof fakeRegistry>;
  let deps: WebhookDeps;
  beforeAll(async () => {
    table = await startTestTable();
    owners = makeWebhookOwnerStore(table.db, table.tableName);
  });
  afterAll(() => table.close());

  const setUp = () => {
    registry = fakeRegistry();
    deps = { webhooks: registry, owners, perKey: 50, httpsOnly: true, now: () => '2026-01-01T00:00:00.000Z' };
  };

  it('refuses an http URL with 400 naming url and the rule, and subscribes nothing', async () => {
    setUp();
    const res = await createWebhook(deps)(
      apiEvent('POST', { url: 'http://hooks.example.org/plain' }),
      context,
    );
    expect(res.statusCode).toBe(400);
    const { error } = JSON.parse(res.body ?? '') as ErrorBody;
    expect(error.issues).toEqual([{ path: 'url', rule: expect.stringContaining('must be an https URL') }]);
    expect(registry.subs.size).toBe(0);
  });

  it('takes an https URL, records its owner, and lists it pending confirmation, query left out', async () => {
    setUp();
    const res = await createWebhook(deps)(
      apiEvent('POST', { url: 'https://hooks.example.org/aws?key=k' }),
      context,
    );
    expect(res.statusCode).toBe(201);
    const webhook = JSON.parse(res.body ?? '') as WebhookBody;
    expect(webhook).toEqual({
      id: 'sub-1',
      url: 'https://hooks.example.org/aws',
      status: 'pending-confirmation',
    });
    expect(await owners.isOwner('0123456789abcdef', 'sub-1')).toBe(true);

    const listed = await listWebhooksHandler(deps)(apiEvent('GET'), context);
    expect(JSON.parse(listed.body ?? '')).toEqual({ webhooks: [webhook] });
    const other = await listWebhooksHandler(deps)(
      apiEvent('GET', undefined, undefined, { keyName: 'other', keyId: 'fedcba9876543210' }),
      context,
    );
    expect(JSON.parse(other.body ?? '')).toEqual({ webhooks: [] });

    const removedByOther = await deleteWebhook(deps)(
      apiEvent('DELETE', undefined, 'sub-1', { keyName: 'other', keyId: 'fedcba9876543210' }),
      context,
    );
    expect(removedByOther.statusCode).toBe(404);
    expect(registry.subs.has('sub-1')).toBe(true);
    expect((await deleteWebhook(deps)(apiEvent('DELETE', undefined, 'sub-1'), context)).statusCode).toBe(204);
    expect(registry.subs.size).toBe(0);
    expect(await owners.isOwner('0123456789abcdef', 'sub-1')).toBe(false);
  });

  it('reads the owner records with strongly consistent reads, so racing creates see each other', async () => {
    // A Query is eventually consistent unless asked: the recount after a create could miss a record
    // written a moment before by a racing create, and the cap would not hold.
    const sent: { command: string; input: Record<string, unknown> }[] = [];
    table.db.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push({ command: context.commandName ?? '', input: args.input as Record<string, unknown> });
        return next(args);
      },
      { step: 'initialize', name: 'recordOwnerReads' },
    );
    try {
      await owners.listOwned('0123456789abcdef');
      await owners.isOwner('0123456789abcdef', 'sub-1');
    } finally {
      table.db.middlewareStack.remove('recordOwnerReads');
    }
    const reads = sent.filter((s) => s.command === 'QueryCommand' || s.command === 'GetItemCommand');
    expect(reads.map((s) => s.command)).toEqual(['QueryCommand', 'GetItemCommand']);
    for (const read of reads) expect(read.input.ConsistentRead).toBe(true);
  });

  it('answers 401 when no authorizer named the caller', async () => {
    setUp();
    const res = await createWebhook(deps)(
      apiEvent('POST', { url: 'https://hooks.example.org/x' }, undefined, null),
      context,
    );
    expect(res.statusCode).toBe(401);
    expect(registry.subs.size).toBe(0);
  });

  it('wires https only, and creating requires WEBHOOKS_PER_KEY from the environment', () => {
    const env = {
      TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:changes',
      TABLE_NAME: 'tidings',
      WEBHOOKS_PER_KEY: '20',
      AWS_REGION: 'eu-west-1',
    };
    const wired = createWebhookDepsFromEnv(env);
    expect(wired.httpsOnly).toBe(true);
    expect(wired.perKey).toBe(20);
    expect(() => createWebhookDepsFromEnv({ ...env, WEBHOOKS_PER_KEY: '' })).toThrow(MissingSettingError);
    expect(() => createWebhookDepsFromEnv({ ...env, WEBHOOKS_PER_KEY: 'lots' })).toThrow(/WEBHOOKS_PER_KEY/);
    // Listing and deleting never meet the cap, and are not given the setting.
    const { WEBHOOKS_PER_KEY: _, ...withoutCap } = env;
    expect(webhookDepsFromEnv(withoutCap).httpsOnly).toBe(true);
  });
});

describe('the SNS registry reads one subscription', () => {
  const topicArn = 'arn:aws:sns:eu-west-1:123456789012:changes';
  /** An SNS client that answers GetSubscriptionAttributes from a table of subscriptions. */
  const snsAnswering = (subs: Record<string, Record<string, string>>) =>
    ({
      send: async (command: { input: { SubscriptionArn?: string } }) => {
        const attrs = subs[command.input.SubscriptionArn ?? ''];
        if (!attrs)
          throw Object.assign(new Error('Subscription does not exist'), { name: 'NotFoundException' });
        return { Attributes: attrs };
      },
    }) as unknown as SNSClient;

  it('gives URL, filter policy and status; undefined when gone or not an HTTP(S) subscription', async () => {
    const registry = makeSnsWebhooks(
      snsAnswering({
        [`${topicArn}:a1`]: {
          Protocol: 'https',
          Endpoint: 'https://hooks.example.org/a?token=t',
          FilterPolicy: '{"tags":["russia"]}',
          PendingConfirmation: 'false',
        },
        [`${topicArn}:p2`]: {
          Protocol: 'https',
          Endpoint: 'https://hooks.example.org/p',
          PendingConfirmation: 'true',
        },
        [`${topicArn}:q3`]: { Protocol: 'sqs', Endpoint: 'arn:aws:sqs:eu-west-1:123456789012:q' },
      }),
      topicArn,
    );
    expect(await registry.get('a1')).toEqual({
      id: 'a1',
      url: 'https://hooks.example.org/a?token=t',
      filterPolicy: { tags: ['russia'] },
      status: 'confirmed',
    });
    expect(await registry.get('p2')).toEqual({
      id: 'p2',
      url: 'https://hooks.example.org/p',
      status: 'pending-confirmation',
    });
    expect(await registry.get('q3')).toBeUndefined();
    expect(await registry.get('gone')).toBeUndefined();
  });
});
