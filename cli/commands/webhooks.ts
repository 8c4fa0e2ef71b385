import type { Command } from '../command.js';

export const webhooksCommands: Command[] = [
  {
    name: 'webhooks list',
    summary: 'list every webhook (the operator sees all)',
    usage: 'webhooks list',
    help: 'Lists every webhook of the topic of changes, whichever key created it: id, URL (without its\nquery string), status, filter policy and owning key.',
    async run(ctx) {
      const hooks = await (await ctx.backend()).webhooks.list();
      const text =
        hooks.length === 0
          ? 'no webhooks'
          : hooks
              .map(
                (h) =>
                  `${h.id}  ${h.url}  ${h.status}${h.owner ? `  key ${h.owner.keyName} (${h.owner.keyId})` : ''}${h.filterPolicy ? `  filter ${JSON.stringify(h.filterPolicy)}` : ''}`,
              )
              .join('\n');
      return { result: hooks, text };
    },
  },
  {
    name: 'webhooks delete',
    summary: 'delete a webhook by id',
    usage: 'webhooks delete ID',
    help: 'Unsubscribes the webhook from the topic of changes and removes its owner record.',
    positionals: { min: 1, max: 1, names: 'ID' },
    async run(ctx) {
      const id = ctx.positionals[0] as string;
      await (await ctx.backend()).webhooks.delete(id);
      return { result: { deleted: id }, text: `webhook ${id} deleted` };
    },
  },
];
