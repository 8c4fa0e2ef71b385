import { describe, expect, it } from 'vitest';
import { createdEvent, type EventDraft, parseEventDraft, tombstoneOf } from '../../../shared/domain/event.js';
import { planCorrection, planCreate, planDelete } from '../../../shared/domain/writes.js';
import { makeEventInput } from '../../helpers/builders.js';

const T1 = '2026-01-01T00:00:00.000Z';
const T2 = '2026-01-02T00:00:00.000Z';

const draft = (overrides: Record<string, unknown> = {}): EventDraft => {
  const result = parseEventDraft(makeEventInput(overrides));
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.draft;
};

describe('planCreate', () => {
  it('creates revision 1 with publishedAt = updatedAt', () => {
    const plan = planCreate(draft(), undefined, T1);
    expect(plan).toMatchObject({
      kind: 'write',
      status: 'created',
      next: { revision: 1, publishedAt: T1, updatedAt: T1 },
    });
  });

  it('treats an identical re-post as unchanged', () => {
    const stored = createdEvent(draft(), T1);
    expect(planCreate(draft(), stored, T2)).toEqual({ kind: 'unchanged', current: stored });
  });

  it('refuses different content under the same id and points to PUT', () => {
    const stored = createdEvent(draft(), T1);
    const plan = planCreate(draft({ body: 'changed' }), stored, T2);
    expect(plan.kind).toBe('conflict');
    expect(plan.kind === 'conflict' && plan.message).toMatch(/use PUT \/api\/events\/2016\/11\/16\//);
  });

  it('re-creates a deleted event with the next revision', () => {
    const tombstone = tombstoneOf(createdEvent(draft(), T1), T2);
    expect(planCreate(draft(), tombstone, T2)).toMatchObject({
      kind: 'write',
      next: { revision: 3 },
      previous: tombstone,
    });
  });
});

describe('planCorrection', () => {
  const stored = createdEvent(draft(), T1);

  it('bumps the revision, keeps publishedAt and sets updatedAt', () => {
    const plan = planCorrection(draft({ body: 'fixed' }), stored, T2);
    expect(plan).toMatchObject({
      kind: 'write',
      status: 'updated',
      next: { revision: 2, publishedAt: T1, updatedAt: T2, body: 'fixed' },
    });
  });

  it('changes nothing when the content is the same', () => {
    expect(planCorrection(draft(), stored, T2)).toEqual({ kind: 'unchanged', current: stored });
  });

  it('is missing, gone or stale as appropriate', () => {
    expect(planCorrection(draft(), undefined, T2).kind).toBe('missing');
    expect(planCorrection(draft(), tombstoneOf(stored, T2), T2).kind).toBe('gone');
    expect(planCorrection(draft({ body: 'x' }), stored, T2, 7)).toMatchObject({
      kind: 'stale',
      message: expect.stringMatching(/revision 1, not 7/),
    });
    expect(planCorrection(draft({ body: 'x' }), stored, T2, 1).kind).toBe('write');
  });
});

describe('planDelete', () => {
  const stored = createdEvent(draft(), T1);

  it('leaves a tombstone with the tags, so later stages can unpublish', () => {
    expect(planDelete(stored.id, stored, T2)).toMatchObject({
      kind: 'write',
      status: 'deleted',
      next: { id: stored.id, deleted: true, deletedAt: T2, revision: 2, tags: stored.tags },
    });
  });

  it('is harmless twice and 404 for an unknown id', () => {
    const tombstone = tombstoneOf(stored, T2);
    expect(planDelete(stored.id, tombstone, T2)).toEqual({ kind: 'unchanged', current: tombstone });
    expect(planDelete('2016/11/16/nope', undefined, T2).kind).toBe('missing');
  });
});
