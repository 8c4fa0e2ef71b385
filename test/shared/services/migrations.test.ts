import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EventStore,
  type MigrationStore,
  makeEventStore,
} from '../../../shared/adapters/event-store.js';
import { makeTopicLabelStore } from '../../../shared/adapters/topic-labels.js';
import type { NewsEvent } from '../../../shared/domain/event.js';
import { eventKey } from '../../../shared/keys.js';
import { MIGRATION_ATTRIBUTION, migrateReservedSlugs } from '../../../shared/services/migrations.js';
import { makeNewsEvent } from '../../helpers/builders.js';
import { startTestTable, type TestTable } from '../../helpers/dynamo.js';

let table: TestTable;
let store: EventStore & MigrationStore;

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
});

afterAll(async () => {
  await table?.close();
});

const NOW = () => '2026-12-06T05:00:00.000Z';
const PUBLISHER = { keyId: '0123456789abcdef', keyName: 'newsroom' };

const rawItem = async (id: string) =>
  (await table.db.send(new GetCommand({ TableName: table.tableName, Key: eventKey(id) }))).Item;

/** What an event headlined "Index" and tagged "Index" was stored as before reserved names existed. */
const legacyIndex: NewsEvent = makeNewsEvent(1, [], {
  id: '2026/11/27/index',
  headline: 'Index',
  tags: [
    { slug: 'index', name: 'Index' },
    { slug: 'russia', name: 'Russia' },
  ],
  revision: 3,
});
const legacyTagged: NewsEvent = makeNewsEvent(2, [], {
  tags: [{ slug: 'index', name: 'Index' }],
});
const untouched: NewsEvent = makeNewsEvent(3, ['Russia']);

describe('npm run migrate: events and tags off reserved names', () => {
  it('moves an event stored at YYYY/MM/DD/index and fixes reserved tag slugs; a second run changes nothing', async () => {
    for (const event of [legacyIndex, legacyTagged, untouched]) {
      await store.putEvent(event, undefined, { writeId: `seed-${event.id}`, publishedBy: PUBLISHER });
    }
    const pages: number[] = [];
    const first = await migrateReservedSlugs(
      { store, now: NOW },
      { pageSize: 2, onPage: (p) => pages.push(p.scanned) },
    );
    expect(first).toEqual({ scanned: 3, moved: 1, retagged: 1, skipped: [] });
    expect(pages.length).toBeGreaterThanOrEqual(2);

    const moved = await store.getEvent('2026/11/27/index-1');
    expect(moved).toEqual({
      ...legacyIndex,
      id: '2026/11/27/index-1',
      tags: [
        { slug: 'index-1', name: 'Index' },
        { slug: 'russia', name: 'Russia' },
      ],
      updatedAt: NOW(),
    });
    expect(await rawItem('2026/11/27/index-1')).toMatchObject({
      publishedBy: PUBLISHER,
      updatedBy: MIGRATION_ATTRIBUTION,
    });
    // The old id is a tombstone: the stream projects it as a deletion, which unpublishes it.
    expect(await store.getEvent('2026/11/27/index')).toMatchObject({ deleted: true, revision: 4 });
    expect(await store.getEvent(legacyTagged.id)).toMatchObject({
      tags: [{ slug: 'index-1', name: 'Index' }],
      revision: 2,
    });
    expect(await store.getEvent(untouched.id)).toEqual(untouched);

    const before = await Promise.all(
      [legacyIndex.id, '2026/11/27/index-1', legacyTagged.id, untouched.id].map(rawItem),
    );
    const second = await migrateReservedSlugs({ store, now: () => '2026-12-07T00:00:00.000Z' });
    expect(second).toEqual({ scanned: 4, moved: 0, retagged: 0, skipped: [] });
    const after = await Promise.all(
      [legacyIndex.id, '2026/11/27/index-1', legacyTagged.id, untouched.id].map(rawItem),
    );
    expect(after).toEqual(before);
  });

  it('resumes a run cut short between writing the new id and retiring the old one', async () => {
    const legacy = makeNewsEvent(4, ['Russia'], {
      id: '2026/11/28/index',
      date: '2026-11-28',
      headline: 'Index',
    });
    await store.putEvent(legacy, undefined, { writeId: 'seed-4' });
    let puts = 0;
    const dying: EventStore & MigrationStore = {
      ...store,
      putEvent: async (next, previous, stamp) => {
        if (++puts === 2) throw new Error('the process died');
        return store.putEvent(next, previous, stamp);
      },
    };
    await expect(migrateReservedSlugs({ store: dying, now: NOW })).rejects.toThrow('the process died');
    expect(await store.getEvent('2026/11/28/index-1')).toMatchObject({ headline: 'Index' });
    expect(await store.getEvent('2026/11/28/index')).not.toHaveProperty('deleted');

    const resumed = await migrateReservedSlugs({ store, now: NOW });
    expect(resumed).toMatchObject({ moved: 1, skipped: [] });
    expect(await store.getEvent('2026/11/28/index')).toMatchObject({ deleted: true });
    expect(await store.getEvent('2026/11/28/index-1')).toMatchObject({ headline: 'Index', revision: 1 });
    expect(await migrateReservedSlugs({ store, now: NOW })).toMatchObject({ moved: 0, retagged: 0 });
  });

  it('leaves an event whose new id holds another event, and says why', async () => {
    const legacy = makeNewsEvent(5, [], { id: '2026/11/29/index', date: '2026-11-29', headline: 'Index' });
    const other = makeNewsEvent(6, [], { id: '2026/11/29/index-1', date: '2026-11-29', headline: 'Index 1' });
    await store.putEvent(legacy, undefined, { writeId: 'seed-5' });
    await store.putEvent(other, undefined, { writeId: 'seed-6' });
    const result = await migrateReservedSlugs({ store, now: NOW });
    expect(result.skipped).toEqual([
      expect.stringContaining('2026/11/29/index: 2026/11/29/index-1 already holds another event'),
    ]);
    expect(await store.getEvent(legacy.id)).toEqual(legacy);
    expect(await store.getEvent(other.id)).toEqual(other);
  });

  it('refuses a cursor it did not print', async () => {
    await expect(migrateReservedSlugs({ store, now: NOW }, { cursor: 'bogus' })).rejects.toThrow(
      /cursor: is not a cursor printed by this scan/,
    );
  });
});

// Last: the events it stores would be scanned by the tests above.
describe('npm run migrate: topic labels of events stored before they were noted', () => {
  it('notes each label of the events scanned, once, and none in a dry run', async () => {
    const labels = makeTopicLabelStore(table.db, table.tableName);
    const labelled = [
      makeNewsEvent(40, ['Russia'], { id: '2026/11/27/labelled-40', topic: 'Armed conflicts and attacks' }),
      makeNewsEvent(41, ['Russia'], { id: '2026/11/27/labelled-41', topic: 'Armed conflicts and attacks' }),
      makeNewsEvent(42, ['Russia'], { id: '2026/11/27/labelled-42', topic: 'Politics and elections' }),
    ];
    for (const event of labelled) await store.putEvent(event, undefined);
    await migrateReservedSlugs({ store, now: NOW, topicLabels: labels }, { dryRun: true });
    expect(await labels.listTopics()).toEqual([]);
    await migrateReservedSlugs({ store, now: NOW, topicLabels: labels }, { pageSize: 2 });
    expect((await labels.listTopics()).map((t) => t.name).sort()).toEqual([
      'Armed conflicts and attacks',
      'Politics and elections',
    ]);
  });
});
