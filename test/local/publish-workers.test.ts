import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFolderObjectStore } from '../../local/site-folder.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import { publishAll } from '../../shared/services/publish.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { snapshot, tempFolders } from '../helpers/site-files.js';

// A local full publish on worker processes (`npm run publish -- --full`): the same plan and slices
// as in AWS, done by child processes on the same store and site folder.

let rt: TestRuntime;
const progress: [number, number, string][] = [];
const folders = tempFolders('tidings-workers-');

beforeAll(async () => {
  rt = await startTestRuntime({
    publishWorkers: 2,
    publishProgress: (done, total, label) => progress.push([done, total, label]),
  });
  const events = Array.from({ length: 40 }, (_, i) =>
    makeEventInput({
      date: `2017-0${(i % 3) + 1}-1${i % 4}`,
      headline: `Worker event ${i}`,
      topic: i % 2 === 0 ? 'Elections' : undefined,
      tags: ['Common', i % 3 === 0 ? 'Third' : 'Other'],
    }),
  );
  await rt.postAll(events);
}, 120_000);

afterAll(async () => {
  await rt.dispose();
  folders.removeAll();
});

describe('a local full publish on worker processes', () => {
  it('writes what the slices write in one process, byte for byte, and reports each worker', async () => {
    const report = await rt.publish(true);
    expect(report.failed).toBe(0);
    expect(report.written).toBeGreaterThan(40 * 3);
    const figures = rt.fullPublishFigures();
    // Three months, a tags slice, the site: done by two processes, each reporting its peak memory.
    expect(figures?.slices.map((s) => s.kind).sort()).toEqual(['month', 'month', 'month', 'site', 'tags']);
    expect(figures?.slices.filter((s) => s.kind === 'month').reduce((sum, s) => sum + s.size, 0)).toBe(40);
    expect(figures?.workers).toHaveLength(2);
    for (const worker of figures?.workers ?? []) {
      expect(worker.pid).not.toBe(process.pid);
      expect(worker.peakMB).toBeGreaterThan(10);
    }
    expect(figures?.workers.reduce((sum, w) => sum + w.slices, 0)).toBe(5);
    // The progress bar's feed: every slice, in the order they were done, of five.
    expect(progress.map(([done, total]) => [done, total])).toEqual([1, 2, 3, 4, 5].map((n) => [n, 5]));
    expect(progress.at(-1)?.[2]).toBe('site');

    const inProcess = folders.make();
    const site = defaultSiteConfig(rt.url);
    expect(
      (await publishAll({ store: rt.store, objects: makeFolderObjectStore(inProcess), site })).failed,
    ).toBe(0);
    const expected = snapshot(inProcess);
    const actual = snapshot(join(rt.dataDir, 'site'));
    // The plan is gone with the run; nothing else differs.
    expect([...actual.keys()].filter((key) => key.startsWith('_publish/jobs/'))).toEqual([]);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    expect([...expected].filter(([key, bytes]) => actual.get(key) !== bytes).map(([key]) => key)).toEqual([]);
  });

  it('finds everything unchanged when run again', async () => {
    const report = await rt.publish(true);
    expect(report).toMatchObject({ written: 0, failed: 0 });
    expect(report.unchanged).toBeGreaterThan(40 * 3);
  });
});
