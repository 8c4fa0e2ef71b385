import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILTER_POLICY_QUOTA } from '../../shared/services/webhooks.js';
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

  it('lists every webhook with its filter policy and status', async () => {
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
    quota = await startTestRuntime();
  });
  afterAll(() => quota.dispose());

  const post = (body: unknown) => quota.write('POST', '/api/webhooks', body);

  it('refuses the 201st filtered webhook with 409, and still takes unfiltered ones', async () => {
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
