import type { Command } from '../command.js';

export const linksCommands: Command[] = [
  {
    name: 'links rotate',
    summary: 'rotate the key that signs subscriber links',
    usage: 'links rotate [--retire] [--no-wait]',
    help: `Adds a new link-signing key and makes it current; links signed by the older keys still work.
Once those links have aged out (manage links: 60 days; unsubscribe links: a year), run it with
--retire to drop the older keys: their links stop working. Subscriber ids never change.

In a deployed stack every function re-reads the secret within 5 minutes, so the new key is added
beside the current one first and made current once they all know it: the command waits for that
(a progress bar), or with --no-wait leaves it added and says when to run it again to finish.

  --retire    drop every key but the current one (and links made before key ids)
  --no-wait   in a deployed stack, add the new key and return; run again later to make it current`,
    options: { retire: { type: 'boolean' }, 'no-wait': { type: 'boolean' } },
    async run(ctx) {
      const result = await (await ctx.backend()).links.rotate(
        { retireOld: ctx.values.retire === true, wait: ctx.values['no-wait'] !== true },
        ctx.progress,
      );
      const pending = result.pending
        ? `; ${result.pending.kid} is added and becomes current when run again after ${result.pending.after}`
        : '';
      return {
        result,
        text: `signing with ${result.current}; accepted: ${result.accepted.join(', ')}${pending}`,
      };
    },
  },
];
