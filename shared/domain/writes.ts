import {
  correctedEvent,
  createdEvent,
  type EventDraft,
  isTombstone,
  type NewsEvent,
  type StoredEvent,
  sameContent,
  type Tombstone,
  tombstoneOf,
} from './event.js';

/** What a write should do, decided from the stored state alone. */
export type WritePlan =
  | {
      kind: 'write';
      next: StoredEvent;
      previous: StoredEvent | undefined;
      status: 'created' | 'updated' | 'deleted';
    }
  | { kind: 'unchanged'; current: StoredEvent }
  | { kind: 'conflict'; message: string }
  | { kind: 'missing'; message: string }
  | { kind: 'gone'; current: Tombstone; message: string }
  | { kind: 'stale'; message: string };

const putHint = (id: string) => `use PUT /api/events/${id} to correct it`;

/** A first post: new, a harmless repeat, a conflict, or a re-post after deletion. */
export const planCreate = (draft: EventDraft, stored: StoredEvent | undefined, now: string): WritePlan => {
  if (!stored)
    return { kind: 'write', next: createdEvent(draft, now), previous: undefined, status: 'created' };
  if (isTombstone(stored))
    return { kind: 'write', next: createdEvent(draft, now, stored), previous: stored, status: 'created' };
  if (sameContent(stored, draft)) return { kind: 'unchanged', current: stored };
  return {
    kind: 'conflict',
    message: `event ${draft.id} already exists with different content (revision ${stored.revision}); ${putHint(draft.id)}`,
  };
};

/** `expectedRevision` comes from an If-Match header: the revision the caller last saw. */
const checkExpected = (stored: NewsEvent, expectedRevision: number | undefined): WritePlan | undefined =>
  expectedRevision !== undefined && expectedRevision !== stored.revision
    ? {
        kind: 'stale',
        message: `If-Match: event ${stored.id} is at revision ${stored.revision}, not ${expectedRevision}; fetch it again`,
      }
    : undefined;

export const planCorrection = (
  draft: EventDraft,
  stored: StoredEvent | undefined,
  now: string,
  expectedRevision?: number,
): WritePlan => {
  if (!stored)
    return {
      kind: 'missing',
      message: `event ${draft.id} does not exist; use POST /api/events to create it`,
    };
  if (isTombstone(stored)) {
    return {
      kind: 'gone',
      current: stored,
      message: `event ${draft.id} was deleted at ${stored.deletedAt}; POST it to publish it again`,
    };
  }
  const stale = checkExpected(stored, expectedRevision);
  if (stale) return stale;
  if (sameContent(stored, draft)) return { kind: 'unchanged', current: stored };
  return { kind: 'write', next: correctedEvent(stored, draft, now), previous: stored, status: 'updated' };
};

export const planDelete = (
  id: string,
  stored: StoredEvent | undefined,
  now: string,
  expectedRevision?: number,
): WritePlan => {
  if (!stored) return { kind: 'missing', message: `event ${id} does not exist` };
  // Deleting twice is harmless: the tombstone stays as it was.
  if (isTombstone(stored)) return { kind: 'unchanged', current: stored };
  const stale = checkExpected(stored, expectedRevision);
  if (stale) return stale;
  return { kind: 'write', next: tombstoneOf(stored, now), previous: stored, status: 'deleted' };
};
