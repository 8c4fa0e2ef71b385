/** Where a command writes and what it knows of its terminal: the process's, or a test's. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal: progress bars only then. */
  isTTY: boolean;
  env: Record<string, string | undefined>;
  /** A stream for cli-progress to draw on (stderr); absent in tests. */
  progressStream?: NodeJS.WritableStream;
}

export const processIo = (): Io => ({
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: process.stderr.isTTY === true,
  env: process.env,
  progressStream: process.stderr,
});

/** Collects what a command prints: main() run in a test. */
export const memoryIo = (env: Record<string, string | undefined> = {}) => {
  const io = {
    stdout: '',
    stderr: '',
    out(text: string) {
      io.stdout += text;
    },
    err(text: string) {
      io.stderr += text;
    },
    isTTY: false,
    env,
  };
  return io;
};
