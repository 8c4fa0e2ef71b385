import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelFullPublish } from '../../bench/publish-model.js';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { defaultSiteConfig } from '../../shared/domain/site.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { tempFolders } from '../helpers/site-files.js';

// The benchmark's model of the full publish in AWS, on a small site: the plan and a sample of its
// slices run with AWS's latencies, and the job scheduled on the workers from them.

let rt: TestRuntime;
const folders = tempFolders('tidings-model-');

beforeAll(async () => {
  rt = await startTestRuntime();
  const events = Array.from({ length: 30 }, (_, i) =>
    makeEventInput({
      date: `2018-0${(i % 3) + 1}-0${(i % 5) + 1}`,
      headline: `Model event ${i}`,
      tags: ['Alpha', `T${i % 4}`],
    }),
  );
  await rt.postAll(events);
}, 120_000);

afterAll(async () => {
  await rt.dispose();
  folders.removeAll();
});

describe('the modelled full publish', () => {
  it('measures a sample of slices with AWS latencies and schedules every slice on the workers', async () => {
    const result = await modelFullPublish({
      endpoint: rt.dynamodbEndpoint,
      tableName: LOCAL_TABLE,
      site: defaultSiteConfig(rt.url),
      dir: folders.make(),
      workers: 2,
      scale: 4000,
    });
    // Three months (one sample each), the middle month's pages and archive apart, one tags slice, the site.
    expect(result.measured.map((m) => m.kind).sort()).toEqual(
      ['month', 'month', 'month', 'month-archive', 'month-pages', 'site', 'tags'].sort(),
    );
    for (const slice of result.measured) {
      // Every object is new: a HEAD then a PUT, each at least 25 ms.
      expect(slice.requests.PUT, slice.label).toBeGreaterThan(0);
      expect(slice.requests.HEAD, slice.label).toBeGreaterThanOrEqual(slice.requests.PUT as number);
      expect(slice.seconds, slice.label).toBeGreaterThanOrEqual(0.05);
    }
    expect(result.job.slices).toBe(5);
    expect(result.job.perPhase).toHaveLength(3);
    expect(result.job.seconds).toBeGreaterThan(result.job.planSeconds);
    // At 4,000 times the events a month is cut into slices of its pages and one of its archive.
    expect(result.projected.events).toBe(120_000);
    expect(result.projected.slices).toBeGreaterThan(result.job.slices + 3);
    expect(result.projected.seconds).toBeGreaterThan(result.job.seconds);
  });
});
