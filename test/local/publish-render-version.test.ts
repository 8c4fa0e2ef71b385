import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAST_PUBLISH_FILE, RENDERED_VERSION_FILE } from '../../local/runtime.js';
import { RENDER_VERSION } from '../../shared/render/version.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { tempFolders } from '../helpers/site-files.js';

// Locally, as in AWS, a site published by code that renders differently is published again in
// full by the schedule, once.

const folders = tempFolders('tidings-render-');
const dataDir = folders.make();
afterAll(() => folders.removeAll());

const rendered = () => readFileSync(join(dataDir, RENDERED_VERSION_FILE), 'utf8').trim();
const lastPublish = () =>
  JSON.parse(readFileSync(join(dataDir, LAST_PUBLISH_FILE), 'utf8')) as { full: boolean; at: string };

const until = async (done: () => boolean, ms = 30_000) => {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > ms) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

describe('the render version of a local site', () => {
  it('is recorded for a new site, and an older one has the schedule publish everything once', async () => {
    let rt: TestRuntime = await startTestRuntime({ dataDir });
    // A site never published is rendered by this code from its first run.
    expect(rendered()).toBe(String(RENDER_VERSION));
    await rt.postAll([makeEventInput({ date: '2019-05-05', headline: 'Rendered once', tags: ['Alpha'] })]);
    expect((await rt.publish()).failed).toBe(0);
    await rt.dispose();

    // The site as code of an older render version left it.
    writeFileSync(join(dataDir, RENDERED_VERSION_FILE), `${RENDER_VERSION - 1}\n`);
    const lines: string[] = [];
    rt = await startTestRuntime({
      dataDir,
      publishIntervalMs: 100,
      publishWorkers: 1,
      log: (l) => lines.push(l),
    });
    try {
      await until(() => rendered() === String(RENDER_VERSION));
      expect(lastPublish().full).toBe(true);
      expect(lines.filter((l) => l.includes('renders differently'))).toHaveLength(1);
      const fullAt = lastPublish().at;
      // The next ticks publish what is marked only.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(lines.filter((l) => l.includes('renders differently'))).toHaveLength(1);
      expect(lastPublish().at).toBe(fullAt);
    } finally {
      await rt.dispose();
    }
  }, 60_000);
});
