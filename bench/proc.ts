/** What Linux's /proc tells of a process: the benchmarks measure their child processes with it. */
import { readFileSync } from 'node:fs';

/** A process's parent and the CPU seconds (user and system) it has used, or undefined if it is gone. */
export const procStat = (pid: number | string): { ppid: number; cpuSeconds: number } | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command in parentheses (which may hold spaces): state, ppid, … utime and stime are
    // the 12th and 13th, in clock ticks of 1/100 s.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
  } catch {
    return undefined;
  }
};
