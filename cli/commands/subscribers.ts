import type { SubscriberExport } from '../backend.js';
import type { Command } from '../command.js';
import { CliError } from '../errors.js';

const csvField = (value: string): string =>
  /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;

const CSV_COLUMNS = ['email', 'status', 'tags', 'topics', 'cadence', 'createdAt', 'confirmedAt'] as const;

export const toCsv = (rows: SubscriberExport[]): string =>
  [
    CSV_COLUMNS.join(','),
    ...rows.map((r) =>
      [
        r.email,
        r.status,
        r.tags.join(' '),
        r.topics.join(' '),
        r.cadence,
        r.createdAt ?? '',
        r.confirmedAt ?? '',
      ]
        .map(csvField)
        .join(','),
    ),
  ].join('\n');

export const subscribersCommands: Command[] = [
  {
    name: 'subscribers count',
    summary: 'count the subscribers, by status',
    usage: 'subscribers count',
    help: 'Counts the subscribers: pending, confirmed, unsubscribed, suppressed.',
    async run(ctx) {
      const counts = await (await ctx.backend()).subscribers.count();
      const by = Object.entries(counts.byStatus)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([status, n]) => `${n} ${status}`);
      return {
        result: counts,
        text: `${counts.total} subscribers${by.length > 0 ? `: ${by.join(', ')}` : ''}`,
      };
    },
  },
  {
    name: 'subscribers export',
    summary: 'export the subscribers (JSON lines or CSV)',
    usage: 'subscribers export [--format jsonl|csv]',
    help: `Prints every subscriber (address, status, topics, cadence, dates) for the operator's own records:
one JSON object a line (default), or CSV with a header. Redirect it to a file kept private.

  --format jsonl|csv   default jsonl (with --json: one JSON array)`,
    options: { format: { type: 'string', default: 'jsonl' } },
    async run(ctx) {
      const format = ctx.values.format;
      if (format !== 'jsonl' && format !== 'csv') {
        throw new CliError(`--format must be jsonl or csv (got ${String(format)})`, { usage: true });
      }
      const rows = await (await ctx.backend()).subscribers.export(ctx.progress);
      const text = format === 'csv' ? toCsv(rows) : rows.map((r) => JSON.stringify(r)).join('\n');
      return { result: rows, text };
    },
  },
  {
    name: 'subscribers forget',
    summary: 'delete a subscriber and their data',
    usage: 'subscribers forget EMAIL',
    help: `Deletes the subscriber with this address and everything kept about them (their record, digest
cursor and ledger). Kept, keyed by a hash of the address and holding no address: a suppression
(a complaining or bouncing address is never mailed again) and the sign-up rate-limit records.`,
    positionals: { min: 1, max: 1, names: 'EMAIL' },
    async run(ctx) {
      const report = await (await ctx.backend()).subscribers.forget(ctx.positionals[0] as string);
      return {
        result: report,
        text: `forgotten: ${report.deleted} items deleted${report.kept.length > 0 ? `; kept ${report.kept.join('; ')}` : ''}`,
      };
    },
  },
];
