import type { Command } from '../command.js';

const when = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');

export const websubCommands: Command[] = [
  {
    name: 'websub list',
    summary: "list the WebSub hub's live subscriptions",
    usage: 'websub list',
    help: "Lists every subscription of the site's WebSub hub that has not lapsed: feed, callback (without its\nquery string), state (pending until the callback confirms), when its lease ends, and whether\ndeliveries are signed. Secrets are never shown.",
    async run(ctx) {
      const { subscriptions } = await (await ctx.backend()).websub.view();
      const text =
        subscriptions.length === 0
          ? 'no WebSub subscriptions'
          : subscriptions
              .map(
                (s) =>
                  `${s.topic}  ${s.callback}  ${s.state}  until ${when(s.expiresAt)}${s.signed ? '  signed' : ''}`,
              )
              .join('\n');
      return { result: subscriptions, text };
    },
  },
  {
    name: 'websub failed',
    summary: 'list deliveries the WebSub hub gave up on',
    usage: 'websub failed',
    help: 'Lists the deliveries the hub dropped after every retry (7 attempts over 66 minutes) or because\nthe callback led to a refused address, kept 30 days: when, feed, callback (without its query\nstring), attempts and the last reason.',
    async run(ctx) {
      const { failures } = await (await ctx.backend()).websub.view();
      const text =
        failures.length === 0
          ? 'no failed WebSub deliveries'
          : failures
              .map((f) => `${when(f.at)}  ${f.topic}  ${f.callback}  ${f.attempts} attempts  ${f.reason}`)
              .join('\n');
      return { result: failures, text };
    },
  },
];
