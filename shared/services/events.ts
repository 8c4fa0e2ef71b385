import type { EventStore, Page, PageRequest, TagSummary } from '../adapters/event-store.js';
import {
  type EventDraft,
  isTombstone,
  type NewsEvent,
  parseEventDraft,
  type StoredEvent,
} from '../domain/event.js';
import { planCorrection, planCreate, planDelete, type WritePlan } from '../domain/writes.js';
import {
  ConcurrentWriteError,
  ConflictError,
  type ExposedError,
  GoneError,
  type Issue,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
} from '../errors.js';

export interface EventServiceDeps {
  store: EventStore;
  /** ISO-8601 time of the request. */
  now: () => string;
}

export type WriteStatus = 'created' | 'unchanged' | 'updated' | 'deleted';

export interface WriteResult {
  status: WriteStatus;
  event: StoredEvent;
}

/** How often a write re-reads and re-plans after losing a race to another writer. */
const MAX_ATTEMPTS = 3;

const failure = (plan: Exclude<WritePlan, { kind: 'write' } | { kind: 'unchanged' }>): ExposedError => {
  switch (plan.kind) {
    case 'conflict':
      return new ConflictError(plan.message);
    case 'missing':
      return new NotFoundError(plan.message);
    case 'gone':
      return new GoneError(plan.message);
    case 'stale':
      return new PreconditionFailedError(plan.message);
  }
};

/** Read, plan, write conditionally; on a lost race, read again and re-plan. */
const runWrite = async (
  deps: EventServiceDeps,
  id: string,
  plan: (stored: StoredEvent | undefined, now: string) => WritePlan,
  known?: StoredEvent | null,
): Promise<WriteResult> => {
  let stored = known === undefined ? await deps.store.getEvent(id) : (known ?? undefined);
  for (let attempt = 1; ; attempt++) {
    const decision = plan(stored, deps.now());
    if (decision.kind === 'unchanged') return { status: 'unchanged', event: decision.current };
    if (decision.kind !== 'write') throw failure(decision);
    try {
      await deps.store.putEvent(decision.next, decision.previous);
      return { status: decision.status, event: decision.next };
    } catch (error) {
      if (!(error instanceof ConcurrentWriteError) || attempt >= MAX_ATTEMPTS) {
        if (error instanceof ConcurrentWriteError) {
          throw new ConflictError(`event ${id} is being changed by another request; try again`, {
            cause: error,
          });
        }
        throw error;
      }
      stored = await deps.store.getEvent(id);
      // Our own write, whose answer was lost and whose retry then failed its condition.
      if (
        stored &&
        stored.revision === decision.next.revision &&
        stored.updatedAt === decision.next.updatedAt
      ) {
        return { status: decision.status, event: stored };
      }
    }
  }
};

const draftOrThrow = (input: unknown): EventDraft => {
  const parsed = parseEventDraft(input);
  if (!parsed.ok) throw new ValidationError(parsed.issues);
  return parsed.draft;
};

/**
 * Creates are optimistic: the conditional put is tried first, as if the id were new, and only a
 * lost condition costs a read (to tell a harmless repeat from a conflict). New events, the
 * common case, cost exactly one request.
 */
const ASSUME_ABSENT = null;

export const postEvent = (deps: EventServiceDeps, input: unknown): Promise<WriteResult> => {
  const draft = draftOrThrow(input);
  return runWrite(deps, draft.id, (stored, now) => planCreate(draft, stored, now), ASSUME_ABSENT);
};

export const BATCH_MAX = 100;
/** Conditional puts in flight at once for one batch. */
const BATCH_CONCURRENCY = 16;

export type BatchItemResult =
  | { index: number; status: 201 | 200; id: string; revision: number; result: 'created' | 'unchanged' }
  | {
      index: number;
      status: number;
      id?: string;
      error: { code: string; message: string; issues?: Issue[] };
    };

const errorResult = (index: number, error: ExposedError, id?: string): BatchItemResult => ({
  index,
  status: error.statusCode,
  ...(id ? { id } : {}),
  error: {
    code: error.code,
    message: error.message,
    ...(error instanceof ValidationError ? { issues: error.issues } : {}),
  },
});

/**
 * Posts up to BATCH_MAX events with one result each. Valid items are written even when others
 * are rejected; writes run in parallel, each one conditional.
 */
export const postEvents = async (
  deps: EventServiceDeps,
  inputs: readonly unknown[],
): Promise<BatchItemResult[]> => {
  const results: BatchItemResult[] = new Array(inputs.length);
  const firstById = new Map<string, { index: number; draft: EventDraft }>();
  const todo: { index: number; draft: EventDraft }[] = [];

  inputs.forEach((input, index) => {
    const parsed = parseEventDraft(input, ['events', index]);
    if (!parsed.ok) {
      results[index] = errorResult(index, new ValidationError(parsed.issues));
      return;
    }
    const { draft } = parsed;
    const first = firstById.get(draft.id);
    if (first) {
      // Settled after the first copy is written, against what it wrote.
      todo.push({ index, draft });
      return;
    }
    firstById.set(draft.id, { index, draft });
  });

  const firsts = [...firstById.values()];
  // A sliding window, not waves: one slow write does not hold up the next ones.
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(BATCH_CONCURRENCY, firsts.length) }, async () => {
      for (let item = firsts[next++]; item; item = firsts[next++]) {
        const { index, draft } = item;
        results[index] = await settle(index, draft.id, () =>
          runWrite(deps, draft.id, (current, now) => planCreate(draft, current, now), ASSUME_ABSENT),
        );
      }
    }),
  );
  for (const { index, draft } of todo) {
    const first = firstById.get(draft.id);
    const firstResult = first ? results[first.index] : undefined;
    if (firstResult && 'error' in firstResult) {
      results[index] = errorResult(
        index,
        new ConflictError(`event ${draft.id} repeats events[${first?.index}], which was rejected`),
        draft.id,
      );
      continue;
    }
    results[index] = await settle(index, draft.id, () =>
      runWrite(deps, draft.id, (current, now) => planCreate(draft, current, now)),
    );
  }
  return results;
};

const settle = async (
  index: number,
  id: string,
  write: () => Promise<WriteResult>,
): Promise<BatchItemResult> => {
  try {
    const { status, event } = await write();
    return status === 'created'
      ? { index, status: 201, id, revision: event.revision, result: 'created' }
      : { index, status: 200, id, revision: event.revision, result: 'unchanged' };
  } catch (error) {
    if (error instanceof ConflictError || error instanceof NotFoundError || error instanceof GoneError) {
      return errorResult(index, error, id);
    }
    throw error;
  }
};

export const correctEvent = (
  deps: EventServiceDeps,
  id: string,
  input: unknown,
  expectedRevision?: number,
): Promise<WriteResult> => {
  const body =
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? (input as Record<string, unknown>)
      : undefined;
  if (body && body.id !== undefined && body.id !== id) {
    throw ValidationError.of('id', `must match the id in the path (${id}) or be left out`);
  }
  const draft = draftOrThrow(body ? { ...body, id } : input);
  return runWrite(deps, id, (stored, now) => planCorrection(draft, stored, now, expectedRevision));
};

export const deleteEvent = (
  deps: EventServiceDeps,
  id: string,
  expectedRevision?: number,
): Promise<WriteResult> => runWrite(deps, id, (stored, now) => planDelete(id, stored, now, expectedRevision));

export const getEvent = async (deps: Pick<EventServiceDeps, 'store'>, id: string): Promise<NewsEvent> => {
  const stored = await deps.store.getEvent(id);
  if (!stored) throw new NotFoundError(`event ${id} does not exist`);
  if (isTombstone(stored)) throw new GoneError(`event ${id} was deleted at ${stored.deletedAt}`);
  return stored;
};

export type EventQuery =
  | { by: 'latest'; page: PageRequest }
  | { by: 'date'; date: string; page: PageRequest }
  | { by: 'tag'; tag: string; page: PageRequest };

export const listEvents = async (
  deps: Pick<EventServiceDeps, 'store'>,
  query: EventQuery,
): Promise<Page<NewsEvent>> => {
  switch (query.by) {
    case 'latest':
      return deps.store.listLatest(query.page);
    case 'date':
      return deps.store.listDay(query.date, query.page);
    case 'tag': {
      const [tag, page] = await Promise.all([
        deps.store.getTag(query.tag),
        deps.store.listTag(query.tag, query.page),
      ]);
      if (!tag && page.items.length === 0) {
        throw new NotFoundError(`tag "${query.tag}" has no events; GET /api/tags lists the tags`);
      }
      return page;
    }
  }
};

export const listTags = (deps: Pick<EventServiceDeps, 'store'>): Promise<TagSummary[]> =>
  deps.store.listTags();
