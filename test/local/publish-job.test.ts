import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeHandler as makePublisher } from '../../functions/publish-site.js';
import { makeHandler as makeWorker } from '../../functions/publish-slice.js';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { makeFolderObjectStore } from '../../local/site-folder.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { makeLease } from '../../shared/adapters/lease.js';
import type { ObjectStore } from '../../shared/adapters/object-store.js';
import { makePublishJobs } from '../../shared/adapters/publish-jobs.js';
import { defaultSiteConfig, type SiteConfig } from '../../shared/domain/site.js';
import { RENDER_VERSION } from '../../shared/render/version.js';
import { publishMarked } from '../../shared/services/publish.js';
import type { PublishFunctionDeps } from '../../shared/services/publish-deps.js';
import { cancelJob, resumeJob, type SliceMessage } from '../../shared/services/publish-job.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { snapshot, tempFolders } from '../helpers/site-files.js';

// The full publish as a job, as it runs in AWS: the publish function plans it, slice workers take
// its slices from a queue (here a list) and move it on, over a real table (dynalite) and real files.

let rt: TestRuntime;
let site: SiteConfig;
let jobs: ReturnType<typeof makePublishJobs>;
let lease: ReturnType<typeof makeLease>;
const folders = tempFolders('tidings-job-');

// Two months (so two month slices), tags of different sizes, topic labels.
const inputs = Array.from({ length: 48 }, (_, i) =>
  makeEventInput({
    date: `2016-${i % 2 === 0 ? '10' : '11'}-${String((i % 5) + 10).padStart(2, '0')}`,
    headline: `Job event ${i}`,
    body: `Paragraph of event ${i} & more.`,
    topic: i % 3 === 0 ? undefined : `Label ${i % 2}`,
    tags: ['Common', ...['Politics', 'Energy', 'Rare'].filter((_, k) => i % (k + 2) === 0)],
  }),
);

/** The queue of slices: sent messages wait here until `drain` hands them to a worker. */
const queue = () => {
  const messages: SliceMessage[] = [];
  return { messages, send: async (sent: readonly SliceMessage[]) => void messages.push(...sent) };
};

const depsFor = (objects: ObjectStore, sliceQueue: ReturnType<typeof queue>): PublishFunctionDeps => ({
  store: rt.store,
  objects,
  site,
  lease,
  jobs,
  sliceQueue,
});

const context = (id: string) =>
  ({ awsRequestId: id, getRemainingTimeInMillis: () => 900_000 }) as unknown as Context;

const record = (message: unknown, id: string): SQSEvent =>
  ({ Records: [{ messageId: id, body: JSON.stringify(message) }] }) as unknown as SQSEvent;

/**
 * Hands the queue's messages to the worker one at a time, as the event source does; a message it
 * reports failed goes back to the end of the queue, up to `attempts` times. Returns the failures.
 */
const drain = async (
  worker: ReturnType<typeof makeWorker>,
  q: ReturnType<typeof queue>,
  attempts = 3,
): Promise<{ failed: string[]; handled: number }> => {
  const tries = new Map<string, number>();
  const failed: string[] = [];
  let handled = 0;
  for (let message = q.messages.shift(); message; message = q.messages.shift()) {
    const id = `${message.job}/${message.slice}`;
    const n = (tries.get(id) ?? 0) + 1;
    tries.set(id, n);
    handled++;
    const out = await worker(record(message, id), context(`worker-${handled}`));
    if (out.batchItemFailures.length === 0) continue;
    if (n < attempts) q.messages.push(message);
    else failed.push(id);
  }
  return { failed, handled };
};

beforeAll(async () => {
  rt = await startTestRuntime();
  site = { ...defaultSiteConfig(rt.url), feedSize: 7 };
  const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
  jobs = makePublishJobs(db, LOCAL_TABLE);
  lease = makeLease(db, LOCAL_TABLE, 'publish');
  await rt.postAll(inputs);
}, 120_000);

afterAll(async () => {
  await rt.dispose();
  folders.removeAll();
});

beforeEach(async () => {
  // No job is left running by the test before.
  await cancelJob({ jobs, lease });
});

describe('the full publish as a job', () => {
  it('writes with its workers what the incremental publisher writes, byte for byte, and ends the job', async () => {
    const incremental = folders.make();
    expect(
      (await publishMarked({ store: rt.store, objects: makeFolderObjectStore(incremental), site })).failed,
    ).toBe(0);

    const folder = folders.make();
    const q = queue();
    const deps = depsFor(makeFolderObjectStore(folder), q);
    const started = await makePublisher(deps)({ full: true }, context('plan'));
    // Two months, one slice of tags, the site.
    expect(started).toMatchObject({ started: true, events: inputs.length, phases: [2, 1, 1] });
    // Only the first phase is queued: tags and the site link to the event pages it writes.
    expect(q.messages.map((m) => m.slice)).toEqual([0, 1]);
    expect((await jobs.get())?.status).toBe('running');
    // The job holds the lease: a scheduled run leaves its marks to the runs after the job.
    expect(await makePublisher(deps)({}, context('scheduled'))).toMatchObject({ skipped: true });

    const { failed, handled } = await drain(makeWorker(deps), q);
    expect(failed).toEqual([]);
    expect(handled).toBe(4);
    const state = await jobs.get();
    expect(state).toMatchObject({ status: 'done', slicesDone: 4, renderedVersion: RENDER_VERSION });
    expect(state?.written).toBeGreaterThan(inputs.length * 3);

    const expected = snapshot(incremental);
    const actual = snapshot(folder);
    // The plan, kept under `_publish/` while the job ran, is gone with it.
    expect([...actual.keys()].filter((key) => key.startsWith('_publish/jobs/'))).toEqual([]);
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    expect([...expected].filter(([key, bytes]) => actual.get(key) !== bytes).map(([key]) => key)).toEqual([]);
    // The lease is given back: the next run is an incremental one.
    expect(await lease.take('next', Date.now(), Date.now() + 1000)).toBe(true);
    await lease.release('next');
  });

  it('retries a failed slice alone, and the job goes on', async () => {
    const folder = folders.make();
    const real = makeFolderObjectStore(folder);
    let failOnce = true;
    const runs: string[] = [];
    const objects: ObjectStore = {
      ...real,
      get: (key) => real.get(key),
      remove: (key) => real.remove(key),
      async putIfChanged(key, body, type) {
        if (key === 'tags/rare.html') runs.push(key);
        if (key === 'tags/rare.html' && failOnce) {
          failOnce = false;
          throw new Error('the bucket is unavailable');
        }
        return real.putIfChanged(key, body, type);
      },
    };
    const q = queue();
    const deps = depsFor(objects, q);
    await makePublisher(deps)({ full: true }, context('plan'));
    const { failed, handled } = await drain(makeWorker(deps), q);
    expect(failed).toEqual([]);
    // Four slices, the tags slice twice.
    expect(handled).toBe(5);
    expect(runs).toHaveLength(2);
    expect(await jobs.get()).toMatchObject({ status: 'done', slicesDone: 4 });
  });

  it('counts a slice delivered twice once', async () => {
    const q = queue();
    const deps = depsFor(makeFolderObjectStore(folders.make()), q);
    await makePublisher(deps)({ full: true }, context('plan'));
    q.messages.push({ ...(q.messages[0] as SliceMessage) });
    const { handled } = await drain(makeWorker(deps), q);
    expect(handled).toBe(5);
    expect(await jobs.get()).toMatchObject({ status: 'done', slicesDone: 4 });
  });

  it('refuses a second full publish while one is under way, saying how to follow or cancel it', async () => {
    const q = queue();
    const deps = depsFor(makeFolderObjectStore(folders.make()), q);
    await makePublisher(deps)({ full: true }, context('plan'));
    await expect(makePublisher(deps)({ full: true }, context('again'))).rejects.toThrow(
      /a full publish is under way \(job .*, 0 of 4 slices done\).*tidings publish --cancel/,
    );
  });

  it('drops the slices left of a cancelled job and gives the lease back', async () => {
    const folder = folders.make();
    const q = queue();
    const deps = depsFor(makeFolderObjectStore(folder), q);
    await makePublisher(deps)({ full: true }, context('plan'));
    const cancelled = await cancelJob({ jobs, lease });
    expect(cancelled?.status).toBe('running');
    expect((await jobs.get())?.status).toBe('cancelled');
    const { failed, handled } = await drain(makeWorker(deps), q);
    expect({ failed, handled }).toEqual({ failed: [], handled: 2 });
    // Nothing but the plan was written, and no next phase was queued.
    expect([...snapshot(folder).keys()].every((key) => key.startsWith('_publish/jobs/'))).toBe(true);
    expect(await makePublisher(deps)({}, context('scheduled'))).not.toHaveProperty('skipped');
  });

  it('resumes a stalled job: the slices of its phase not done are sent again', async () => {
    const q = queue();
    const deps = depsFor(makeFolderObjectStore(folders.make()), q);
    await makePublisher(deps)({ full: true }, context('plan'));
    // The first slice is done; the second was lost (its dead-letter queue).
    const worker = makeWorker(deps);
    await worker(record(q.messages[0], 'first'), context('w1'));
    q.messages.length = 0;
    expect(await jobs.get()).toMatchObject({ status: 'running', phase: 0, slicesDone: 1 });
    const resumed = await resumeJob({ ...deps, jobs, queue: q });
    expect(resumed.resent).toBe(1);
    expect(q.messages.map((m) => m.slice)).toEqual([1]);
    await drain(worker, q);
    expect(await jobs.get()).toMatchObject({ status: 'done', slicesDone: 4 });
    await expect(resumeJob({ ...deps, jobs, queue: q })).rejects.toThrow('no full publish is under way');
  });

  it('lets the scheduled runs go on once the lease of a stalled job has run out, until it is resumed', async () => {
    const q = queue();
    const deps = depsFor(makeFolderObjectStore(folders.make()), q);
    await makePublisher(deps)({ full: true }, context('plan'));
    const job = (await jobs.get())?.job as string;
    // Its slices lost (the dead-letter queue) and its lease run out.
    q.messages.length = 0;
    await lease.release(job);
    expect(await makePublisher(deps)({}, context('scheduled'))).not.toHaveProperty('skipped');
    expect(await jobs.get()).toMatchObject({ job, status: 'running' });
    // Resuming takes the lease back: the scheduled runs wait again.
    await resumeJob({ ...deps, jobs, queue: q });
    expect(await makePublisher(deps)({}, context('scheduled'))).toMatchObject({ skipped: true });
    await drain(makeWorker(deps), q);
    expect(await jobs.get()).toMatchObject({ job, status: 'done' });
  });

  it('starts a full publish from the schedule when no job has rendered the site with this render version', async () => {
    const q = queue();
    const deps = depsFor(makeFolderObjectStore(folders.make()), q);
    await drain(makeWorker(deps), q);
    // The last job (the test before) was of this version: the scheduled run is incremental.
    expect(await makePublisher(deps)({}, context('scheduled'))).not.toHaveProperty('started');
    // A job of an older version was the last: the next scheduled run starts one.
    const older = await jobs.start('older', [1], RENDER_VERSION - 1, new Date().toISOString());
    expect(older).toBe(true);
    await jobs.finish('older', new Date().toISOString());
    const outcome = await makePublisher(deps)({}, context('scheduled'));
    expect(outcome).toMatchObject({ started: true });
    await drain(makeWorker(deps), q);
    expect(await jobs.get()).toMatchObject({ status: 'done', renderedVersion: RENDER_VERSION });
  });

  it('sends a message that is not a slice to the dead-letter queue', async () => {
    const worker = makeWorker(depsFor(makeFolderObjectStore(folders.make()), queue()));
    for (const body of [{ job: 'x' }, { job: '../x', slice: 1 }, { job: 'x', slice: -1 }, 'nope']) {
      const out = await worker(record(body, 'poison'), context('w'));
      expect(out.batchItemFailures, JSON.stringify(body)).toEqual([{ itemIdentifier: 'poison' }]);
    }
  });
});
