import { parseArgs } from 'node:util';
import { createAwsBackend } from './aws/backend.js';
import type { Backend } from './backend.js';
import type { Command, Globals, RawCommand } from './command.js';
import { countsCommand } from './commands/counts.js';
import { importCommand } from './commands/import.js';
import { keysCommands } from './commands/keys.js';
import { linksCommands } from './commands/links.js';
import { migrateCommand } from './commands/migrate.js';
import { publishCommands } from './commands/publish.js';
import { statusCommands } from './commands/status.js';
import { subscribersCommands } from './commands/subscribers.js';
import { webhooksCommands } from './commands/webhooks.js';
import { websubCommands } from './commands/websub.js';
import { CliError } from './errors.js';
import type { Io } from './io.js';
import { createLocalBackend } from './local/backend.js';
import { localDataDir } from './local/target.js';
import { progressFor } from './progress.js';

export { processIo } from './io.js';

const COMMANDS: (Command | RawCommand)[] = [
  ...keysCommands,
  ...publishCommands,
  importCommand,
  migrateCommand,
  countsCommand,
  ...statusCommands,
  ...subscribersCommands,
  ...webhooksCommands,
  ...websubCommands,
  ...linksCommands,
];

export const GLOBAL_OPTIONS = {
  stack: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const GLOBAL_HELP = `Global options:
  --stack NAME     act on a deployed stack (its outputs read with CloudFormation, your AWS
                   credentials) instead of the local data folder (TIDINGS_DATA_DIR, default .data)
  --region R       the stack's region (default: AWS_REGION or your profile's)
  --profile P      the AWS profile to use
  --json           print the result as JSON on stdout, and nothing else
  --verbose        print stack traces of failures
  --help, -h       this help

Exit codes: 0 done, 1 failed, 2 usage.`;

const overview = (): string =>
  [
    'Usage: tidings COMMAND [options]',
    '',
    'Operates Tidings: the local runtime by default (a running `npm start` is found from its data',
    'folder, whatever its port; without one the data folder is opened directly), or a deployed stack',
    'with --stack NAME. No API key is needed: local administration acts on the data folder you own.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(20)} ${c.summary}`),
    '',
    GLOBAL_HELP,
    '',
    'Run `tidings COMMAND --help` for a command. docs/operations.md has examples.',
  ].join('\n');

const commandHelp = (c: Command): string =>
  [`Usage: tidings ${c.usage} [--stack NAME] [--json] [--verbose]`, '', c.help, '', GLOBAL_HELP].join('\n');

/** Options that take a value, whichever command: their values are not command words. */
const VALUED = new Set([
  ...Object.entries(GLOBAL_OPTIONS)
    .filter(([, o]) => o.type === 'string')
    .map(([name]) => name),
  ...COMMANDS.flatMap((c) =>
    'options' in c && c.options
      ? Object.entries(c.options)
          .filter(([, o]) => o.type === 'string')
          .map(([name]) => name)
      : [],
  ),
  // import's and migrate's own
  'url',
  'key',
  'table',
  'endpoint',
  'cursor',
]);

/** The positions of the words in argv that are not options or option values. */
const wordPositions = (argv: string[]): number[] => {
  const at: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (!arg.includes('=') && VALUED.has(arg.replace(/^-+/, ''))) i += 1;
      continue;
    }
    at.push(i);
  }
  return at;
};

/** The command the words name ("keys create"), and the arguments without them. */
const findCommand = (argv: string[]) => {
  const positions = wordPositions(argv);
  const words = positions.map((i) => argv[i]);
  for (const c of COMMANDS) {
    const parts = c.name.split(' ');
    if (parts.every((p, i) => words[i] === p)) {
      const drop = new Set(positions.slice(0, parts.length));
      return { command: c, rest: argv.filter((_, i) => !drop.has(i)) };
    }
  }
  return undefined;
};

/** Groups ("keys") named without a subcommand: their subcommands. */
const groupHelp = (word: string | undefined): string | undefined => {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${word} `));
  if (!word || members.length === 0) return undefined;
  return [
    `Usage: tidings ${word} ${members.map((m) => m.name.split(' ')[1]).join('|')} [options]`,
    '',
    ...members.map((c) => `  ${c.name.padEnd(20)} ${c.summary}`),
    '',
    `Run \`tidings ${word} SUBCOMMAND --help\` for one of them.`,
  ].join('\n');
};

const isRaw = (c: Command | RawCommand): c is RawCommand => 'raw' in c;

/** Opens the target on first use (a command's --help opens nothing); `opened` is what main closes. */
const backendFor = (globals: Globals, io: Io) => {
  const state: { opened?: Promise<Backend> } = {};
  const get = (): Promise<Backend> => {
    state.opened ??= globals.stack
      ? createAwsBackend({
          stack: globals.stack,
          ...(globals.region ? { region: globals.region } : {}),
          ...(globals.profile ? { profile: globals.profile } : {}),
        })
      : Promise.resolve(createLocalBackend({ dataDir: localDataDir(io.env) }));
    return state.opened;
  };
  return { get, state };
};

/**
 * Runs one command line (without `node tidings`): prints to `io` and resolves to the exit code
 * (0 done, 1 failed, 2 usage). Never exits the process: the bin does.
 */
export const main = async (argv: string[], io: Io): Promise<number> => {
  const verbose = argv.includes('--verbose');
  const json = argv.includes('--json');
  const say = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`tidings: ${message}\n`);
    if (verbose && error instanceof Error && error.stack) io.err(`${error.stack}\n`);
  };
  const found = findCommand(argv);
  if (!found) {
    const first = wordPositions(argv).map((i) => argv[i])[0];
    const group = groupHelp(first);
    if (
      argv.length === 0 ||
      (argv.every((a) => a.startsWith('-')) && argv.some((a) => a === '--help' || a === '-h'))
    ) {
      if (argv.length === 0) {
        io.err(`${overview()}\n`);
        return 2;
      }
      io.out(`${overview()}\n`);
      return 0;
    }
    if (group) {
      const asked = argv.includes('--help') || argv.includes('-h');
      (asked ? io.out : io.err)(`${asked ? '' : `tidings: ${first} needs a subcommand\n\n`}${group}\n`);
      return asked ? 0 : 2;
    }
    io.err(`tidings: unknown command "${first ?? ''}"\n\n${overview()}\n`);
    return 2;
  }
  const { command, rest } = found;

  if (isRaw(command)) {
    const globals: Globals = { json, verbose };
    const strip = (flag: keyof Globals) => {
      const i = rest.findIndex((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
      if (i === -1) return;
      const [arg] = rest.splice(i, 1);
      if (arg?.includes('='))
        (globals as unknown as Record<string, string>)[flag] = arg.slice(arg.indexOf('=') + 1);
      else (globals as unknown as Record<string, string>)[flag] = rest.splice(i, 1)[0] ?? '';
    };
    strip('stack');
    strip('profile');
    // migrate's --table takes a --region of its own; import's is the stack's.
    if (command.name !== 'migrate') strip('region');
    const kept = rest.filter((a) => a !== '--json' && a !== '--verbose');
    try {
      return await command.raw(kept, io, globals);
    } catch (error) {
      say(error);
      return error instanceof CliError ? error.exitCode : 1;
    }
  }

  let values: Record<string, unknown>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    io.err(`tidings ${command.name}: ${(error as Error).message}\n\n${commandHelp(command)}\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${commandHelp(command)}\n`);
    return 0;
  }
  const wanted = command.positionals ?? { min: 0, max: 0, names: '' };
  if (positionals.length < wanted.min || positionals.length > wanted.max) {
    const problem =
      positionals.length < wanted.min
        ? `${wanted.names} is required`
        : `unexpected argument "${positionals[wanted.max]}"`;
    io.err(`tidings ${command.name}: ${problem}\n\n${commandHelp(command)}\n`);
    return 2;
  }
  const globals: Globals = {
    json,
    verbose,
    ...(typeof values.stack === 'string' ? { stack: values.stack } : {}),
    ...(typeof values.region === 'string' ? { region: values.region } : {}),
    ...(typeof values.profile === 'string' ? { profile: values.profile } : {}),
  };
  if (!globals.stack && (globals.region || globals.profile)) {
    io.err(`tidings ${command.name}: --region and --profile go with --stack NAME\n`);
    return 2;
  }
  const backend = backendFor(globals, io);
  try {
    const outcome = await command.run({
      values: values as Record<string, string | boolean | undefined>,
      positionals,
      io,
      json,
      backend: backend.get,
      progress: progressFor(io, json),
    });
    io.out(json ? `${JSON.stringify(outcome.result, null, 2)}\n` : outcome.text ? `${outcome.text}\n` : '');
    return outcome.exitCode ?? 0;
  } catch (error) {
    if (error instanceof CliError && error.exitCode === 2) {
      io.err(`tidings ${command.name}: ${error.message}\n\n${commandHelp(command)}\n`);
      return 2;
    }
    say(error);
    return 1;
  } finally {
    const opened = await backend.state.opened?.catch(() => undefined);
    await opened?.close().catch((error: unknown) => say(error));
  }
};
