import type { StatusReport } from '../backend.js';
import type { Command } from '../command.js';

const text = (s: StatusReport): string => {
  const lines: string[] = [];
  if (s.target.kind === 'local') {
    lines.push(`data folder    ${s.target.dataDir}`);
    lines.push(`server         ${s.target.url ?? 'not running'}`);
  } else {
    lines.push(`stack          ${s.target.stack} (${s.target.region})`);
  }
  lines.push(`events         ${s.counts.events}`);
  lines.push(`tags           ${s.counts.tags}`);
  lines.push(`subscribers    ${s.counts.subscribers}`);
  if (s.changeLag.pending !== undefined)
    lines.push(`change lag     ${s.changeLag.pending} changes not yet handled`);
  if (s.changeLag.iteratorAgeSeconds !== undefined)
    lines.push(`stream age     ${s.changeLag.iteratorAgeSeconds} s (iterator age)`);
  for (const q of s.deadLetters) lines.push(`dead letters   ${q.visible + q.inFlight} in ${q.name}`);
  lines.push(`parked         ${s.parkedChanges} changes (tidings redrive replays them)`);
  const p = s.lastPublish;
  lines.push(
    p
      ? `last publish   ${p.at}${p.full ? ' (full)' : ''}: ${p.written} written, ${p.unchanged} unchanged, ${p.failed} failed, ${p.seconds} s${p.marksDeferred ? `, ${p.marksDeferred} marks left for the next run` : ''}`
      : 'last publish   never',
  );
  const f = s.fullPublish;
  if (f)
    lines.push(
      f.status === 'running'
        ? `full publish   ${f.job} under way: phase ${f.phase} of ${f.phases}, ${f.slicesDone} of ${f.slices} slices done (started ${f.startedAt}, last slice ${f.updatedAt}; tidings publish --cancel stops it)`
        : `full publish   ${f.job} ${f.status} ${f.endedAt ?? ''}: ${f.slicesDone} of ${f.slices} slices, ${f.written} written, ${f.unchanged} unchanged`,
    );
  if (s.email) {
    const e = s.email;
    lines.push(
      `email          ${e.sandbox ? 'SES SANDBOX' : 'production'}, sending ${e.sendingEnabled ? 'enabled' : 'PAUSED'}, ${e.sentLast24Hours}/${e.max24HourSend} in 24 h, ${e.maxSendRate}/s; ${e.identity} ${e.identityVerified ? 'verified' : 'NOT VERIFIED'}`,
    );
  }
  if (s.alarms) {
    lines.push(`alarms         ${s.alarms.length === 0 ? 'none in alarm' : `${s.alarms.length} in ALARM`}`);
    for (const a of s.alarms) lines.push(`  ${a.name} since ${a.since}: ${a.reason}`);
  }
  return lines.join('\n');
};

export const statusCommands: Command[] = [
  {
    name: 'status',
    summary: 'counts, change lag, dead letters, last publish (and SES, alarms in AWS)',
    usage: 'status',
    help: `Shows the state of the target at a glance. Locally: the data folder, whether a server runs on it,
the events, tags and subscribers, changes written but not yet handled (the change journal's lag),
dead letters (<data>/dead-letter.ndjson) and the last publish run. In AWS also the stream's
iterator age, each dead-letter queue's depth, the full publish job under way (or the last), SES
sending status and the alarms in ALARM.`,
    async run(ctx) {
      const report = await (await ctx.backend()).status();
      return { result: report, text: text(report) };
    },
  },
  {
    name: 'redrive',
    summary: 'replay the dead letters, idempotently, with a report',
    usage: 'redrive',
    help: `Feeds each parked change (locally <data>/dead-letter.ndjson; in AWS the parked changes and the
dead-letter queues) to its handler again. Handling a change twice changes nothing, so this is safe
to run again; a record that fails again stays parked. Exit code 1 when some failed again.`,
    async run(ctx) {
      const report = await (await ctx.backend()).redrive(ctx.progress);
      const lines = [
        `changes: ${report.changes.redriven} redriven, ${report.changes.failed} failed again (kept)`,
      ];
      for (const q of report.queues) lines.push(`${q.name}: ${q.moved} moved back`);
      return { result: report, text: lines.join('\n'), exitCode: report.changes.failed > 0 ? 1 : 0 };
    },
  },
];
