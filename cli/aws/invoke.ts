import { InvokeCommand } from '@aws-sdk/client-lambda';
import { CliError } from '../errors.js';
import type { AwsContext } from './context.js';

/** Invokes a function and waits for its answer; a function error becomes a CliError with its message. */
export const invokeAndWait = async (
  ctx: AwsContext,
  functionName: string,
  payload: unknown,
): Promise<unknown> => {
  const out = await ctx.clients.lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  const body: unknown = text ? JSON.parse(text) : undefined;
  if (out.FunctionError) {
    const message =
      typeof body === 'object' && body !== null && 'errorMessage' in body
        ? String((body as { errorMessage: unknown }).errorMessage)
        : out.FunctionError;
    throw new CliError(`${functionName} failed: ${message} (its logs say more)`);
  }
  return body;
};

/** Queues an invocation (the function runs on its own); true once Lambda has it. */
export const invokeLater = async (ctx: AwsContext, functionName: string, payload: unknown): Promise<void> => {
  await ctx.clients.lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
};
