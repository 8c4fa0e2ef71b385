import { describe, expect, it } from 'vitest';
import {
  type CountOp,
  opMarker,
  parseOpMarker,
  planEntry,
  unreflected,
} from '../../../shared/domain/tag-count.js';

const ref = { date: '2016-11-16', id: '2016/11/16/a-story' };
const plus = (revision: number): CountOp => ({ sign: 1, ...ref, revision });
const minus = (revision: number): CountOp => ({ sign: -1, ...ref, revision });
const entry = (counted: number, revision = counted) => ({ counted, revision });

describe('count op markers', () => {
  it('name an op and read back as it', () => {
    for (const op of [plus(3), minus(12)]) expect(parseOpMarker(opMarker(op))).toEqual(op);
    expect(opMarker(plus(3))).toBe('~+2016-11-16#2016/11/16/a-story@3');
    for (const other of ['count', 'version', 'name', '~x2016#a@1', '~+2016#a@x'])
      expect(parseOpMarker(other)).toBeUndefined();
  });

  it('are reflected once the entry shows them, and a + and a - of one revision cancel', () => {
    expect(unreflected([plus(2)], entry(2))).toEqual([]);
    expect(unreflected([plus(2)], undefined)).toEqual([plus(2)]);
    expect(unreflected([minus(2)], entry(2))).toEqual([minus(2)]);
    expect(unreflected([minus(2)], undefined)).toEqual([]);
    expect(unreflected([minus(2)], entry(5))).toEqual([]);
    expect(unreflected([plus(2), minus(2)], undefined)).toEqual([]);
  });
});

describe('planning one entry', () => {
  it('counts a new entry once: an op, then the entry counted by it', () => {
    expect(planEntry(ref, undefined, [], 1)).toEqual({
      ops: [plus(1)],
      entry: { action: 'put', counted: 1 },
    });
  });

  it('after a crash between the op and the entry, writes the entry without a second op', () => {
    expect(planEntry(ref, undefined, [plus(1)], 1)).toEqual({
      ops: [],
      entry: { action: 'put', counted: 1 },
    });
    // Even when the event moved on meanwhile: the op that was applied counts the entry.
    expect(planEntry(ref, undefined, [plus(1)], 2)).toEqual({
      ops: [],
      entry: { action: 'put', counted: 1 },
    });
  });

  it('rewrites a counted entry for a newer revision without touching the count, and leaves a current one', () => {
    expect(planEntry(ref, entry(1), [], 2)).toEqual({ ops: [], entry: { action: 'put', counted: 1 } });
    expect(planEntry(ref, entry(1, 2), [], 2)).toEqual({ ops: [], entry: { action: 'none' } });
  });

  it('removes a counted entry with a - op of the revision that counted it, once', () => {
    expect(planEntry(ref, entry(1, 2), [], undefined)).toEqual({
      ops: [minus(1)],
      entry: { action: 'delete' },
    });
    // The op landed, the delete did not: delete only.
    expect(planEntry(ref, entry(1, 2), [minus(1)], undefined)).toEqual({
      ops: [],
      entry: { action: 'delete' },
    });
    expect(planEntry(ref, undefined, [minus(1)], undefined)).toEqual({ ops: [], entry: { action: 'none' } });
  });

  it('undoes an orphaned + whose entry will never be written', () => {
    expect(planEntry(ref, undefined, [plus(1)], undefined)).toEqual({
      ops: [minus(1)],
      entry: { action: 'none' },
    });
  });

  it('counts again an entry whose removal was applied when the tag came back before the delete', () => {
    expect(planEntry(ref, entry(1, 2), [minus(1)], 3)).toEqual({
      ops: [plus(3)],
      entry: { action: 'put', counted: 3 },
    });
  });

  it('undoes a second + applied beside a counted entry', () => {
    expect(planEntry(ref, entry(1), [plus(2)], 2)).toEqual({
      ops: [minus(2)],
      entry: { action: 'put', counted: 1 },
    });
  });
});
