import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
