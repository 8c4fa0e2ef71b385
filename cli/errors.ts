/**
 * A failure the operator can act on (no such key, stack not found, no credentials): printed as its
 * one-line message, exit code 1. `usage` marks a mistake in the command line: exit code 2.
 */
export class CliError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, options: { usage?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.usage ? 2 : 1;
  }
}
