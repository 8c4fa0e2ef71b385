import type { ParseArgsConfig } from 'node:util';
import type { Backend, Progress } from './backend.js';
import type { Io } from './io.js';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Context {
  values: Values;
  positionals: string[];
  io: Io;
  json: boolean;
  /** The local runtime, or the stack of --stack; opened on first use, closed by main. */
  backend(): Promise<Backend>;
  progress: Progress;
}

/** What a command did: `result` is printed as JSON under --json, `text` otherwise. */
export interface Outcome {
  result: unknown;
  text: string;
  /** 0 unless the work was done but some of it failed (1). */
  exitCode?: 0 | 1;
}

export interface Command {
  /** "keys create", "publish"… */
  name: string;
  summary: string;
  /** After "Usage: tidings ": the command's arguments. */
  usage: string;
  /** Paragraphs after the usage line: what it does, each option. */
  help: string;
  options?: Options;
  /** How many positionals it takes (default none). */
  positionals?: { min: number; max: number; names: string };
  run(ctx: Context): Promise<Outcome>;
}

/**
 * A command that parses and prints for itself (import, migrate: long-standing scripts with their own
 * flags and output); it still gets the global flags.
 */
export interface RawCommand {
  name: string;
  summary: string;
  raw(argv: string[], io: import('./io.js').Io, globals: Globals): Promise<number>;
}

export interface Globals {
  stack?: string;
  region?: string;
  profile?: string;
  json: boolean;
  verbose: boolean;
}
