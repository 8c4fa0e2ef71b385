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
  const dataDir = mkdtempSync(join(tmpdir(), 'tidings-malformed-'));
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

interface ErrorBody {
  error: { code: string; message: string; issues?: { path: string; rule: string }[] };
}

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startReadyRuntime();
});

afterAll(async () => {
  await rt?.dispose();
});

/** An API key of the right shape that the runtime does not know. */
const UNKNOWN_KEY = `tdg_${'A'.repeat(43)}`;
const AUTH = '<the runtime key>';

interface Req {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path?: string;
  /** Sent as JSON.stringify(json). */
  json?: unknown;
  /** Sent as is: a string, or bytes (fetch then sets no content type). */
  raw?: string | Uint8Array;
  /** Merged over authorization and content-type; null removes a header. AUTH is the runtime key. */
  headers?: Record<string, string | null>;
}

type Expect =
  /** A validation error: this issue (exact path, rule containing the text) and a message naming both. */
  | { issue: { path: string; rule: string } }
  /** Another error of the function: its code and a message naming field and rule. */
  | { code: string; message: string }
  /** API Gateway's own answer. */
  | { gateway: string };

interface Case {
  name: string;
  req: Req;
  status: number;
  expect: Expect;
}

const send = (req: Req): Promise<Response> => {
  const merged: Record<string, string | null> = {
    authorization: AUTH,
    'content-type': 'application/json',
    ...req.headers,
  };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(merged)) {
    if (value !== null) headers[name] = value === AUTH ? `Bearer ${rt.apiKey}` : value;
  }
  const body = req.raw ?? (req.json === undefined ? undefined : JSON.stringify(req.json));
  return rt.request(req.path ?? '/api/events', {
    method: req.method ?? 'POST',
    headers,
    ...(body === undefined ? {} : { body }),
  });
};

let n = 0;
/** A valid event with a headline of its own, so no two cases can touch the same id. */
const event = (overrides: Record<string, unknown> = {}): Record<string, unknown> =>
  makeEventInput({ headline: `Malformed case event number ${++n}`, ...overrides });

const without = (key: string): Record<string, unknown> => {
  const input = event();
  delete input[key];
  return input;
};

const issue = (path: string, rule: string) => ({ issue: { path, rule } });
const malformed = (message: string) => ({ code: 'malformed_body', message });

const ID = '2016/11/16/malformed-put-target';
const BIG = JSON.stringify(event({ body: 'x'.repeat(300 * 1024) }));
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const cases: Case[] = [
  // Bodies that are not a JSON object.
  {
    name: 'truncated JSON',
    req: { raw: '{"date":"2016-11-16",' },
    status: 400,
    expect: malformed('body: is not valid JSON'),
  },
  {
    name: 'JSON with a trailing comma',
    req: { raw: '{"date":"2016-11-16",}' },
    status: 400,
    expect: malformed('body: is not valid JSON'),
  },
  {
    name: 'JSON with single quotes',
    req: { raw: "{'date':'2016-11-16'}" },
    status: 400,
    expect: malformed('body: is not valid JSON'),
  },
  {
    name: 'two JSON documents',
    req: { raw: '{}{}' },
    status: 400,
    expect: malformed('body: is not valid JSON'),
  },
  {
    name: 'JSON with NaN',
    req: { raw: '{"date":NaN}' },
    status: 400,
    expect: malformed('body: is not valid JSON'),
  },
  {
    name: 'a bare word',
    req: { raw: 'undefined' },
    status: 400,
    expect: malformed('body: is not valid JSON'),
  },
  {
    name: 'empty body',
    req: { raw: '' },
    status: 400,
    expect: malformed('body: is required (a JSON document)'),
  },
  {
    name: 'blank body',
    req: { raw: ' \n\t ' },
    status: 400,
    expect: malformed('body: is required (a JSON document)'),
  },
  { name: 'no body at all', req: {}, status: 400, expect: malformed('body: is required (a JSON document)') },
  {
    name: 'JSON array instead of an object',
    req: { json: [event()] },
    status: 400,
    expect: issue('', 'must be a JSON object (got array)'),
  },
  {
    name: 'JSON string instead of an object',
    req: { json: 'hello' },
    status: 400,
    expect: issue('', 'must be a JSON object (got string)'),
  },
  {
    name: 'JSON number instead of an object',
    req: { json: 42 },
    status: 400,
    expect: issue('', 'must be a JSON object (got number)'),
  },
  {
    name: 'JSON null instead of an object',
    req: { raw: 'null' },
    status: 400,
    expect: issue('', 'must be a JSON object (got null)'),
  },

  // Wrong types, field by field.
  {
    name: 'id is a number',
    req: { json: event({ id: 20161116 }) },
    status: 400,
    expect: issue('id', 'must be a string (got number)'),
  },
  {
    name: 'date is a number',
    req: { json: event({ date: 20161116 }) },
    status: 400,
    expect: issue('date', 'must be a string (got number)'),
  },
  {
    name: 'headline is a number',
    req: { json: event({ headline: 42 }) },
    status: 400,
    expect: issue('headline', 'must be a string (got number)'),
  },
  {
    name: 'headline is null',
    req: { json: event({ headline: null }) },
    status: 400,
    expect: issue('headline', 'must be a string (got null)'),
  },
  {
    name: 'body is an object',
    req: { json: event({ body: { text: 'x' } }) },
    status: 400,
    expect: issue('body', 'must be a string (got object)'),
  },
  {
    name: 'topic is a boolean',
    req: { json: event({ topic: true }) },
    status: 400,
    expect: issue('topic', 'must be a string (got boolean)'),
  },
  {
    name: 'tags is a string',
    req: { json: event({ tags: 'Russia' }) },
    status: 400,
    expect: issue('tags', 'must be an array (got string)'),
  },
  {
    name: 'a tag is a number',
    req: { json: event({ tags: ['Russia', 7] }) },
    status: 400,
    expect: issue('tags[1]', 'must be a string (got number)'),
  },
  {
    name: 'sources is an object',
    req: { json: event({ sources: { name: 'x', url: 'https://x.org' } }) },
    status: 400,
    expect: issue('sources', 'must be an array (got object)'),
  },
  {
    name: 'a source is a string',
    req: { json: event({ sources: ['https://x.org'] }) },
    status: 400,
    expect: issue('sources[0]', 'must be an object (got string)'),
  },
  {
    name: 'a source url is a number',
    req: { json: event({ sources: [{ name: 'X', url: 5 }] }) },
    status: 400,
    expect: issue('sources[0].url', 'must be a string (got number)'),
  },
  {
    name: 'a source name is missing',
    req: { json: event({ sources: [{ url: 'https://x.org/a' }] }) },
    status: 400,
    expect: issue('sources[0].name', 'is required'),
  },
  {
    name: 'image is a string',
    req: { json: event({ image: 'https://x.org/a.jpg' }) },
    status: 400,
    expect: issue('image', 'must be an object (got string)'),
  },
  {
    name: 'image caption is a number',
    req: { json: event({ image: { url: 'https://x.org/a.jpg', caption: 1 } }) },
    status: 400,
    expect: issue('image.caption', 'must be a string (got number)'),
  },

  // Required fields.
  { name: 'missing date', req: { json: without('date') }, status: 400, expect: issue('date', 'is required') },
  {
    name: 'missing headline',
    req: { json: without('headline') },
    status: 400,
    expect: issue('headline', 'is required'),
  },
  {
    name: 'blank headline',
    req: { json: event({ headline: '   ' }) },
    status: 400,
    expect: issue('headline', 'must not be empty or blank'),
  },

  // Lengths and counts.
  {
    name: 'headline of 501 characters',
    req: { json: event({ headline: 'h'.repeat(501) }) },
    status: 400,
    expect: issue('headline', 'must be at most 500 characters (got 501)'),
  },
  {
    name: 'body of 20,001 characters',
    req: { json: event({ body: 'b'.repeat(20_001) }) },
    status: 400,
    expect: issue('body', 'must be at most 20000 characters (got 20001)'),
  },
  {
    name: 'tag of 65 characters',
    req: { json: event({ tags: ['Russia', 't'.repeat(65)] }) },
    status: 400,
    expect: issue('tags[1]', 'must be at most 64 characters (got 65)'),
  },
  {
    name: 'tag of 10,000 characters',
    req: { json: event({ tags: ['t'.repeat(10_000)] }) },
    status: 400,
    expect: issue('tags[0]', 'must be at most 64 characters (got 10000)'),
  },
  {
    name: 'empty tag',
    req: { json: event({ tags: [''] }) },
    status: 400,
    expect: issue('tags[0]', 'must not be empty or blank'),
  },
  {
    name: 'punctuation-only tag (empty slug)',
    req: { json: event({ tags: ['Russia', '!?!'] }) },
    status: 400,
    expect: issue('tags[1]', '"!?!" has no letters or digits that can form a URL slug'),
  },
  {
    name: '21 tags',
    req: { json: event({ tags: Array.from({ length: 21 }, (_, i) => `Tag ${i}`) }) },
    status: 400,
    expect: issue('tags', 'must have at most 20 tags (got 21)'),
  },
  {
    name: 'duplicate tags differing in case',
    req: { json: event({ tags: ['Russia', 'russia'] }) },
    status: 400,
    expect: issue('tags[1]', 'duplicates tags[0] (both have the slug "russia")'),
  },
  {
    name: '21 sources',
    req: {
      json: event({
        sources: Array.from({ length: 21 }, (_, i) => ({ name: `S${i}`, url: `https://x.org/${i}` })),
      }),
    },
    status: 400,
    expect: issue('sources', 'must have at most 20 sources (got 21)'),
  },

  // URLs.
  {
    name: 'ftp: source url',
    req: { json: event({ sources: [{ name: 'X', url: 'ftp://x.org/a' }] }) },
    status: 400,
    expect: issue('sources[0].url', 'must be an absolute http or https URL (got ftp)'),
  },
  {
    name: 'javascript: source url',
    req: { json: event({ sources: [{ name: 'X', url: 'javascript:alert(1)' }] }) },
    status: 400,
    expect: issue('sources[0].url', 'must be an absolute http or https URL (got javascript)'),
  },
  {
    name: 'relative source url',
    req: { json: event({ sources: [{ name: 'X', url: '/news/a.html' }] }) },
    status: 400,
    expect: issue('sources[0].url', 'must be an absolute http or https URL'),
  },
  {
    name: 'mailto: source url',
    req: { json: event({ sources: [{ name: 'X', url: 'mailto:desk@x.org' }] }) },
    status: 400,
    expect: issue('sources[0].url', 'must be an absolute http or https URL (got mailto)'),
  },
  {
    name: 'source url with spaces',
    req: { json: event({ sources: [{ name: 'X', url: 'https://x.org/a b' }] }) },
    status: 400,
    expect: issue('sources[0].url', 'must not contain spaces or control characters'),
  },
  {
    name: 'data: image url',
    req: { json: event({ image: { url: 'data:image/png;base64,AAAA' } }) },
    status: 400,
    expect: issue('image.url', 'must be an absolute http or https URL (got data)'),
  },

  // Control characters and broken text.
  {
    name: 'headline with U+0000',
    req: { json: event({ headline: 'Null \u0000 byte' }) },
    status: 400,
    expect: issue('headline', 'must not contain control characters (found U+0000)'),
  },
  {
    name: 'headline with U+0007',
    req: { json: event({ headline: 'Bell \u0007 rings' }) },
    status: 400,
    expect: issue('headline', 'must not contain control characters (found U+0007)'),
  },
  {
    name: 'headline with U+001B',
    req: { json: event({ headline: 'Escape \u001b[31m red' }) },
    status: 400,
    expect: issue('headline', 'must not contain control characters (found U+001B)'),
  },
  {
    name: 'headline with U+0085',
    req: { json: event({ headline: 'Next \u0085 line' }) },
    status: 400,
    expect: issue('headline', 'must not contain control characters (found U+0085)'),
  },
  {
    name: 'headline with a lone surrogate',
    req: { json: event({ headline: 'Half \ud800 a pair' }) },
    status: 400,
    expect: issue('headline', 'must not contain control characters (found U+D800)'),
  },
  {
    name: 'headline with a newline',
    req: { json: event({ headline: 'Two\nlines' }) },
    status: 400,
    expect: issue('headline', 'must not contain control characters (found U+000A)'),
  },
  {
    name: 'body with U+0000',
    req: { json: event({ body: 'Null \u0000 byte' }) },
    status: 400,
    expect: issue('body', 'must not contain control characters other than tab and newline (found U+0000)'),
  },

  // Unknown fields.
  {
    name: 'unknown top-level field',
    req: { json: event({ author: 'someone' }) },
    status: 400,
    expect: issue(
      'author',
      'is not a known field (allowed: id, date, headline, body, topic, tags, sources, image)',
    ),
  },
  {
    name: 'unknown field in a source',
    req: { json: event({ sources: [{ name: 'X', url: 'https://x.org/a', foo: 1 }] }) },
    status: 400,
    expect: issue('sources[0].foo', 'is not a known field'),
  },
  {
    name: 'unknown field in the image',
    req: { json: event({ image: { url: 'https://x.org/a.jpg', foo: 1 } }) },
    status: 400,
    expect: issue('image.foo', 'is not a known field'),
  },

  // Dates and ids.
  {
    name: 'date 2016-02-30',
    req: { json: event({ date: '2016-02-30' }) },
    status: 400,
    expect: issue('date', 'must be a real calendar date (2016-02-30 does not exist)'),
  },
  {
    name: 'date 2016-13-01',
    req: { json: event({ date: '2016-13-01' }) },
    status: 400,
    expect: issue('date', 'must be a real calendar date (2016-13-01 does not exist)'),
  },
  {
    name: 'date 16-11-2016',
    req: { json: event({ date: '16-11-2016' }) },
    status: 400,
    expect: issue('date', 'must be a date written YYYY-MM-DD'),
  },
  {
    name: 'date with a time',
    req: { json: event({ date: '2016-11-16T10:00:00Z' }) },
    status: 400,
    expect: issue('date', 'must be a date written YYYY-MM-DD'),
  },
  {
    name: 'id with another date',
    req: { json: event({ id: '2016/11/15/malformed-wrong-day' }) },
    status: 400,
    expect: issue('id', "must start with the event's date (2016/11/16/)"),
  },
  {
    name: 'id with uppercase',
    req: { json: event({ id: '2016/11/16/Malformed-Upper' }) },
    status: 400,
    expect: issue('id', 'must be YYYY/MM/DD/<slug> with a real date'),
  },
  {
    name: 'id without a slug',
    req: { json: event({ id: '2016/11/16/' }) },
    status: 400,
    expect: issue('id', 'must be YYYY/MM/DD/<slug>'),
  },

  // Size, media type and authorization.
  {
    name: '300 KB body',
    req: { raw: BIG },
    status: 413,
    expect: {
      code: 'payload_too_large',
      message: `body: must be at most 262144 bytes (got ${Buffer.byteLength(BIG)})`,
    },
  },
  {
    name: 'text/plain content type',
    req: { json: event(), headers: { 'content-type': 'text/plain' } },
    status: 415,
    expect: {
      code: 'unsupported_media_type',
      message: 'content-type: must be application/json with UTF-8 (got text/plain)',
    },
  },
  {
    name: 'missing content type',
    req: { raw: new TextEncoder().encode(JSON.stringify(event())), headers: { 'content-type': null } },
    status: 415,
    expect: {
      code: 'unsupported_media_type',
      message: 'content-type: header is required and must be application/json',
    },
  },
  {
    name: 'JSON in latin1',
    req: { json: event(), headers: { 'content-type': 'application/json; charset=latin1' } },
    status: 415,
    expect: {
      code: 'unsupported_media_type',
      message: 'content-type: must be application/json with UTF-8 (got application/json; charset=latin1)',
    },
  },
  {
    name: 'form content type',
    req: { raw: 'date=2016-11-16', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    status: 415,
    expect: { code: 'unsupported_media_type', message: 'content-type: must be application/json with UTF-8' },
  },
  {
    name: 'missing Authorization',
    req: { json: event(), headers: { authorization: null } },
    status: 401,
    expect: { gateway: 'Unauthorized' },
  },
  {
    name: 'unknown API key',
    req: { json: event(), headers: { authorization: `Bearer ${UNKNOWN_KEY}` } },
    status: 403,
    expect: { gateway: 'Forbidden' },
  },
  {
    name: 'Basic scheme',
    req: {
      json: event(),
      headers: { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` },
    },
    status: 403,
    expect: { gateway: 'Forbidden' },
  },
  {
    name: 'Bearer without a key',
    req: { json: event(), headers: { authorization: 'Bearer' } },
    status: 403,
    expect: { gateway: 'Forbidden' },
  },
  {
    name: 'PUT without Authorization',
    req: { method: 'PUT', path: `/api/events/${ID}`, json: event(), headers: { authorization: null } },
    status: 401,
    expect: { gateway: 'Unauthorized' },
  },
  {
    name: 'DELETE with an unknown key',
    req: { method: 'DELETE', path: `/api/events/${ID}`, headers: { authorization: `Bearer ${UNKNOWN_KEY}` } },
    status: 403,
    expect: { gateway: 'Forbidden' },
  },
  {
    name: 'batch without Authorization',
    req: { path: '/api/events/batch', json: { events: [event()] }, headers: { authorization: null } },
    status: 401,
    expect: { gateway: 'Unauthorized' },
  },

  // Batches.
  {
    name: 'batch with 101 events',
    req: { path: '/api/events/batch', json: { events: Array.from({ length: 101 }, () => event()) } },
    status: 400,
    expect: issue('events', 'must hold at most 100 events (got 101)'),
  },
  {
    name: 'batch body is an array',
    req: { path: '/api/events/batch', json: [event()] },
    status: 400,
    expect: issue('body', 'must be a JSON object {"events": [...]}'),
  },
  {
    name: 'batch body is a string',
    req: { path: '/api/events/batch', json: 'events' },
    status: 400,
    expect: issue('body', 'must be a JSON object {"events": [...]}'),
  },
  {
    name: 'batch with an unknown field',
    req: { path: '/api/events/batch', json: { events: [event()], dryRun: true } },
    status: 400,
    expect: issue('dryRun', 'is not a known field (allowed: events)'),
  },
  {
    name: 'batch without events',
    req: { path: '/api/events/batch', json: {} },
    status: 400,
    expect: issue('events', 'is required and must be an array of events'),
  },
  {
    name: 'batch events is an object',
    req: { path: '/api/events/batch', json: { events: event() } },
    status: 400,
    expect: issue('events', 'is required and must be an array of events'),
  },
  {
    name: 'batch with no events',
    req: { path: '/api/events/batch', json: { events: [] } },
    status: 400,
    expect: issue('events', 'must hold at least one event'),
  },
  {
    name: 'batch that is not JSON',
    req: { path: '/api/events/batch', raw: '{"events":[' },
    status: 400,
    expect: malformed('body: is not valid JSON'),
  },

  // Corrections and deletes.
  {
    name: 'PUT with another id in the body',
    req: { method: 'PUT', path: `/api/events/${ID}`, json: event({ id: '2016/11/16/malformed-other-id' }) },
    status: 400,
    expect: issue('id', `must match the id in the path (${ID}) or be left out`),
  },
  {
    name: 'PUT moving the event to another day',
    req: { method: 'PUT', path: `/api/events/${ID}`, json: event({ date: '2016-11-17' }) },
    status: 400,
    expect: issue('id', "must start with the event's date (2016/11/17/)"),
  },
  {
    name: 'PUT with a bad If-Match',
    req: { method: 'PUT', path: `/api/events/${ID}`, json: event(), headers: { 'if-match': 'revision-3' } },
    status: 400,
    expect: issue('if-match', 'must be an ETag from this API such as "3", or * (got revision-3)'),
  },
  {
    name: 'DELETE with a bad If-Match',
    req: { method: 'DELETE', path: `/api/events/${ID}`, headers: { 'if-match': '"abc"' } },
    status: 400,
    expect: issue('if-match', 'must be an ETag from this API'),
  },
  {
    name: 'PUT to a malformed id',
    req: { method: 'PUT', path: '/api/events/2016/11/16/Not_Valid', json: event() },
    status: 400,
    expect: issue('id', 'must be an event id such as 2016/11/16/<slug>'),
  },
  {
    name: 'PUT with an invalid body',
    req: { method: 'PUT', path: `/api/events/${ID}`, json: event({ headline: 'x'.repeat(501) }) },
    status: 400,
    expect: issue('headline', 'must be at most 500 characters (got 501)'),
  },
  {
    name: 'DELETE of a malformed id',
    req: { method: 'DELETE', path: '/api/events/2016/02/30/no-such-day' },
    status: 400,
    expect: issue('id', 'must be an event id such as 2016/11/16/<slug>'),
  },

  // Reads.
  {
    name: 'GET with an uppercase id',
    req: { method: 'GET', path: '/api/events/2016/11/16/Mixed-Case' },
    status: 400,
    expect: issue('id', 'must be an event id such as 2016/11/16/<slug>'),
  },
  {
    name: 'GET with an impossible date in the id',
    req: { method: 'GET', path: '/api/events/2016/13/01/no-such-month' },
    status: 400,
    expect: issue('id', 'must be an event id such as 2016/11/16/<slug>'),
  },
  {
    name: 'GET with a short id',
    req: { method: 'GET', path: '/api/events/some-slug' },
    status: 400,
    expect: issue('id', 'must be an event id such as 2016/11/16/<slug>'),
  },
  {
    name: 'GET with broken percent-encoding',
    req: { method: 'GET', path: '/api/events/2016/11/16/%E0%A4%A' },
    status: 400,
    expect: issue('id', 'is not a valid URL-encoded event id'),
  },
  {
    name: 'list with limit=0',
    req: { method: 'GET', path: '/api/events?limit=0' },
    status: 400,
    expect: issue('query.limit', 'must be a whole number from 1 to 100 (got 0)'),
  },
  {
    name: 'list with limit=101',
    req: { method: 'GET', path: '/api/events?limit=101' },
    status: 400,
    expect: issue('query.limit', 'must be a whole number from 1 to 100 (got 101)'),
  },
  {
    name: 'list with limit=abc',
    req: { method: 'GET', path: '/api/events?limit=abc' },
    status: 400,
    expect: issue('query.limit', 'must be a whole number from 1 to 100 (got abc)'),
  },
  {
    name: 'list with limit=-1',
    req: { method: 'GET', path: '/api/events?limit=-1' },
    status: 400,
    expect: issue('query.limit', 'must be a whole number from 1 to 100 (got -1)'),
  },
  {
    name: 'list with limit=2.5',
    req: { method: 'GET', path: '/api/events?tag=russia&limit=2.5' },
    status: 400,
    expect: issue('query.limit', 'must be a whole number from 1 to 100 (got 2.5)'),
  },
  {
    name: 'list with limit given twice',
    req: { method: 'GET', path: '/api/events?limit=1&limit=2' },
    status: 400,
    expect: issue('query.limit', 'must be a whole number from 1 to 100 (got 1,2)'),
  },
  {
    name: 'list by date and tag together',
    req: { method: 'GET', path: '/api/events?date=2016-11-16&tag=russia' },
    status: 400,
    expect: issue('query', 'give either date or tag, not both'),
  },
  {
    name: 'list with an unknown parameter',
    req: { method: 'GET', path: '/api/events?sort=asc' },
    status: 400,
    expect: issue('query.sort', 'is not a known parameter (allowed: date, tag, limit, cursor)'),
  },
  {
    name: 'list with an impossible date',
    req: { method: 'GET', path: '/api/events?date=2016-02-30' },
    status: 400,
    expect: issue('query.date', 'must be a real date written YYYY-MM-DD'),
  },
  {
    name: 'list with a tag that is not a slug',
    req: { method: 'GET', path: '/api/events?tag=Vladimir%20Putin' },
    status: 400,
    expect: issue('query.tag', 'must be a tag slug'),
  },
  {
    name: 'list with a garbage cursor',
    req: { method: 'GET', path: '/api/events?cursor=not-a-cursor' },
    status: 400,
    expect: issue('query.cursor', 'is not a cursor returned by this listing'),
  },
  {
    name: 'list with a cursor of another listing',
    req: { method: 'GET', path: `/api/events?cursor=${cursorOf({ l: 'DAY#2016-11-16', k: { PK: 'x' } })}` },
    status: 400,
    expect: issue('query.cursor', 'is not a cursor returned by this listing'),
  },
  {
    name: 'tag listing with a cursor of the latest listing',
    req: {
      method: 'GET',
      path: `/api/events?tag=russia&cursor=${cursorOf({ l: 'LATEST', k: { after: 'x' } })}`,
    },
    status: 400,
    expect: issue('query.cursor', 'is not a cursor returned by this listing'),
  },
  {
    name: 'tags with a parameter',
    req: { method: 'GET', path: '/api/tags?limit=5' },
    status: 400,
    expect: issue('query.limit', 'is not a known parameter'),
  },
];

describe('malformed requests', () => {
  it('covers at least 45 cases with distinct names', () => {
    expect(cases.length).toBeGreaterThanOrEqual(45);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)('$name → $status', async ({ req, status, expect: want }) => {
    const res = await send(req);
    const text = await res.text();
    expect(res.status, text).toBe(status);
    const body = JSON.parse(text) as ErrorBody & { message?: string };

    if ('gateway' in want) {
      expect(body).toEqual({ message: want.gateway });
      return;
    }
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    if ('issue' in want) {
      const { path, rule } = want.issue;
      expect(body.error.code).toBe('validation_failed');
      expect(body.error.issues).toContainEqual({ path, rule: expect.stringContaining(rule) });
      expect(body.error.message).toContain(path ? `${path}: ${rule}` : rule);
      return;
    }
    expect(body.error.code).toBe(want.code);
    expect(body.error.message).toContain(want.message);
    expect(body.error).not.toHaveProperty('issues');
  });

  it('wrote nothing', async () => {
    await rt.capture.idle();
    const latest = await rt.request('/api/events?limit=100');
    expect(latest.status).toBe(200);
    expect(await latest.json()).toEqual({ events: [], nextCursor: null });

    const day = await rt.request('/api/events?date=2016-11-16');
    expect(await day.json()).toEqual({ events: [], nextCursor: null });

    const tags = await rt.request('/api/tags');
    expect(tags.status).toBe(200);
    expect(await tags.json()).toEqual({ tags: [] });

    expect((await rt.request(`/api/events/${ID}`)).status).toBe(404);
    expect((await rt.request('/api/events?tag=russia')).status).toBe(404);
  });
});

describe('a batch with some invalid items', () => {
  it('reports each rejected item with its index and issues, and still creates the valid ones', async () => {
    const valid = [
      makeEventInput({ headline: 'Malformed batch: valid first item', tags: ['Malformed Batch Tag'] }),
      makeEventInput({ headline: 'Malformed batch: valid last item', tags: ['Malformed Batch Tag'] }),
    ];
    const res = await send({
      path: '/api/events/batch',
      json: {
        events: [
          valid[0],
          makeEventInput({ headline: 'Malformed batch: bad date', date: '2016-02-30' }),
          7,
          makeEventInput({ headline: 'Malformed batch: bad tags', tags: ['Ok', ''], extra: 1 }),
          valid[1],
        ],
      },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      summary: { created: number; unchanged: number; rejected: number };
      results: {
        index: number;
        status: number;
        id?: string;
        result?: string;
        error?: ErrorBody['error'];
      }[];
    };
    expect(body.summary).toEqual({ created: 2, unchanged: 0, rejected: 3 });
    expect(body.results.map((r) => [r.index, r.status])).toEqual([
      [0, 201],
      [1, 400],
      [2, 400],
      [3, 400],
      [4, 201],
    ]);
    expect(body.results[1]?.error?.issues).toEqual([
      { path: 'events[1].date', rule: 'must be a real calendar date (2016-02-30 does not exist)' },
    ]);
    expect(body.results[1]?.error?.message).toContain('events[1].date: must be a real calendar date');
    expect(body.results[2]?.error?.issues).toEqual([
      { path: 'events[2]', rule: 'must be a JSON object (got number)' },
    ]);
    expect(body.results[3]?.error?.code).toBe('validation_failed');
    expect(body.results[3]?.error?.issues).toContainEqual({
      path: 'events[3].tags[1]',
      rule: 'must not be empty or blank',
    });
    expect(body.results[3]?.error?.issues).toContainEqual({
      path: 'events[3].extra',
      rule: expect.stringContaining('is not a known field'),
    });
    expect(body.results.filter((r) => r.status === 400).every((r) => r.id === undefined)).toBe(true);

    const ids = [body.results[0]?.id, body.results[4]?.id];
    expect(ids).toEqual([
      '2016/11/16/malformed-batch-valid-first-item',
      '2016/11/16/malformed-batch-valid-last-item',
    ]);
    for (const id of ids) expect((await rt.request(`/api/events/${id}`)).status).toBe(200);

    await rt.capture.idle();
    const latest = (await (await rt.request('/api/events')).json()) as { events: { id: string }[] };
    expect(latest.events.map((e) => e.id).sort()).toEqual([...ids].sort());
    const tags = (await (await rt.request('/api/tags')).json()) as {
      tags: { slug: string; count: number }[];
    };
    expect(tags.tags.map((t) => t.slug).sort()).toEqual(['malformed-batch-tag']);
    expect(tags.tags.find((t) => t.slug === 'malformed-batch-tag')?.count).toBe(2);
  });
});

describe('known defects', () => {
  // A cursor that decodes to the right listing but carries a key DynamoDB cannot use is handed
  // to Query as ExclusiveStartKey; dynalite (like DynamoDB) refuses it and the API answers 500.
  // See the report: shared/adapters/event-store.ts decodeCursor should check the key's shape.
  it('a forged cursor for the right listing is a 400, not a 500', async () => {
    const forged = cursorOf({ l: 'DAY#2016-11-16', k: { foo: 'bar' } });
    const res = await rt.request(`/api/events?date=2016-11-16&cursor=${forged}`);
    expect(res.status).toBe(400);
  });
});
