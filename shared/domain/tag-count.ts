/**
 * Tag counts without transactions: a count moves by ops, each applied once to a counter shard
 * together with a marker of its own, and shown afterwards by the tag entry it is about. Pure: the
 * projection and the repair decide from what they read with these.
 */

/** +1: the entry of `id` under a tag is counted at `revision`; -1: that counted entry is gone. */
export interface CountOp {
  sign: 1 | -1;
  date: string;
  id: string;
  revision: number;
}

/** What an entry says about its count: the revision whose `+` op counted it. */
export interface CountedEntry {
  counted: number;
}

const MARKER = '~';

/** The counter attribute that marks an op as applied: `~+<date>#<id>@<revision>`. */
export const opMarker = (op: CountOp): string =>
  `${MARKER}${op.sign > 0 ? '+' : '-'}${op.date}#${op.id}@${op.revision}`;

/** The op a counter attribute marks, or undefined for any other attribute. */
export const parseOpMarker = (name: string): CountOp | undefined => {
  const match = /^~([+-])([^#]+)#(.+)@(\d+)$/.exec(name);
  if (!match) return undefined;
  const [, sign, date, id, revision] = match as unknown as [string, string, string, string, string];
  return { sign: sign === '+' ? 1 : -1, date, id, revision: Number(revision) };
};

/**
 * The ops of one entry that its state does not show yet: a `+@r` while the entry is not counted at
 * `r`, a `-@r` while it still is. A `+` and a `-` of the same revision cancel (an orphaned `+`
 * undone). Only ops not returned here may be removed from the counter.
 */
export const unreflected = (ops: readonly CountOp[], entry: CountedEntry | undefined): CountOp[] => {
  const plus = new Set(ops.filter((o) => o.sign > 0).map((o) => o.revision));
  const minus = new Set(ops.filter((o) => o.sign < 0).map((o) => o.revision));
  return ops.filter((o) => {
    if (o.sign > 0 ? minus.has(o.revision) : plus.has(o.revision)) return false;
    return o.sign > 0 ? entry?.counted !== o.revision : entry?.counted === o.revision;
  });
};

/** What one (tag, event) needs: ops to apply first, then the entry's write. */
export interface EntryPlan {
  ops: CountOp[];
  /** `put`: write the entry counted at `counted`; `delete`: remove it; `none`: leave it. */
  entry: { action: 'put'; counted: number } | { action: 'delete' } | { action: 'none' };
}

/**
 * Plans one tag's entry of one event from what is stored: the entry (if any), the ops of this
 * entry found on its counter shard, and what should be (`live` revision when the event is live
 * with the tag, undefined otherwise). The entry's contribution to the count is 1 if it exists,
 * plus the signs of its unreflected ops; an op is added while that differs from the target.
 */
export const planEntry = (
  ref: { date: string; id: string },
  entry: (CountedEntry & { revision: number }) | undefined,
  ops: readonly CountOp[],
  live: number | undefined,
): EntryPlan => {
  const pending = unreflected(ops, entry);
  const target = live === undefined ? 0 : 1;
  let current = (entry ? 1 : 0) + pending.reduce((sum, o) => sum + o.sign, 0);
  const added: CountOp[] = [];
  // A `+` whose entry was never written (a crash between the two): the entry can be counted by it.
  const orphans = pending.filter((o) => o.sign > 0).map((o) => o.revision);
  while (current > target) {
    // Undo an orphaned `+` first (a pair cancels), then the entry's own count.
    const revision = orphans.pop() ?? entry?.counted;
    if (revision === undefined) break;
    added.push({ sign: -1, ...ref, revision });
    current -= 1;
  }
  let counted = entry?.counted;
  // The entry's own count was taken back (its `-` op applied, the entry not yet rewritten or removed).
  const ownGone = entry !== undefined && pending.some((o) => o.sign < 0 && o.revision === entry.counted);
  if ((!entry || ownGone) && orphans.length > 0) counted = Math.max(...orphans);
  while (current < target && live !== undefined) {
    added.push({ sign: 1, ...ref, revision: live });
    counted = live;
    current += 1;
  }
  if (live === undefined) return { ops: added, entry: entry ? { action: 'delete' } : { action: 'none' } };
  const rewrite = !entry || counted !== entry.counted || entry.revision < live;
  return {
    ops: added,
    entry: rewrite && counted !== undefined ? { action: 'put', counted } : { action: 'none' },
  };
};
