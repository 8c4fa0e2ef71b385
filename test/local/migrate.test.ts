import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/dynamodb.js';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { makeEventStore } from '../../shared/adapters/event-store.js';
import { tombstoneOf } from '../../shared/domain/event.js';
import { makeNewsEvent } from '../helpers/builders.js';
import { startTestTable } from '../helpers/dynamo.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

let dataDir: string;
let rt: TestRuntime | undefined;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'tidings-migrate-'));
});

afterAll(async () => {
  await rt?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const site = (path: string): string | undefined => {
  const file = join(dataDir, 'site', path);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
};

/** What `npm run migrate` does against the local data folder, run as the operator runs it. */
const migrate = async (args: string[] = []) => {
  const { stdout } = await run(join(ROOT, 'node_modules/.bin/tsx'), ['local/migrate.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, TIDINGS_DATA_DIR: dataDir, PORT: String(await freePort()) },
  });
  return stdout;
};

/** An event stored at a reserved id before the rule existed (the API refuses such ids now). */
const legacy = (date: string, n: number) =>
  makeNewsEvent(n, [], {
    id: `${date.replaceAll('-', '/')}/index`,
    date,
    headline: 'Index',
    tags: [{ slug: 'index', name: 'Index' }],
  });

const neighbour = (date: string, headline: string) => ({
  date,
  headline,
  body: 'Another event that day.',
  tags: ['Russia'],
});

describe('events stored at a reserved id (…/index)', () => {
  it("their pages never replace the day's page, and deleting one keeps the day's index.html", async () => {
    rt = await startTestRuntime({ dataDir });
    await rt.store.putEvent(legacy('2016-11-16', 1), undefined, { writeId: 'seed-1' });
    expect(
      (await rt.write('POST', '/api/events', neighbour('2016-11-16', 'Neighbour of the index'))).status,
    ).toBe(201);
    await rt.capture.idle();
    await rt.publish();
    expect(site('news/2016/11/16/index.html')).toContain('Neighbour of the index');
    expect(site('news/2016/11/16/_index.html')).toContain('Index');
    expect(site('tags/index.html')).toContain('Russia');

    expect((await rt.write('DELETE', '/api/events/2016/11/16/index')).status).toBe(200);
    await rt.capture.idle();
    const report = await rt.publish();
    expect(report.failed).toBe(0);
    expect(site('news/2016/11/16/_index.html')).toBeUndefined();
    expect(site('news/2016/11/16/index.html')).toContain('Neighbour of the index');
    expect(site('tags/index.html')).toContain('Russia');
  });

  it("a run that sees only the event's mark of such a deletion (marks are written 25 to a batch) keeps the day's page", async () => {
    if (!rt) throw new Error('the first test starts the runtime');
    // Untagged: the deletion below bypasses the change capture, so no tag listing must depend on it.
    const event = { ...legacy('2016-11-15', 3), tags: [] };
    await rt.store.putEvent(event, undefined, { writeId: 'seed-3' });
    expect(
      (await rt.write('POST', '/api/events', neighbour('2016-11-15', 'Day before the index'))).status,
    ).toBe(201);
    await rt.capture.idle();
    await rt.publish();
    expect(site('news/2016/11/15/index.html')).toContain('Day before the index');

    // The deletion lands, and the run reads its event mark before the batch holding the day's.
    const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
    try {
      const raw = makeEventStore(db, LOCAL_TABLE);
      await raw.putEvent(tombstoneOf(event, '2026-12-06T00:00:00.000Z'), event, { writeId: 'delete-3' });
      await raw.markDirty([{ kind: 'event', key: event.id }], '2026-12-06T00:00:00.000Z');
    } finally {
      db.destroy();
    }
    await rt.publish();
    expect(site('news/2016/11/15/index.html')).toContain('Day before the index');
  });

  it('npm run migrate moves one to …/index-1 on the local data folder, and a second run changes nothing', async () => {
    if (!rt) throw new Error('the first test starts the runtime');
    await rt.store.putEvent(legacy('2016-11-17', 2), undefined, { writeId: 'seed-2' });
    expect((await rt.write('POST', '/api/events', neighbour('2016-11-17', 'Beside the index'))).status).toBe(
      201,
    );
    await rt.capture.idle();
    await rt.publish();
    await rt.stop();
    rt = undefined;

    expect(await migrate()).toContain('migrated: 1 events moved, 0 retagged, 0 skipped');
    expect(await migrate()).toContain('migrated: 0 events moved, 0 retagged, 0 skipped');

    rt = await startTestRuntime({ dataDir });
    expect((await rt.request('/api/events/2016/11/17/index')).status).toBe(410);
    const moved = await rt.request('/api/events/2016/11/17/index-1');
    expect(moved.status).toBe(200);
    expect(await moved.json()).toMatchObject({
      headline: 'Index',
      tags: [{ slug: 'index-1', name: 'Index' }],
    });
    const tags = (await (await rt.request('/api/tags')).json()) as {
      tags: { slug: string; count: number }[];
    };
    expect(tags.tags.map((t) => [t.slug, t.count]).sort()).toEqual([
      ['index-1', 1],
      ['russia', 3],
    ]);
    expect(site('news/2016/11/17/index-1.html')).toContain('Index');
    expect(site('news/2016/11/17/index.html')).toContain('Beside the index');
    expect(site('news/2016/11/17/index.html')).toContain('index-1.html');
    expect(site('tags/index-1.html')).toContain('Index');
    expect(site('tags/index.html')).toContain('tags/index-1.html');
  });

  it('npm run migrate -- --table --endpoint works on a table given by name, as against a deployed one', async () => {
    const table = await startTestTable();
    try {
      await makeEventStore(table.db, table.tableName).putEvent(legacy('2016-11-18', 4), undefined, {
        writeId: 'seed-4',
      });
      const args = ['--table', table.tableName, '--endpoint', table.dynamo.endpoint];
      expect(await migrate(['--dry-run', ...args])).toContain('would migrate: 1 events moved');
      expect(await migrate(args)).toContain('migrated: 1 events moved, 0 retagged, 0 skipped, of 1 scanned');
      expect(await migrate(args)).toContain('migrated: 0 events moved, 0 retagged, 0 skipped, of 2 scanned');
      const store = makeEventStore(table.db, table.tableName);
      expect(await store.getEvent('2016/11/18/index-1')).toMatchObject({
        tags: [{ slug: 'index-1', name: 'Index' }],
      });
      expect(await store.getEvent('2016/11/18/index')).toMatchObject({ deleted: true });
    } finally {
      await table.close();
    }
  });
});
