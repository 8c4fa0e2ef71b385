import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { makeHandler, parseAlertMessage } from '../../functions/send-alerts.js';
import type { AlertStore } from '../../shared/adapters/alert-store.js';
import { DEFAULT_ALERT_SETTINGS } from '../../shared/domain/alerts.js';
import { buildChangeMessage } from '../../shared/domain/change-message.js';
import type { AlertDeps, AlertLook } from '../../shared/services/alerts.js';
import { makeNewsEvent } from '../helpers/builders.js';

const NOW = Date.parse('2026-03-10T12:00:00.000Z');

/** A store that knows followers and remembers what was added; nobody is due. */
const fakeDeps = (followers: Record<string, string[]>, failFor: string[] = []) => {
  const added: [string, string[]][] = [];
  const claims: string[] = [];
  const scheduled: AlertLook[] = [];
  const store = {
    followers: async (ref) => followers[`${ref.kind}#${ref.slug}`] ?? [],
    addPending: async (subscriber, ids) => {
      if (failFor.includes(subscriber)) throw new Error('throttled');
      added.push([subscriber, [...ids]]);
      return { starts: true, known: false };
    },
    getRecipients: async () => new Map(),
    readEvents: async () => new Map(),
    eventRecords: async () => new Map(),
    claimEvent: async (id) => {
      claims.push(id);
      return true;
    },
    markEventQueued: async () => undefined,
    releaseEvent: async () => undefined,
  } as Partial<AlertStore> as AlertStore;
  const deps: AlertDeps = {
    store,
    queue: { schedule: async (looks) => void scheduled.push(...looks) },
    mailer: { send: async () => ({ messageId: 'x' }) },
    compose: async () => ({ to: '', from: '', subject: '', text: '', html: '' }),
    settings: DEFAULT_ALERT_SETTINGS,
    sendRate: 0,
    now: () => NOW,
  };
  return { deps, added, scheduled, claims };
};

const sqs = (bodies: string[]): SQSEvent =>
  ({ Records: bodies.map((body, i) => ({ messageId: `m${i}`, body })) }) as unknown as SQSEvent;

const change = (n: number, tags: string[], type: 'created' | 'updated' | 'deleted' = 'created') =>
  buildChangeMessage(type, makeNewsEvent(n, tags, { topic: 'World' }), 'https://news.example.org').body;

describe('send-alerts', () => {
  it('reads change messages as the topic delivers them raw, and looks', () => {
    expect(parseAlertMessage(change(1, ['Syria', 'Iran']))).toEqual({
      changeType: 'created',
      id: '2026/11/27/event-1',
      revision: 1,
      headline: 'Event 1',
      tags: [
        { name: 'Syria', slug: 'syria' },
        { name: 'Iran', slug: 'iran' },
      ],
      topic: 'World',
    });
    expect(parseAlertMessage('{"kind":"look","subscriber":"s1","at":"2026-03-10T12:00:20.000Z"}')).toEqual({
      subscriber: 's1',
      at: '2026-03-10T12:00:20.000Z',
    });
  });

  it.each([
    ['{"kind":"look","subscriber":"","at":"2026-03-10T12:00:20.000Z"}', 'subscriber must be an id'],
    ['{"kind":"look","subscriber":"s1","at":"tomorrow"}', 'at must be an ISO timestamp'],
    [
      '{"schemaVersion":"2.0","changeType":"created","id":"x","event":{"tags":[]}}',
      'schemaVersion must be 1.x',
    ],
    [
      '{"schemaVersion":"1.0","changeType":"moved","id":"x","event":{"tags":[]}}',
      'changeType must be one of',
    ],
    [
      '{"schemaVersion":"1.0","changeType":"created","id":"x","revision":1,"event":{}}',
      'event.tags must be a list',
    ],
    [
      '{"schemaVersion":"1.0","changeType":"created","id":"x","revision":0,"event":{"tags":[]}}',
      'revision must be',
    ],
  ])('refuses %s naming the rule', (body, rule) => {
    expect(() => parseAlertMessage(body)).toThrow(rule);
  });

  it('queues each change for the followers of its tags and topic label, one write per follower', async () => {
    const { deps, added, scheduled } = fakeDeps({
      'tag#syria': ['a', 'b'],
      'tag#iran': ['b'],
      'topic#world': ['c'],
    });
    const out = await makeHandler(deps)(
      sqs([change(1, ['Syria', 'Iran']), change(2, ['Iran'])]),
      {} as never,
    );
    expect(out.batchItemFailures).toEqual([]);
    expect(Object.fromEntries(added.map(([s, ids]) => [s, ids.sort()]))).toEqual({
      a: ['2026/11/27/event-1'],
      b: ['2026/11/27/event-1', '2026/11/27/event-2'],
      c: ['2026/11/27/event-1', '2026/11/27/event-2'],
    });
    // Each opened set gets a look after the gather.
    expect(scheduled.map((l) => [l.subscriber, l.at]).sort()).toEqual(
      ['a', 'b', 'c'].map((s) => [s, '2026-03-10T12:00:20.000Z']),
    );
  });

  it('spends nothing on an event nobody follows beyond its followers queries', async () => {
    const { deps, added, claims } = fakeDeps({ 'tag#syria': ['a'] });
    await makeHandler(deps)(sqs([change(1, ['Syria']), change(2, ['Chile'])]), {} as never);
    expect(claims).toEqual(['2026/11/27/event-1']);
    expect(added).toEqual([['a', ['2026/11/27/event-1']]]);
  });

  it('reports exactly the messages that could not be read or queued for everyone', async () => {
    const { deps, added } = fakeDeps({ 'tag#syria': ['a'], 'tag#chile': ['down'] }, ['down']);
    const out = await makeHandler(deps)(
      sqs([change(1, ['Syria']), 'not json', change(3, ['Chile']), change(4, ['Syria'], 'deleted')]),
      {} as never,
    );
    expect(out.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m1', 'm2']);
    // A deletion queues nothing.
    expect(added).toEqual([['a', ['2026/11/27/event-1']]]);
  });

  it('puts back a look delivered before it is due', async () => {
    const { deps, scheduled } = fakeDeps({});
    const at = '2026-03-10T12:20:00.000Z';
    const out = await makeHandler(deps)(
      sqs([JSON.stringify({ kind: 'look', subscriber: 's1', at })]),
      {} as never,
    );
    expect(out.batchItemFailures).toEqual([]);
    expect(scheduled).toEqual([{ subscriber: 's1', at }]);
  });
});
