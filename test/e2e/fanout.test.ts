import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_EVENTS } from '../../local/runtime.js';
import { LOCAL_TOPIC_ARN } from '../../local/topic.js';
import { fromEventItem, toEventItem } from '../../shared/adapters/event-store.js';
import { buildChangeMessage } from '../../shared/domain/change-message.js';
import {
  createdEvent,
  isCalendarDate,
  type NewsEvent,
  parseEventDraft,
  type Tombstone,
  tombstoneOf,
} from '../../shared/domain/event.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const DOCS = resolve(import.meta.dirname, '../../docs');
const readJson = (name: string): unknown => JSON.parse(readFileSync(resolve(DOCS, name), 'utf8'));

interface Envelope {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  MessageAttributes: Record<string, { Type: string; Value: string }>;
}

interface ChangeBody {
  schemaVersion: string;
  changeType: 'created' | 'updated' | 'deleted';
  id: string;
  revision: number;
  previousRevision?: number;
  permalink: string;
  changedAt: string;
  event: NewsEvent | Tombstone;
}

interface Delivered {
  headers: IncomingHttpHeaders;
  envelope: Envelope;
  body: ChangeBody;
}

/** A webhook receiver that keeps every notification per path, in arrival order. */
const startReceiver = async () => {
  const byPath = new Map<string, Delivered[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Envelope;
      const list = byPath.get(req.url ?? '/') ?? [];
      list.push({ headers: req.headers, envelope, body: JSON.parse(envelope.Message) as ChangeBody });
      byPath.set(req.url ?? '/', list);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** What a path received, de-duplicated on id + revision as consumers are told to. */
    unique(path: string): Delivered[] {
      const seen = new Set<string>();
      return (byPath.get(path) ?? []).filter((d) => {
        const key = `${d.body.id}@${d.body.revision}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    },
    all: () => [...byPath.values()].flat(),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
};

/** Polls until `done` holds, failing with `what` after the deadline. */
const waitFor = async (what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** The change message validator, with the formats the schema names. */
const compileSchema = () => {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
  ajv.addFormat('date', (s: string) => isCalendarDate(s));
  ajv.addFormat(
    'date-time',
    (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(s) && !Number.isNaN(Date.parse(s)),
  );
  ajv.addFormat('uri', (s: string) => URL.canParse(s));
  return ajv.compile(readJson('change-message.schema.json') as object);
};

describe('changes fan out to webhooks, filtered as registered', () => {
  let rt: TestRuntime;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let russia: NewsEvent;
  let corrected: NewsEvent;
  let deleted: Tombstone;
  let syria: NewsEvent;

  beforeAll(async () => {
    rt = await startTestRuntime();
    receiver = await startReceiver();

    const register = async (body: Record<string, unknown>) => {
      const res = await rt.write('POST', '/api/webhooks', body);
      expect(res.status).toBe(201);
    };
    await register({
      url: `${receiver.url}/filtered`,
      tags: ['russia'],
      changeTypes: ['created', 'updated'],
    });
    await register({ url: `${receiver.url}/all` });

    const arrived = (path: string, key: string) => () =>
      receiver.unique(path).some((d) => `${d.body.id}@${d.body.revision}` === key);

    // SNS does not order deliveries, so each change of the Russia event is made once the one
    // before it has arrived: arrival order is then causal order, and can be asserted.
    const posted = await rt.write(
      'POST',
      '/api/events',
      makeEventInput({ headline: 'Russia withdraws from the court', tags: ['Russia', 'Vladimir Putin'] }),
    );
    expect(posted.status).toBe(201);
    russia = (await posted.json()) as NewsEvent;
    await waitFor('the creation', arrived('/all', `${russia.id}@1`));

    const put = await rt.write(
      'PUT',
      `/api/events/${russia.id}`,
      makeEventInput({
        headline: 'Russia withdraws from the court',
        tags: ['Russia', 'Vladimir Putin'],
        body: 'Corrected: the order was signed on Wednesday.',
      }),
      { 'if-match': '"1"' },
    );
    expect(put.status).toBe(200);
    corrected = (await put.json()) as NewsEvent;
    await waitFor('the correction', arrived('/all', `${russia.id}@2`));

    const del = await rt.write('DELETE', `/api/events/${russia.id}`, undefined, { 'if-match': '"2"' });
    expect(del.status).toBe(200);
    deleted = (await del.json()) as Tombstone;

    const other = await rt.write(
      'POST',
      '/api/events',
      makeEventInput({
        headline: 'Talks on Syria resume in Geneva',
        tags: ['Syria'],
        topic: 'Syrian civil war',
      }),
    );
    expect(other.status).toBe(201);
    syria = (await other.json()) as NewsEvent;

    await waitFor(
      'every delivery',
      () => receiver.unique('/all').length >= 4 && receiver.unique('/filtered').length >= 2,
    );
    // Let anything still owed arrive, so "exactly" below means exactly.
    await rt.capture.idle();
    await rt.topic.idle();
  });

  afterAll(async () => {
    await rt?.dispose();
    await receiver?.close();
  });

  it('the filtered webhook received exactly the creation and the correction of the Russia event', () => {
    const got = receiver.unique('/filtered');
    expect(got.map((d) => [d.body.id, d.body.revision, d.body.changeType])).toEqual([
      [russia.id, 1, 'created'],
      [russia.id, 2, 'updated'],
    ]);
    const [created, updated] = got as [Delivered, Delivered];

    for (const d of got) {
      expect(d.envelope.MessageAttributes).toEqual({
        changeType: { Type: 'String', Value: d.body.changeType },
        tags: { Type: 'String.Array', Value: '["russia","vladimir-putin"]' },
        topic: { Type: 'String', Value: 'Russian President' },
      });
      expect(d.envelope.Type).toBe('Notification');
      expect(d.envelope.TopicArn).toBe(LOCAL_TOPIC_ARN);
      expect(d.headers['x-amz-sns-message-type']).toBe('Notification');
      expect(d.headers['x-amz-sns-message-id']).toBe(d.envelope.MessageId);
    }

    expect(created.body).toEqual({
      schemaVersion: '1.0',
      changeType: 'created',
      id: russia.id,
      revision: 1,
      permalink: `${rt.url}/news/${russia.id}.html`,
      changedAt: russia.updatedAt,
      event: russia,
    });
    expect(updated.body).toEqual({
      schemaVersion: '1.0',
      changeType: 'updated',
      id: russia.id,
      revision: 2,
      previousRevision: 1,
      permalink: `${rt.url}/news/${russia.id}.html`,
      changedAt: corrected.updatedAt,
      event: corrected,
    });
    expect((updated.body.event as NewsEvent).body).toBe('Corrected: the order was signed on Wednesday.');
  });

  it('the unfiltered webhook received all four changes, in order per event', () => {
    const got = receiver.unique('/all');
    expect(got).toHaveLength(4);
    const ofEvent = (id: string) => got.filter((d) => d.body.id === id).map((d) => d.body);

    const russiaChanges = ofEvent(russia.id);
    expect(russiaChanges.map((b) => [b.changeType, b.revision, b.previousRevision])).toEqual([
      ['created', 1, undefined],
      ['updated', 2, 1],
      ['deleted', 3, 2],
    ]);
    expect(russiaChanges.map((b) => b.event)).toEqual([russia, corrected, deleted]);
    expect(russiaChanges[2]).toMatchObject({
      permalink: `${rt.url}/news/${russia.id}.html`,
      changedAt: deleted.deletedAt,
      event: { deleted: true, revision: 3, tags: russia.tags, topic: 'Russian President' },
    });
    expect(Object.keys(russiaChanges[2]?.event ?? {})).not.toContain('body');

    expect(ofEvent(syria.id)).toEqual([
      {
        schemaVersion: '1.0',
        changeType: 'created',
        id: syria.id,
        revision: 1,
        permalink: `${rt.url}/news/${syria.id}.html`,
        changedAt: syria.updatedAt,
        event: syria,
      },
    ]);
    const syriaDelivery = got.find((d) => d.body.id === syria.id);
    expect(syriaDelivery?.envelope.MessageAttributes).toEqual({
      changeType: { Type: 'String', Value: 'created' },
      tags: { Type: 'String.Array', Value: '["syria"]' },
      topic: { Type: 'String', Value: 'Syrian civil war' },
    });
  });

  it('delivered each change once to each subscriber (no retries were needed)', () => {
    expect(receiver.all()).toHaveLength(6);
    expect(rt.topic.deliveries.filter((d) => d.status !== 'delivered' || d.attempts !== 1)).toEqual([]);
  });

  it('delivered bodies that match docs/change-message.schema.json', () => {
    const validate = compileSchema();
    const bodies = receiver.all().map((d) => d.body);
    expect(bodies.map((b) => b.changeType).sort()).toEqual([
      'created',
      'created',
      'created',
      'deleted',
      'updated',
      'updated',
    ]);
    for (const body of bodies) {
      const valid = validate(body);
      expect(validate.errors ?? [], `${body.changeType} ${body.id}@${body.revision}`).toEqual([]);
      expect(valid).toBe(true);
    }
  });
});

describe('docs/change-message.schema.json', () => {
  const validate = compileSchema();
  const SITE = 'https://news.example.org';
  const example = readJson('change-message.example.json') as ChangeBody;
  const seed = () => {
    const [input] = JSON.parse(readFileSync(SAMPLE_EVENTS, 'utf8')) as unknown[];
    const parsed = parseEventDraft(input);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    // Through the item mapping, as the stream delivers it, so fields come in the delivered order.
    return fromEventItem(toEventItem(createdEvent(parsed.draft, example.changedAt))) as NewsEvent;
  };
  const errorsOf = (body: unknown) =>
    validate(body) ? [] : (validate.errors ?? []).map((e) => e.instancePath);

  it('accepts the example, which is what buildChangeMessage makes of the seed event', () => {
    expect(errorsOf(example)).toEqual([]);
    const built = JSON.parse(buildChangeMessage('created', seed(), SITE).body) as unknown;
    expect(example).toEqual(built);
    expect(JSON.stringify(example)).toBe(JSON.stringify(built));
  });

  it('accepts a deletion with its tombstone, and an event without a topic, image or body', () => {
    const event = seed();
    const tombstone = tombstoneOf(event, '2016-11-17T09:00:00.000Z');
    expect(errorsOf(JSON.parse(buildChangeMessage('deleted', tombstone, SITE, 1).body))).toEqual([]);
    const { topic: _topic, image: _image, ...bare } = event;
    expect(
      errorsOf(JSON.parse(buildChangeMessage('created', { ...bare, body: '', tags: [] }, SITE).body)),
    ).toEqual([]);
  });

  it('refuses bodies that break the contract', () => {
    const event = seed();
    const tombstone = tombstoneOf(event, '2016-11-17T09:00:00.000Z');
    const bad: [string, unknown][] = [
      ['another schema version', { ...example, schemaVersion: '2.0' }],
      ['an unknown change type', { ...example, changeType: 'published' }],
      ['no permalink', { ...example, permalink: undefined }],
      ['an unknown top-level field', { ...example, PK: 'EVENT#x' }],
      ['an internal field in the event', { ...example, event: { ...event, GSI1PK: 'LATEST#0' } }],
      ['a tag without a slug', { ...example, event: { ...event, tags: [{ name: 'Russia' }] } }],
      ['a deletion carrying a live event', { ...example, changeType: 'deleted', previousRevision: 1 }],
      ['a creation carrying a tombstone', { ...example, event: tombstone }],
      ['an update without previousRevision', { ...example, changeType: 'updated' }],
      [
        'a tombstone with a body',
        { ...example, changeType: 'deleted', previousRevision: 1, event: { ...tombstone, body: 'x' } },
      ],
      ['a revision of 0', { ...example, revision: 0 }],
      ['a date that does not exist', { ...example, event: { ...event, date: '2016-02-30' } }],
      ['a timestamp that is not one', { ...example, changedAt: 'yesterday' }],
    ];
    for (const [what, body] of bad) {
      expect(validate(JSON.parse(JSON.stringify(body))), what).toBe(false);
    }
  });
});
