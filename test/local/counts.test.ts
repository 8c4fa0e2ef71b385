import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/process-changes.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { makeEventStore } from '../../shared/adapters/event-store.js';
import { createdEvent, parseEventDraft } from '../../shared/domain/event.js';
import { auditCounts } from '../../shared/services/counts.js';
import { makeEventInput } from '../helpers/builders.js';
import { driftCount } from '../helpers/drift.js';
import { startTestTable } from '../helpers/dynamo.js';
import { recordingTopic } from '../helpers/fakes.js';
import { makeStreamRecord } from '../helpers/stream.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** `npm run counts -- …` (`tidings counts`) as an operator runs it; its exit code and output. */
const counts = async (args: string[]) => {
  try {
    const { stdout } = await run(process.execPath, [join(ROOT, 'bin/tidings.mjs'), 'counts', ...args], {
      cwd: ROOT,
    });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
};

describe('npm run counts', () => {
  it('finds a counter shard that disagrees with its entries, repairs it, then finds nothing', async () => {
    const table = await startTestTable();
    try {
      const store = makeEventStore(table.db, table.tableName);
      const events = Array.from({ length: 5 }, (_, i) => {
        const parsed = parseEventDraft(makeEventInput({ headline: `Counted story ${i}`, tags: ['Alpha'] }));
        if (!parsed.ok) throw new Error('invalid');
        return createdEvent(parsed.draft, '2026-12-06T00:00:00.000Z');
      });
      for (const e of events) await store.putEvent(e, undefined);
      const handle = makeHandler({
        store,
        now: () => '2026-12-06T00:00:01.000Z',
        topic: recordingTopic().topic,
        siteUrl: 'https://news.example.org',
      });
      await handle(
        { Records: events.map((e, i) => makeStreamRecord(e, undefined, i + 1)) },
        lambdaContext('x'),
      );
      expect(await auditCounts(store, { repair: false })).toEqual({
        tags: 1,
        wrong: 0,
        repaired: 0,
        inFlight: 0,
      });

      await driftCount(table.dynamo.endpoint, table.tableName, store, 'alpha', 'Alpha', 2);
      expect((await store.getTag('alpha'))?.count).toBe(7);
      const target = ['--table', table.tableName, '--endpoint', table.dynamo.endpoint];
      const check = await counts(['--check', ...target]);
      expect(check.code).toBe(1);
      expect(check.stdout).toMatch(/^alpha shard 0: counter \d+, entries \d+$/m);
      expect(check.stdout).toContain('1 tags: 1 counter shard(s) wrong');

      // What the stream marked is published: no mark is left before the repair.
      await store.clearMarks([...(await store.listMarks('tag')), ...(await store.listMarks('site'))]);
      expect(await store.listMarks('tag')).toEqual([]);
      const repair = await counts(['--repair', ...target]);
      expect(repair.code).toBe(0);
      expect(repair.stdout).toContain('(repaired)');
      expect((await store.getTag('alpha'))?.count).toBe(5);
      // Marked, with the site: the next publish reads its count again and shows it.
      expect((await store.listMarks('tag')).map((m) => m.key)).toContain('alpha');
      expect((await store.listMarks('site')).map((m) => m.key)).toContain('all');
      expect(await counts(['--check', ...target])).toEqual({
        code: 0,
        stdout: '1 tags: 0 counter shard(s) wrong\n',
      });
      expect((await counts([...target])).code).toBe(2);
    } finally {
      await table.close();
    }
  }, 60_000);
});
