import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { toEventItem } from '../../shared/adapters/event-store.js';
import type { StoredEvent } from '../../shared/domain/event.js';
import { eventKey } from '../../shared/keys.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime } from '../helpers/runtime.js';
import { tidings } from './helpers.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-cli-status-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const status = async (dataDir: string) => {
  const out = await tidings(dataDir, 'status', '--json');
  expect(out.code).toBe(0);
  return JSON.parse(out.stdout);
};

/** A stream record as the change capture parks it. */
const parkedLine = (seq: number, item: Record<string, unknown>) =>
  `${JSON.stringify({
    parkedAt: new Date().toISOString(),
    record: {
      eventID: `local-${seq}`,
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      dynamodb: {
        Keys: marshall({ PK: item.PK, SK: item.SK }),
        NewImage: marshall(item, { removeUndefinedValues: true }),
        SequenceNumber: String(seq).padStart(21, '0'),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    },
  })}\n`;

describe('tidings status', () => {
  it('shows counts, the journal lag (read before opening the folder replays it), dead letters and the last publish', {
    timeout: 90_000,
  }, async () => {
    const dataDir = tempDir();
    const rt = await startTestRuntime({ dataDir });
    let event: StoredEvent;
    try {
      const res = await rt.write(
        'POST',
        '/api/events',
        makeEventInput({ headline: 'Counted', tags: ['Alpha', 'Beta'] }),
      );
      expect(res.status).toBe(201);
      event = (await res.json()) as StoredEvent;
      await rt.capture.idle();
      const running = await status(dataDir);
      expect(running).toMatchObject({
        target: { kind: 'local', dataDir, url: rt.loopbackUrl },
        counts: { events: 1, tags: 2, subscribers: 0 },
        changeLag: { pending: 0 },
        parkedChanges: 0,
      });
      expect(running.lastPublish).toBeUndefined();
      expect((await tidings(dataDir, 'publish', '--full')).code).toBe(0);
      expect((await status(dataDir)).lastPublish).toMatchObject({
        full: true,
        written: expect.any(Number),
        failed: 0,
        at: expect.any(String),
      });
      expect((await status(dataDir)).lastPublish.written).toBeGreaterThan(0);
    } finally {
      await rt.stop();
    }
    // As a process that died after a write, before its change was handled, leaves the journal.
    const journal = join(dataDir, 'changes.ndjson');
    const intent = { t: 'intent', seq: 9001, id: event.id, new: toEventItem(event), at: Date.now() };
    appendFileSync(journal, `${JSON.stringify(intent)}\n${JSON.stringify({ t: 'done', seq: 9001 })}\n`);
    appendFileSync(join(dataDir, 'dead-letter.ndjson'), parkedLine(9002, toEventItem(event)));

    const stopped = await status(dataDir);
    expect(stopped.target).toEqual({ kind: 'local', dataDir });
    expect(stopped.changeLag).toEqual({ pending: 1 });
    expect(stopped.parkedChanges).toBe(1);
    expect(stopped.deadLetters).toEqual([expect.objectContaining({ visible: 1 })]);
    const text = await tidings(dataDir, 'status');
    expect(text.stdout).toMatch(/^server +not running$/m);
    expect(text.stdout).toMatch(/^change lag +0 changes not yet handled$/m); // the first open replayed it
    expect(text.stdout).toMatch(/^last publish +\S+ \(full\): \d+ written/m);
  });
});

describe('the last publish', () => {
  it("is the last run that did something: the schedule's idle runs do not replace it", async () => {
    const dataDir = tempDir();
    const rt = await startTestRuntime({ dataDir, publishIntervalMs: 50 });
    try {
      await rt.publish(true);
      const kept = readFileSync(join(dataDir, 'last-publish.json'), 'utf8');
      expect(JSON.parse(kept)).toMatchObject({ full: true });
      await new Promise((r) => setTimeout(r, 400));
      expect(readFileSync(join(dataDir, 'last-publish.json'), 'utf8')).toBe(kept);
      expect((await rt.write('POST', '/api/events', makeEventInput({ headline: 'Scheduled' }))).status).toBe(
        201,
      );
      await rt.capture.idle();
      await expect
        .poll(() => JSON.parse(readFileSync(join(dataDir, 'last-publish.json'), 'utf8')).full, {
          timeout: 10_000,
        })
        .toBe(false);
    } finally {
      await rt.stop();
    }
  });
});

describe('tidings redrive', () => {
  it('re-projects parked changes through the change handler, keeps the ones that fail again, and is safe to repeat', {
    timeout: 90_000,
  }, async () => {
    const dataDir = tempDir();
    const rt = await startTestRuntime({ dataDir });
    try {
      // An event in the table whose change was never projected (parked instead): in no listing yet.
      const res = await rt.write(
        'POST',
        '/api/events',
        makeEventInput({ headline: 'Template', tags: ['Gamma'] }),
      );
      const template = (await res.json()) as StoredEvent;
      await rt.capture.idle();
      const lost: StoredEvent = {
        ...template,
        id: `${template.id}-lost`,
        tags: [{ slug: 'redriven', name: 'Redriven' }],
      };
      const item = toEventItem(lost);
      const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
      await db.send(new PutCommand({ TableName: LOCAL_TABLE, Item: item }));
      db.destroy();
      const tagged = async () => {
        const res = await rt.request('/api/events?tag=redriven');
        if (res.status === 404) return [];
        return ((await res.json()) as { events: { id: string }[] }).events;
      };
      expect(await tagged()).toEqual([]);

      const deadLetters = join(dataDir, 'dead-letter.ndjson');
      const poison = parkedLine(9102, { ...eventKey('2016/01/01/unreadable'), type: 'event' });
      appendFileSync(deadLetters, parkedLine(9101, item) + poison);
      expect((await status(dataDir)).parkedChanges).toBe(2);

      const first = await tidings(dataDir, 'redrive');
      expect(first).toMatchObject({ code: 1, stdout: 'changes: 1 redriven, 1 failed again (kept)\n' });
      expect((await tagged()).map((e) => e.id)).toEqual([lost.id]);
      expect(readFileSync(deadLetters, 'utf8')).toBe(poison);

      const second = await tidings(dataDir, 'redrive', '--json');
      expect(JSON.parse(second.stdout)).toEqual({ changes: { redriven: 0, failed: 1 }, queues: [] });
      expect((await tagged()).map((e) => e.id)).toEqual([lost.id]);
      expect((await status(dataDir)).parkedChanges).toBe(1);
    } finally {
      await rt.stop();
    }
  });
});
