import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventStore, makeEventStore } from '../../../shared/adapters/event-store.js';
import { ConcurrentWriteError, ConflictError } from '../../../shared/errors.js';
import { eventKey } from '../../../shared/keys.js';
import {
  correctEvent,
  deleteEvent,
  type EventServiceDeps,
  postEvent,
} from '../../../shared/services/events.js';
import { makeEventInput } from '../../helpers/builders.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';

let table: TestTable;
let store: EventStore;

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
});

afterAll(async () => {
  await table?.close();
});

/** Every writer reads the same millisecond: writes can only be told apart by their nonce. */
const FIXED_NOW = () => '2026-12-06T04:00:00.000Z';

const counter = (prefix: string) => {
  let n = 0;
  return () => `${prefix}-${++n}`;
};

const rawItem = async (id: string) =>
  (await table.db.send(new GetCommand({ TableName: table.tableName, Key: eventKey(id) }))).Item;

describe('a writer recognises its own write by its nonce', () => {
  it('a rival create with the same revision and updatedAt is a conflict, not a success', async () => {
    const id = '2016/11/16/nonce-rival-create';
    const first: EventServiceDeps = { store, now: FIXED_NOW, writeId: counter('a') };
    const second: EventServiceDeps = { store, now: FIXED_NOW, writeId: counter('b') };
    const mine = await postEvent(first, makeEventInput({ id, headline: 'Nonce: the first writer' }));
    expect(mine.status).toBe('created');

    // Same id, same clock, same revision (1): only the content and the nonce differ.
    const theirs = postEvent(second, makeEventInput({ id, headline: 'Nonce: the second writer' }));
    await expect(theirs).rejects.toBeInstanceOf(ConflictError);
    const stored = await store.getEvent(id);
    expect(stored?.headline).toBe('Nonce: the first writer');
    expect((await rawItem(id))?.writeId).toBe('a-1');
  });

  it('a correction that loses to a rival at the same time and revision is not reported as done', async () => {
    const id = '2016/11/16/nonce-rival-correction';
    const deps = (prefix: string): EventServiceDeps => ({ store, now: FIXED_NOW, writeId: counter(prefix) });
    await postEvent(deps('p'), makeEventInput({ id, headline: 'Nonce: corrected twice' }));
    // The rival lands between our read and our put: a store that lets it write just before ours.
    const rival = deps('r');
    let raced = false;
    const racing: EventStore = {
      ...store,
      putEvent: async (next, previous, stamp) => {
        if (!raced) {
          raced = true;
          await correctEvent(
            rival,
            id,
            makeEventInput({ id, headline: 'Nonce: corrected twice', body: 'Rival.' }),
          );
        }
        return store.putEvent(next, previous, stamp);
      },
    };
    // If-Match pins revision 1: once the rival wrote revision 2 our correction cannot re-plan.
    const ours = correctEvent(
      { store: racing, now: FIXED_NOW, writeId: counter('o') },
      id,
      makeEventInput({ id, headline: 'Nonce: corrected twice', body: 'Ours.' }),
      1,
    );
    await expect(ours).rejects.toThrow(/revision 2, not 1/);
    expect((await store.getEvent(id))?.revision).toBe(2);
    expect((await rawItem(id))?.body).toBe('Rival.');
  });

  it('our own write whose answer was lost is reported as done', async () => {
    const id = '2016/11/16/nonce-lost-answer';
    // The put commits, then the SDK's retry of it fails its condition: what a lost answer looks like.
    const lossy: EventStore = {
      ...store,
      putEvent: async (next, previous, stamp) => {
        await store.putEvent(next, previous, stamp);
        throw new ConcurrentWriteError('the retry found the item already written');
      },
    };
    const deps: EventServiceDeps = { store: lossy, now: FIXED_NOW, writeId: counter('l') };
    const created = await postEvent(deps, makeEventInput({ id, headline: 'Nonce: lost answer' }));
    expect(created.status).toBe('created');
    const deleted = await deleteEvent(deps, id);
    expect(deleted.status).toBe('deleted');
    expect((await rawItem(id))?.writeId).toBe('l-2');
  });
});
