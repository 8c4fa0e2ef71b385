import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable, startDynalite } from '../../local/dynamodb.js';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

/**
 * Starts the test runtime on a table that is already ACTIVE. `ensureTable` returns as soon as
 * CreateTable answers, while dynalite flips the table to ACTIVE a tick later, so the runtime's
 * first PutItem (the API key) often fails with ResourceNotFoundException. Creating the table
 * first, and waiting for it, keeps the suite deterministic.
 */
const startReadyRuntime = async (): Promise<TestRuntime> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tidings-routes-'));
  mkdirSync(join(dataDir, 'dynamodb'));
  const dynamo = await startDynalite(join(dataDir, 'dynamodb'));
  const db = createDocumentClient({ endpoint: dynamo.endpoint });
  try {
    await ensureTable(db, LOCAL_TABLE);
    for (let i = 0; i < 500; i++) {
      const { Table } = await db.send(new DescribeTableCommand({ TableName: LOCAL_TABLE }));
      const active =
        Table?.TableStatus === 'ACTIVE' &&
        (Table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE');
      if (active) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    db.destroy();
    await dynamo.close();
  }
  const runtime = await startTestRuntime({ dataDir });
  return {
    ...runtime,
    async dispose() {
      await runtime.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

interface EventBody {
  id: string;
  date: string;
  headline: string;
  body: string;
  topic?: string;
  tags: { slug: string; name: string }[];
  sources: { name: string; url: string }[];
  image?: { url: string; caption?: string };
  publishedAt: string;
  updatedAt: string;
  revision: number;
  deleted?: true;
  deletedAt?: string;
}

interface ListBody {
  events: EventBody[];
  nextCursor: string | null;
}

interface ErrorBody {
  error: { code: string; message: string; issues?: { path: string; rule: string }[] };
}

interface TagsBody {
  tags: { slug: string; name: string; count: number }[];
}

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startReadyRuntime();
});

afterAll(async () => {
  await rt?.dispose();
});

const post = (input: unknown) => rt.write('POST', '/api/events', input);
const put = (id: string, input: unknown, headers: Record<string, string> = {}) =>
  rt.write('PUT', `/api/events/${id}`, input, headers);
const del = (id: string, headers: Record<string, string> = {}) =>
  rt.write('DELETE', `/api/events/${id}`, undefined, headers);
const get = (id: string, init?: RequestInit) => rt.request(`/api/events/${id}`, init);

/** Posts an event and returns the stored body, failing the test unless it was created. */
const create = async (overrides: Record<string, unknown>): Promise<EventBody> => {
  const res = await post(makeEventInput(overrides));
  const body = (await res.json()) as EventBody;
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
};

/** Follows nextCursor from the first page until it is null; returns every page. */
const allPages = async (query: string, limit: number): Promise<EventBody[][]> => {
  const pages: EventBody[][] = [];
  let cursor: string | null = null;
  do {
    const qs = `${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await rt.request(`/api/events?${qs}`);
    const body = (await res.json()) as ListBody;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.events.length).toBeLessThanOrEqual(limit);
    pages.push(body.events);
    cursor = body.nextCursor;
    expect(pages.length).toBeLessThan(200);
  } while (cursor !== null);
  return pages;
};

const tagsNow = async (): Promise<TagsBody['tags']> => {
  await rt.capture.idle();
  const res = await rt.request('/api/tags');
  expect(res.status).toBe(200);
  return ((await res.json()) as TagsBody).tags;
};

const tagCount = (tags: TagsBody['tags'], slug: string): number | undefined =>
  tags.find((t) => t.slug === slug)?.count;

const newestFirstKey = (e: EventBody): string => `${e.date}#${e.id}`;

const expectNewestFirst = (events: EventBody[]): void => {
  const keys = events.map(newestFirstKey);
  expect(keys).toEqual([...keys].sort().reverse());
};

describe('POST /api/events', () => {
  it('creates an event: 201 with Location, ETag and the stored event', async () => {
    const input = makeEventInput({ headline: 'Routes create: parliament passes the budget' });
    const res = await post(input);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as EventBody;
    expect(body).toMatchObject({
      id: '2016/11/16/routes-create-parliament-passes-the-budget',
      date: '2016-11-16',
      headline: 'Routes create: parliament passes the budget',
      body: input.body,
      topic: 'Russian President',
      tags: [
        { slug: 'russia', name: 'Russia' },
        { slug: 'vladimir-putin', name: 'Vladimir Putin' },
      ],
      sources: input.sources,
      image: input.image,
      revision: 1,
    });
    expect(body.publishedAt).toBe(body.updatedAt);
    expect(Number.isNaN(Date.parse(body.publishedAt))).toBe(false);
    expect(res.headers.get('location')).toBe(`/api/events/${body.id}`);
    expect(res.headers.get('etag')).toBe('"1"');

    const fetched = await rt.request(res.headers.get('location') ?? '');
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual(body);
  });

  it('uses the id given in the body', async () => {
    const created = await create({
      id: '2016/11/16/routes-explicit-id',
      headline: 'Routes explicit id event',
    });
    expect(created.id).toBe('2016/11/16/routes-explicit-id');
    expect((await get('2016/11/16/routes-explicit-id')).status).toBe(200);
  });

  it('answers 200 with the stored event when the identical event is posted again', async () => {
    const input = makeEventInput({ headline: 'Routes repost: identical event posted twice' });
    const first = await post(input);
    expect(first.status).toBe(201);
    const stored = (await first.json()) as EventBody;

    const again = await post(input);
    expect(again.status).toBe(200);
    expect(again.headers.get('location')).toBe(`/api/events/${stored.id}`);
    expect(again.headers.get('etag')).toBe('"1"');
    expect(await again.json()).toEqual(stored);

    // Same content after normalization (surrounding blanks are trimmed) is the same event too.
    const padded = await post({ ...input, headline: `  ${String(input.headline)}  ` });
    expect(padded.status).toBe(200);
    expect(((await padded.json()) as EventBody).revision).toBe(1);
  });

  it('answers 409 pointing to PUT when the id exists with different content, and changes nothing', async () => {
    const created = await create({ headline: 'Routes conflict: original wording' });
    const res = await post(
      makeEventInput({ id: created.id, headline: 'Routes conflict: different wording', body: 'Other.' }),
    );
    expect(res.status).toBe(409);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('conflict');
    expect(body.error.message).toContain(`PUT /api/events/${created.id}`);
    expect(body.error.message).toContain('revision 1');

    const after = await get(created.id);
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual(created);
  });
});

describe('POST /api/events/batch', () => {
  it('creates each new event and reports repeats and conflicts per item, in order', async () => {
    const a = makeEventInput({ headline: 'Routes batch: first item' });
    const b = makeEventInput({ headline: 'Routes batch: second item' });
    const c = makeEventInput({ date: '2016-11-15', headline: 'Routes batch: third item' });
    const bChanged = { ...b, body: 'A different body for the same id.' };
    const res = await rt.write('POST', '/api/events/batch', { events: [a, b, c, a, bChanged] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      summary: { created: number; unchanged: number; rejected: number };
      results: { index: number; status: number; id?: string; revision?: number; result?: string }[];
    };
    expect(body.summary).toEqual({ created: 3, unchanged: 1, rejected: 1 });
    expect(body.results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(body.results.slice(0, 4)).toEqual([
      { index: 0, status: 201, id: '2016/11/16/routes-batch-first-item', revision: 1, result: 'created' },
      { index: 1, status: 201, id: '2016/11/16/routes-batch-second-item', revision: 1, result: 'created' },
      { index: 2, status: 201, id: '2016/11/15/routes-batch-third-item', revision: 1, result: 'created' },
      { index: 3, status: 200, id: '2016/11/16/routes-batch-first-item', revision: 1, result: 'unchanged' },
    ]);
    expect(body.results[4]).toMatchObject({
      index: 4,
      status: 409,
      id: '2016/11/16/routes-batch-second-item',
      error: {
        code: 'conflict',
        message: expect.stringContaining('PUT /api/events/2016/11/16/routes-batch-second-item'),
      },
    });

    for (const id of ['2016/11/16/routes-batch-first-item', '2016/11/15/routes-batch-third-item']) {
      expect((await get(id)).status).toBe(200);
    }
    const second = (await (await get('2016/11/16/routes-batch-second-item')).json()) as EventBody;
    expect(second.body).toBe(b.body);
    expect(second.revision).toBe(1);

    // The same batch again: every item is already there.
    const again = await rt.write('POST', '/api/events/batch', { events: [a, b, c] });
    expect(again.status).toBe(200);
    const againBody = (await again.json()) as typeof body;
    expect(againBody.summary).toEqual({ created: 0, unchanged: 3, rejected: 0 });
    expect(againBody.results.every((r) => r.status === 200 && r.result === 'unchanged')).toBe(true);
  });

  it('re-creates a deleted event with the revision after its tombstone', async () => {
    const created = await create({ headline: 'Routes batch: deleted then re-posted' });
    const tombstone = (await (await del(created.id)).json()) as EventBody;
    expect(tombstone.revision).toBe(2);
    const res = await rt.write('POST', '/api/events/batch', {
      events: [makeEventInput({ headline: 'Routes batch: deleted then re-posted' })],
    });
    const body = (await res.json()) as { results: { status: number; revision: number }[] };
    expect(body.results[0]).toMatchObject({ status: 201, revision: 3 });
    const fetched = await get(created.id);
    expect(fetched.status).toBe(200);
    expect(((await fetched.json()) as EventBody).revision).toBe(3);
  });
});

describe('GET /api/events/{id}', () => {
  it('answers 200 with an ETag, 304 for a matching If-None-Match, and accepts %2F in the id', async () => {
    const created = await create({ headline: 'Routes get: conditional request' });
    const res = await get(created.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.headers.get('cache-control')).toContain('max-age');
    expect(await res.json()).toEqual(created);

    const notModified = await get(created.id, { headers: { 'if-none-match': '"1"' } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('etag')).toBe('"1"');

    const stale = await get(created.id, { headers: { 'if-none-match': '"0"' } });
    expect(stale.status).toBe(200);

    const encoded = await get(encodeURIComponent(created.id));
    expect(encoded.status).toBe(200);
    expect(await encoded.json()).toEqual(created);
  });

  it('answers 404 for an unknown id, 410 for a deleted one and 400 for a malformed one', async () => {
    const missing = await get('2016/11/16/routes-never-existed');
    expect(missing.status).toBe(404);
    const missingBody = (await missing.json()) as ErrorBody;
    expect(missingBody.error.code).toBe('not_found');
    expect(missingBody.error.message).toContain('2016/11/16/routes-never-existed');

    const created = await create({ headline: 'Routes get: deleted event' });
    expect((await del(created.id)).status).toBe(200);
    const gone = await get(created.id);
    expect(gone.status).toBe(410);
    const goneBody = (await gone.json()) as ErrorBody;
    expect(goneBody.error.code).toBe('gone');
    expect(goneBody.error.message).toContain(created.id);

    const malformed = await get('2016/11/16/Not_A_Slug');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorBody).error.issues).toContainEqual(
      expect.objectContaining({ path: 'id' }),
    );
  });
});

describe('PUT /api/events/{id}', () => {
  it('corrects an event: next revision, new updatedAt, same id and publishedAt', async () => {
    const created = await create({ headline: 'Routes put: wording before correction' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const res = await put(
      created.id,
      makeEventInput({ headline: 'Routes put: wording after correction', body: 'Corrected body.' }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    const corrected = (await res.json()) as EventBody;
    expect(corrected).toMatchObject({
      id: created.id,
      headline: 'Routes put: wording after correction',
      body: 'Corrected body.',
      publishedAt: created.publishedAt,
      revision: 2,
    });
    expect(corrected.updatedAt > created.updatedAt).toBe(true);

    const fetched = await get(created.id);
    expect(fetched.headers.get('etag')).toBe('"2"');
    expect(await fetched.json()).toEqual(corrected);

    // The id in the body may be given when it matches the path.
    const withId = await put(
      created.id,
      makeEventInput({ id: created.id, headline: 'Routes put: third wording', body: 'Corrected body.' }),
    );
    expect(withId.status).toBe(200);
    expect(((await withId.json()) as EventBody).revision).toBe(3);
  });

  it('answers 200 without a new revision when the correction changes nothing', async () => {
    const input = makeEventInput({ headline: 'Routes put: no-op correction' });
    const created = await create(input);
    const res = await put(created.id, input);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(await res.json()).toEqual(created);
  });

  it('honours If-Match: 200 when current, 412 when stale, and a stale write changes nothing', async () => {
    const created = await create({ headline: 'Routes put: guarded by If-Match' });
    const ok = await put(
      created.id,
      makeEventInput({ headline: 'Routes put: guarded by If-Match', body: 'v2' }),
      {
        'if-match': '"1"',
      },
    );
    expect(ok.status).toBe(200);
    const v2 = (await ok.json()) as EventBody;
    expect(v2.revision).toBe(2);

    const stale = await put(
      created.id,
      makeEventInput({ headline: 'Routes put: guarded by If-Match', body: 'lost update' }),
      { 'if-match': '"1"' },
    );
    expect(stale.status).toBe(412);
    const staleBody = (await stale.json()) as ErrorBody;
    expect(staleBody.error.code).toBe('precondition_failed');
    expect(staleBody.error.message).toContain('revision 2');

    const after = await get(created.id);
    expect(after.headers.get('etag')).toBe('"2"');
    expect(await after.json()).toEqual(v2);

    const staleDelete = await del(created.id, { 'if-match': '"1"' });
    expect(staleDelete.status).toBe(412);
    expect((await get(created.id)).status).toBe(200);

    // If-Match uses strong comparison (RFC 9110): a weak ETag never matches.
    const weak = await put(
      created.id,
      makeEventInput({ headline: 'Routes put: guarded by If-Match', body: 'v3' }),
      { 'if-match': 'W/"2"' },
    );
    expect(weak.status).toBe(400);
    const star = await put(
      created.id,
      makeEventInput({ headline: 'Routes put: guarded by If-Match', body: 'v3' }),
      { 'if-match': '*' },
    );
    expect(star.status).toBe(200);
    expect(((await star.json()) as EventBody).revision).toBe(3);
  });

  it('answers 404 for an unknown event without creating it', async () => {
    const id = '2016/11/16/routes-put-unknown-event';
    const res = await put(id, makeEventInput({ headline: 'Routes put unknown event' }));
    expect(res.status).toBe(404);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toContain('POST /api/events');
    expect((await get(id)).status).toBe(404);
  });

  it('answers 410 for a deleted event and leaves it deleted', async () => {
    const created = await create({ headline: 'Routes put: deleted before correction' });
    expect((await del(created.id)).status).toBe(200);
    const res = await put(created.id, makeEventInput({ headline: 'Routes put: deleted before correction' }));
    expect(res.status).toBe(410);
    expect(((await res.json()) as ErrorBody).error.code).toBe('gone');
    expect((await get(created.id)).status).toBe(410);
  });

  it('rejects an invalid correction and keeps the stored revision', async () => {
    const created = await create({ headline: 'Routes put: invalid correction' });
    const res = await put(
      created.id,
      makeEventInput({ headline: 'Routes put: invalid correction', tags: [''] }),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.issues).toContainEqual({
      path: 'tags[0]',
      rule: 'must not be empty or blank',
    });
    const after = await get(created.id);
    expect(after.headers.get('etag')).toBe('"1"');
    expect(await after.json()).toEqual(created);
  });
});

describe('DELETE /api/events/{id}', () => {
  it('leaves a tombstone, is harmless to repeat, and the event can be posted again', async () => {
    const input = makeEventInput({ headline: 'Routes delete: tombstone lifecycle' });
    const created = await create(input);
    const res = await del(created.id);
    expect(res.status).toBe(200);
    const tombstone = (await res.json()) as EventBody;
    expect(tombstone).toMatchObject({
      id: created.id,
      date: created.date,
      headline: created.headline,
      publishedAt: created.publishedAt,
      revision: 2,
      deleted: true,
    });
    expect(tombstone.deletedAt).toBe(tombstone.updatedAt);
    expect(tombstone).not.toHaveProperty('body');

    const again = await del(created.id);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(tombstone);

    expect((await get(created.id)).status).toBe(410);

    const reposted = await post(input);
    expect(reposted.status).toBe(201);
    const live = (await reposted.json()) as EventBody;
    expect(live.revision).toBe(3);
    expect(reposted.headers.get('etag')).toBe('"3"');
    expect((await get(created.id)).status).toBe(200);
  });

  it('answers 404 for an unknown event', async () => {
    const res = await del('2016/11/16/routes-delete-unknown');
    expect(res.status).toBe(404);
    expect(((await res.json()) as ErrorBody).error.code).toBe('not_found');
    expect((await get('2016/11/16/routes-delete-unknown')).status).toBe(404);
  });

  it('deletes with a current If-Match and drops the event from every listing', async () => {
    const created = await create({
      date: '2016-04-07',
      headline: 'Routes delete: vanishes from listings',
      tags: ['Routes Vanishing Tag'],
    });
    await rt.capture.idle();
    const before = (await (await rt.request('/api/events?tag=routes-vanishing-tag')).json()) as ListBody;
    expect(before.events.map((e) => e.id)).toEqual([created.id]);

    expect((await del(created.id, { 'if-match': '"1"' })).status).toBe(200);
    await rt.capture.idle();

    const day = (await (await rt.request('/api/events?date=2016-04-07')).json()) as ListBody;
    expect(day.events).toEqual([]);
    const latest = (await allPages('', 100)).flat();
    expect(latest.map((e) => e.id)).not.toContain(created.id);
    expect((await rt.request('/api/events?tag=routes-vanishing-tag')).status).toBe(404);
  });
});

describe('GET /api/events listings', () => {
  it('pages through a tag with limit=2, newest first, without duplicates', async () => {
    const dates = ['2016-05-03', '2016-05-01', '2016-05-05', '2016-05-02', '2016-05-04'];
    const ids: string[] = [];
    for (const [i, date] of dates.entries()) {
      const created = await create({
        date,
        headline: `Routes paging: tagged event ${i}`,
        tags: ['Routes Paging Tag', 'Routes Paging Other'],
      });
      ids.push(created.id);
    }
    // Same tag pool, same day: ties on the date are broken by id.
    const twin = await create({
      date: '2016-05-03',
      headline: 'Routes paging: a twin',
      tags: ['Routes Paging Tag'],
    });
    ids.push(twin.id);
    await create({
      date: '2016-05-06',
      headline: 'Routes paging: untagged event',
      tags: ['Routes Not Paged'],
    });
    await rt.capture.idle();

    const pages = await allPages('tag=routes-paging-tag', 2);
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.slice(0, 3).map((p) => p.length)).toEqual([2, 2, 2]);
    const events = pages.flat();
    const seen = events.map((e) => e.id);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...ids].sort());
    expectNewestFirst(events);
    expect(events.map((e) => e.date)).toEqual([
      '2016-05-05',
      '2016-05-04',
      '2016-05-03',
      '2016-05-03',
      '2016-05-02',
      '2016-05-01',
    ]);
    expect(events.every((e) => e.tags.some((t) => t.slug === 'routes-paging-tag'))).toBe(true);

    // One page with a big limit says the same.
    const whole = (await (
      await rt.request('/api/events?tag=routes-paging-tag&limit=100')
    ).json()) as ListBody;
    expect(whole.events.map((e) => e.id)).toEqual(seen);
    expect(whole.nextCursor).toBeNull();
  });

  it('lists a tag with the corrected copy of an event', async () => {
    const created = await create({ headline: 'Routes tag copy: before', tags: ['Routes Copy Tag'] });
    await put(created.id, makeEventInput({ headline: 'Routes tag copy: after', tags: ['Routes Copy Tag'] }));
    await rt.capture.idle();
    const res = await rt.request('/api/events?tag=routes-copy-tag');
    const body = (await res.json()) as ListBody;
    expect(body.events).toHaveLength(1);
    expect(body.events[0]).toMatchObject({ id: created.id, headline: 'Routes tag copy: after', revision: 2 });
  });

  it('answers 404 for a tag that has no events', async () => {
    const res = await rt.request('/api/events?tag=routes-no-such-tag');
    expect(res.status).toBe(404);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toContain('routes-no-such-tag');
  });

  it('pages through the latest events overall, newest first, without duplicates', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = await create({ date: `2017-01-0${i + 1}`, headline: `Routes latest: event ${i}` });
      mine.push(created.id);
    }
    const pages = await allPages('', 2);
    const events = pages.flat();
    const ids = events.map((e) => e.id);
    expect(pages[0]).toHaveLength(2);
    expect(new Set(ids).size).toBe(ids.length);
    expectNewestFirst(events);
    for (const id of mine) expect(ids).toContain(id);
    // These are the newest dates in this suite, so they lead the listing.
    expect(ids.slice(0, 5)).toEqual([...mine].reverse());
    expect(events.every((e) => e.deleted === undefined)).toBe(true);

    const whole = (await (await rt.request('/api/events?limit=100')).json()) as ListBody;
    expect(whole.events.map((e) => e.id)).toEqual(ids);

    const firstPage = (await (await rt.request('/api/events')).json()) as ListBody;
    expect(firstPage.events.map((e) => e.id)).toEqual(ids.slice(0, 20));
  });

  it('lists the events of one day, paged, and nothing from other days', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await create({ date: '2016-03-05', headline: `Routes day listing: event ${i}` })).id);
    }
    await create({ date: '2016-03-06', headline: 'Routes day listing: the next day' });
    await create({ date: '2016-03-04', headline: 'Routes day listing: the day before' });
    // A day is listed from the entries the change stream writes, as a tag is.
    await rt.capture.idle();

    const pages = await allPages('date=2016-03-05', 2);
    expect(pages[0]).toHaveLength(2);
    const events = pages.flat();
    const seen = events.map((e) => e.id);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(events.every((e) => e.date === '2016-03-05')).toBe(true);

    const empty = await rt.request('/api/events?date=1999-01-01');
    expect(empty.status).toBe(200);
    expect(await empty.json()).toEqual({ events: [], nextCursor: null });
  });
});

describe('GET /api/tags', () => {
  it('keeps counts in step with corrections that drop a tag and with deletes', async () => {
    const one = await create({
      headline: 'Routes counts: first event',
      tags: ['Routes Count Alpha', 'Routes Count Beta'],
    });
    const two = await create({ headline: 'Routes counts: second event', tags: ['Routes Count Beta'] });

    let tags = await tagsNow();
    expect(tags).toContainEqual({ slug: 'routes-count-alpha', name: 'Routes Count Alpha', count: 1 });
    expect(tags).toContainEqual({ slug: 'routes-count-beta', name: 'Routes Count Beta', count: 2 });
    const slugs = tags.map((t) => t.slug);
    expect(new Set(slugs).size).toBe(slugs.length);

    // A correction that drops Beta from the first event.
    const corrected = await put(
      one.id,
      makeEventInput({ headline: 'Routes counts: first event', tags: ['Routes Count Alpha'] }),
    );
    expect(corrected.status).toBe(200);
    tags = await tagsNow();
    expect(tagCount(tags, 'routes-count-alpha')).toBe(1);
    expect(tagCount(tags, 'routes-count-beta')).toBe(1);
    const beta = (await (await rt.request('/api/events?tag=routes-count-beta')).json()) as ListBody;
    expect(beta.events.map((e) => e.id)).toEqual([two.id]);

    // A correction that adds a tag.
    await put(
      two.id,
      makeEventInput({
        headline: 'Routes counts: second event',
        tags: ['Routes Count Beta', 'Routes Count Alpha'],
      }),
    );
    tags = await tagsNow();
    expect(tagCount(tags, 'routes-count-alpha')).toBe(2);
    expect(tagCount(tags, 'routes-count-beta')).toBe(1);

    // Deleting the second event empties Beta: it leaves the tag list and its listing answers 404.
    expect((await del(two.id)).status).toBe(200);
    tags = await tagsNow();
    expect(tagCount(tags, 'routes-count-alpha')).toBe(1);
    expect(tagCount(tags, 'routes-count-beta')).toBeUndefined();
    expect((await rt.request('/api/events?tag=routes-count-beta')).status).toBe(404);

    expect((await del(one.id)).status).toBe(200);
    tags = await tagsNow();
    expect(tagCount(tags, 'routes-count-alpha')).toBeUndefined();
  });

  it('does not count a rejected write', async () => {
    const created = await create({ headline: 'Routes counts: guarded', tags: ['Routes Guarded Tag'] });
    expect(tagCount(await tagsNow(), 'routes-guarded-tag')).toBe(1);

    const conflict = await post(
      makeEventInput({ id: created.id, headline: 'Other', tags: ['Routes Guarded Other'] }),
    );
    expect(conflict.status).toBe(409);
    const stale = await put(
      created.id,
      makeEventInput({ headline: 'Routes counts: guarded', tags: ['Routes Guarded Other'] }),
      { 'if-match': '"7"' },
    );
    expect(stale.status).toBe(412);

    const tags = await tagsNow();
    expect(tagCount(tags, 'routes-guarded-tag')).toBe(1);
    expect(tagCount(tags, 'routes-guarded-other')).toBeUndefined();
    expect(((await (await get(created.id)).json()) as EventBody).revision).toBe(1);
  });
});
