import type { Command } from '../command.js';

export const linksCommands: Command[] = [
  {
    name: 'links rotate',
    summary: 'rotate the key that signs subscriber links',
    usage: 'links rotate [--retire]',
    help: `Adds a new link-signing key and makes it current; links signed by the older keys still work.
Once those links have aged out (manage links: 60 days; unsubscribe links: a year), run it with
--retire to drop the older keys: their links stop working. Subscriber ids never change.

  --retire   drop every key but the current one (and links made before key ids)`,
    options: { retire: { type: 'boolean' } },
    async run(ctx) {
      const result = await (await ctx.backend()).links.rotate({ retireOld: ctx.values.retire === true });
      return {
        result,
        text: `signing with ${result.current}; accepted: ${result.accepted.join(', ')}`,
      };
    },
  },
];
