import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makePublishJobs } from '../../../shared/adapters/publish-jobs.js';
import { emptyPublishReport } from '../../../shared/services/publish.js';
import { type FakeStack, fakeStack, outputsOf, recordingProgress } from './fake-stack.js';

// publish and digest invoke the stack's functions; Lambda is faked, answering as InvokeCommand does.

let stack: FakeStack;
const outputs = outputsOf('');
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const payloadOf = (call: number) => {
  const input = stack.fakes.lambda.commandCalls(InvokeCommand)[call]?.args[0].input;
  return {
    FunctionName: input?.FunctionName,
    InvocationType: input?.InvocationType,
    payload: JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array)),
  };
};

beforeAll(async () => {
  stack = await fakeStack();
});
afterAll(() => stack.close());
beforeEach(() => stack.fakes.lambda.reset());

describe('publish', () => {
  it('starts an incremental run and returns at once', async () => {
    stack.fakes.lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const { progress } = recordingProgress();
    expect(await stack.backend.publish({ full: false, wait: false }, progress)).toEqual({ started: true });
    expect(payloadOf(0)).toEqual({
      FunctionName: outputs.PublishFunction,
      InvocationType: 'Event',
      payload: {},
    });
  });

  it('--full --wait invokes with {"full": true} and returns the run report', async () => {
    const report = { written: 12, unchanged: 3, removed: 0, marksCleared: 0, marksKept: 0, failed: 0 };
    stack.fakes.lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: json(report) as never });
    const { progress, seen } = recordingProgress();
    expect(await stack.backend.publish({ full: true, wait: true }, progress)).toEqual(report);
    expect(payloadOf(0)).toEqual({
      FunctionName: outputs.PublishFunction,
      InvocationType: 'RequestResponse',
      payload: { full: true },
    });
    expect(seen.stopped).toBe(true);
  });

  it('says in one line why a waited-for run failed', async () => {
    stack.fakes.lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: json({
        errorType: 'Error',
        errorMessage: '2 rebuilds failed; their marks stay for the next run',
      }) as never,
    });
    await expect(
      stack.backend.publish({ full: false, wait: true }, recordingProgress().progress),
    ).rejects.toThrow(
      `${outputs.PublishFunction} failed: 2 rebuilds failed; their marks stay for the next run (its logs say more)`,
    );
  });
});

describe('publish --full as a job', () => {
  const jobs = () => makePublishJobs(stack.table.db, stack.table.tableName);

  it('starts the job and says how big it is, without waiting for it', async () => {
    const outcome = {
      ...emptyPublishReport(),
      started: true,
      job: 'J1',
      slices: 5,
      phases: [3, 1, 1],
      events: 10,
    };
    stack.fakes.lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: json(outcome) as never });
    const result = await stack.backend.publish({ full: true, wait: false }, recordingProgress().progress);
    expect(payloadOf(0).payload).toEqual({ full: true });
    expect(result).toMatchObject({ started: true, job: { job: 'J1', slices: 5, phases: 3, slicesDone: 0 } });
  });

  it('--wait follows the job in the table to its end, and reports its totals', async () => {
    const at = new Date(stack.clock.now).toISOString();
    expect(await jobs().start('J2', [2, 1], 1, at)).toBe(true);
    await jobs().sliceDone('J2', 0, 0, { written: 5, unchanged: 1, removed: 0 }, at);
    await jobs().sliceDone('J2', 1, 0, { written: 2, unchanged: 0, removed: 1 }, at);
    await jobs().advance('J2', 0);
    await jobs().sliceDone('J2', 2, 1, { written: 3, unchanged: 0, removed: 0 }, at);
    await jobs().finish('J2', at);
    const outcome = {
      ...emptyPublishReport(),
      started: true,
      job: 'J2',
      slices: 3,
      phases: [2, 1],
      events: 4,
    };
    stack.fakes.lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: json(outcome) as never });
    const { progress, seen } = recordingProgress();
    expect(await stack.backend.publish({ full: true, wait: true }, progress)).toMatchObject({
      written: 10,
      unchanged: 1,
      removed: 1,
      failed: 0,
    });
    expect(seen.started).toEqual([3, 'publishing slices']);
    expect(seen.updates).toEqual([3]);
    expect(seen.stopped).toBe(true);
  });

  it('--wait gives up on a job that has done no slice for twenty minutes, saying to resume it', async () => {
    const at = new Date(stack.clock.now).toISOString();
    expect(await jobs().start('J4', [2], 1, at)).toBe(true);
    const outcome = { ...emptyPublishReport(), started: true, job: 'J4', slices: 2, phases: [2], events: 4 };
    stack.fakes.lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: json(outcome) as never });
    await expect(
      stack.backend.publish({ full: true, wait: true }, recordingProgress().progress),
    ).rejects.toThrow(/has done no slice since .* \(0 of 2\).*tidings publish --resume/);
    await jobs().cancel(at);
  });

  it('--cancel and --resume ask the publisher, and say what it did', async () => {
    const at = new Date(stack.clock.now).toISOString();
    await jobs().start('J3', [4], 1, at);
    const state = await jobs().get();
    stack.fakes.lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: json({ ...emptyPublishReport(), cancelled: state }) as never,
    });
    const cancelled = await stack.backend.publish(
      { full: false, wait: false, cancel: true },
      recordingProgress().progress,
    );
    expect(payloadOf(0)).toMatchObject({ InvocationType: 'RequestResponse', payload: { cancel: true } });
    expect(cancelled).toEqual({
      cancelled: expect.objectContaining({ job: 'J3', slices: 4, status: 'running' }),
    });
    stack.fakes.lambda.reset();
    stack.fakes.lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: json({ ...emptyPublishReport(), resumed: { job: 'J3', resent: 2 } }) as never,
    });
    const resumed = await stack.backend.publish(
      { full: false, wait: false, resume: true },
      recordingProgress().progress,
    );
    expect(payloadOf(0).payload).toEqual({ resume: true });
    expect(resumed).toEqual({ resumed: { job: 'J3', resent: 2 } });
    await jobs().cancel(at);
  });
});

describe('an identity without the permission', () => {
  it('is told so in one line, naming the command', async () => {
    stack.fakes.lambda
      .on(InvokeCommand)
      .rejects(
        Object.assign(
          new Error(
            'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: lambda:InvokeFunction\nmore',
          ),
          { name: 'AccessDeniedException' },
        ),
      );
    await expect(
      stack.backend.publish({ full: true, wait: false }, recordingProgress().progress),
    ).rejects.toThrow(/^publish: your AWS identity may not do this \(User: .* lambda:InvokeFunction\)$/);
  });
});

describe('digest', () => {
  it('--now --cadence weekly invokes plan-digests as the schedule would, ending the window now', async () => {
    stack.fakes.lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: json({ cadence: 'weekly', end: '2026-12-06T04:00:00.000Z' }) as never,
    });
    const started = await stack.backend.digest(
      { now: true, cadence: 'weekly' },
      recordingProgress().progress,
    );
    expect(started).toEqual({ started: true, cadence: 'weekly', windowEnd: '2026-12-06T04:00:00.000Z' });
    expect(payloadOf(0)).toEqual({
      FunctionName: outputs.PlanDigestsFunction,
      InvocationType: 'RequestResponse',
      payload: { cadence: 'weekly', now: true },
    });
  });
});
