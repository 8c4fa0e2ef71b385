import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parkedRecordOf } from '../../cli/aws/redrive.js';
import { makeHandler } from '../../functions/process-changes.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { type EventStore, type ListingStore, makeEventStore } from '../../shared/adapters/event-store.js';
import {
  makeParkedChangeStore,
  type ParkedChangeReader,
  type ParkedChangeStore,
} from '../../shared/adapters/parked-changes.js';
import type { ChangeMessage } from '../../shared/domain/change-message.js';
import { correctedEvent, createdEvent, parseEventDraft } from '../../shared/domain/event.js';
import { makeEventInput } from '../helpers/builders.js';
import { steppingClock } from '../helpers/clock.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';
import { recordingTopic } from '../helpers/fakes.js';
import { makeStreamRecord } from '../helpers/stream.js';

// The stream handler parks each change it fails on in the table (stream records expire after
// 24 hours), clears the park once that change or a later revision is projected, and `tidings
// redrive` replays a park through the same handler. Real table (dynalite), real handler.

const SITE = 'https://news.example.org';
let table: TestTable;
let store: EventStore & ListingStore;
let parked: ParkedChangeStore & ParkedChangeReader;
const now = steppingClock();

const draft = (overrides: Record<string, unknown>) => {
  const parsed = parseEventDraft(makeEventInput(overrides));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.draft;
};

/** The real handler; the topic refuses the messages `down` names, the table the events `broken` names. */
const handlerWith = (down: (m: ChangeMessage) => boolean, broken: (id: string) => boolean = () => false) => {
  const recorded = recordingTopic({ refuse: down });
  const handle = makeHandler({
    store: {
      ...store,
      putTagEntry: async (slug, event, changedAt, counted, expected) => {
        if (broken(event.id)) throw new Error('table unavailable');
        return store.putTagEntry(slug, event, changedAt, counted, expected);
      },
    },
    now,
    topic: recorded.topic,
    siteUrl: SITE,
    fanout: { maxAttempts: 1, sleep: async () => undefined },
    parked,
  });
  return {
    ...recorded,
    run: (records: DynamoDBRecord[]) => handle({ Records: records }, lambdaContext('process-changes')),
  };
};

const failing = (headline: string) => (m: ChangeMessage) => m.body.includes(headline);

const tagIds = async (slug: string) =>
  (await store.listTag(slug, { limit: 100 })).items.map((e) => `${e.id}@${e.revision}`);

beforeAll(async () => {
  table = await startTestTable();
  store = makeEventStore(table.db, table.tableName);
  parked = makeParkedChangeStore(table.db, table.tableName);
});
afterAll(() => table.close());

describe('process-changes parks what it fails on', () => {
  it('parks a failing record with its revision and images, counting each failure', async () => {
    const e = createdEvent(draft({ headline: 'Parked when the topic refuses', tags: ['Parking'] }), now());
    await store.putEvent(e, undefined);
    const { run } = handlerWith(failing('Parked when the topic refuses'));
    const record = makeStreamRecord(e);
    const seq = record.dynamodb?.SequenceNumber;
    expect(await run([record])).toEqual({ batchItemFailures: [{ itemIdentifier: seq }] });
    expect(await run([record])).toEqual({ batchItemFailures: [{ itemIdentifier: seq }] });
    const [park, ...others] = (await parked.listParked()).filter((p) => p.id === e.id);
    expect(others).toEqual([]);
    expect(park).toMatchObject({ id: e.id, revision: 1, sequenceNumber: seq, failures: 2 });
    expect(park?.newImage).toEqual(e);
    expect(park?.oldImage).toBeUndefined();
  });

  it('leaves the other records of the batch unparked', async () => {
    const ok = createdEvent(draft({ headline: 'Fine alongside a failure', tags: ['Parking'] }), now());
    const bad = createdEvent(draft({ headline: 'Refused alongside', tags: ['Parking'] }), now());
    await store.putEvent(ok, undefined);
    await store.putEvent(bad, undefined);
    const { run } = handlerWith(failing('Refused alongside'));
    const out = await run([makeStreamRecord(ok), makeStreamRecord(bad)]);
    expect(out.batchItemFailures).toHaveLength(1);
    const ids = (await parked.listParked()).map((p) => p.id);
    expect(ids).toContain(bad.id);
    expect(ids).not.toContain(ok.id);
  });

  it('clears the park when the same change later succeeds', async () => {
    const e = createdEvent(draft({ headline: 'Retried and then fine', tags: ['Parking'] }), now());
    await store.putEvent(e, undefined);
    const record = makeStreamRecord(e);
    await handlerWith(failing('Retried and then fine')).run([record]);
    expect((await parked.listParked()).map((p) => p.id)).toContain(e.id);
    expect(await handlerWith(() => false).run([record])).toEqual({ batchItemFailures: [] });
    expect((await parked.listParked()).map((p) => p.id)).not.toContain(e.id);
  });

  it('clears it when a later revision of the event is projected, and keeps a newer park on an older success', async () => {
    const v1 = createdEvent(draft({ headline: 'Corrected past its failure', tags: ['Parking'] }), now());
    await store.putEvent(v1, undefined);
    const v2 = correctedEvent(
      v1,
      draft({ headline: 'Corrected past its failure', tags: ['Parking', 'Later'] }),
      now(),
    );
    await store.putEvent(v2, v1);
    // Revision 2 fails; a late success of revision 1 (a replay) must not clear it.
    await handlerWith(failing('Corrected past its failure')).run([makeStreamRecord(v2, v1)]);
    await handlerWith(() => false).run([makeStreamRecord(v1)]);
    expect((await parked.listParked()).find((p) => p.id === v1.id)?.revision).toBe(2);
    // Revision 2 projected: the park goes.
    await handlerWith(() => false).run([makeStreamRecord(v2, v1)]);
    expect((await parked.listParked()).map((p) => p.id)).not.toContain(v1.id);
  });
});

describe('parking never decides the batch', () => {
  it('a park that cannot be written leaves the failure reported; one that cannot be cleared leaves the success', async () => {
    const e = createdEvent(draft({ headline: 'Parking itself fails', tags: ['Parking'] }), now());
    await store.putEvent(e, undefined);
    const record = makeStreamRecord(e);
    const broken: ParkedChangeStore = {
      park: async () => {
        throw new Error('table unavailable');
      },
      clear: async () => {
        throw new Error('table unavailable');
      },
    };
    const handle = (refuse: boolean) =>
      makeHandler({
        store,
        now,
        topic: recordingTopic({ refuse: () => refuse }).topic,
        siteUrl: SITE,
        fanout: { maxAttempts: 1, sleep: async () => undefined },
        parked: broken,
      })({ Records: [record] }, lambdaContext('process-changes'));
    expect(await handle(true)).toEqual({
      batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber }],
    });
    expect(await handle(false)).toEqual({ batchItemFailures: [] });
  });
});

describe('a parked change, replayed as redrive does', () => {
  it('is re-projected from the table by the real handler, its message sent, and its park removed', async () => {
    const v1 = createdEvent(draft({ headline: 'Redriven after a day', tags: ['Redrive'] }), now());
    await store.putEvent(v1, undefined);
    await handlerWith(() => false).run([makeStreamRecord(v1)]);
    const v2 = correctedEvent(v1, draft({ headline: 'Redriven after a day', tags: ['Replayed'] }), now());
    await store.putEvent(v2, v1);
    // The correction fails every try: its listings stay stale and no message goes out.
    const down = handlerWith(failing('Redriven after a day'), (id) => id === v1.id);
    await down.run([makeStreamRecord(v2, v1)]);
    expect(await tagIds('replayed')).toEqual([]);
    expect(down.published).toEqual([]);
    const park = (await parked.listParked()).find((p) => p.id === v1.id);
    if (!park) throw new Error('not parked');

    // Long after the stream record expired: redrive builds the record from the park alone.
    const up = handlerWith(() => false);
    expect(await up.run([parkedRecordOf(park)])).toEqual({ batchItemFailures: [] });
    expect(await tagIds('replayed')).toEqual([`${v1.id}@2`]);
    expect(await tagIds('redrive')).toEqual([]);
    expect(up.published).toHaveLength(1);
    expect(JSON.parse(up.published[0]?.body ?? '{}')).toMatchObject({
      changeType: 'updated',
      id: v1.id,
      revision: 2,
    });
    expect((await parked.listParked()).map((p) => p.id)).not.toContain(v1.id);

    // Again (an interrupted redrive run twice): nothing parked, nothing changes.
    expect(await up.run([parkedRecordOf(park)])).toEqual({ batchItemFailures: [] });
    expect(await tagIds('replayed')).toEqual([`${v1.id}@2`]);
  });
});
