import type { ApiKeyInfo } from '../backend.js';
import type { Command } from '../command.js';
import { CliError } from '../errors.js';

const table = (keys: ApiKeyInfo[]): string =>
  keys.length === 0
    ? 'no API keys'
    : [
        'NAME                 ID                CREATED                   STATUS',
        ...keys.map(
          (k) =>
            `${k.name.padEnd(20)} ${k.id.padEnd(17)} ${k.createdAt.padEnd(25)} ${k.revoked ? 'revoked' : 'active'}`,
        ),
      ].join('\n');

export const keysCommands: Command[] = [
  {
    name: 'keys create',
    summary: 'create an API key (shown once)',
    usage: 'keys create --name NAME',
    help: `Creates an API key for the write routes of the API and prints it once: only its SHA-256 hash is
stored, so it cannot be shown again. Keep it in the integrator's secret store.

  --name NAME   who or what the key is for (1 to 64 letters, digits, ".", "@", "_", "-")`,
    options: { name: { type: 'string' } },
    async run(ctx) {
      const name = ctx.values.name;
      if (typeof name !== 'string' || name === '') throw new CliError('--name is required', { usage: true });
      const key = await (await ctx.backend()).keys.create(name);
      return {
        result: key,
        text: `${key.key}\nAPI key "${key.name}" created (id ${key.id}). It is shown only this once: only its hash is stored.`,
      };
    },
  },
  {
    name: 'keys list',
    summary: 'list the API keys (name, id, created, revoked)',
    usage: 'keys list',
    help: 'Lists every API key: its name, id (the first 16 hex characters of its hash), when it was created\nand whether it is revoked. The keys themselves are not stored.',
    async run(ctx) {
      const keys = await (await ctx.backend()).keys.list();
      return { result: keys, text: table(keys) };
    },
  },
  {
    name: 'keys revoke',
    summary: 'revoke an API key by name or id',
    usage: 'keys revoke NAME|ID',
    help: "Revokes the key: locally it is refused from the next request on; in AWS within the\nauthorizer's cache time, 5 minutes.",
    positionals: { min: 1, max: 1, names: 'NAME|ID' },
    async run(ctx) {
      const key = await (await ctx.backend()).keys.revoke(ctx.positionals[0] as string);
      return { result: key, text: `API key "${key.name}" (id ${key.id}) revoked` };
    },
  },
];
