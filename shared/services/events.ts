import { randomUUID } from 'node:crypto';
// A namespace import lets esbuild drop what is unused (the named `z` export keeps all of zod).
import * as z from 'zod';
import type {
  EventRecord,
  EventStore,
  Page,
  PageRequest,
  TagSummary,
  WriteStamp,
} from '../adapters/event-store.js';
import {
  type Attribution,
  type EventDraft,
  formatPath,
  isCalendarDate,
  isTombstone,
  lazily,
  type NewsEvent,
  parseEventDraft,
  type StoredEvent,
  toIssues,
} from '../domain/event.js';
import { SLUG_PATTERN } from '../domain/slug.js';
import { planCorrection, planCreate, planDelete, type WritePlan } from '../domain/writes.js';
import {
  bounded,
  ConcurrentWriteError,
  ConflictError,
  describeIssue,
  ExposedError,
  GoneError,
  type Issue,
  MAX_ISSUES,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
} from '../errors.js';
import { METRIC, type MetricsPort } from '../metrics.js';

export interface EventServiceDeps {
  store: EventStore;
  /** ISO-8601 time of the request. */
  now: () => string;
  /** A fresh nonce per write attempt (default: a random UUID). */
  writeId?: () => string;
  /** Where writes and refusals are counted; none when absent (the local runtime). */
  metrics?: MetricsPort;
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

/**
 * Who published the event and who changed it last: a create (also over a tombstone) is published
 * by its writer; later writes keep the publisher and name the writer as the last to change it.
 */
const stampOf = (
  writeId: string,
  status: 'created' | 'updated' | 'deleted',
  record: EventRecord | undefined,
  by: Attribution | undefined,
): WriteStamp => {
  const publishedBy = status === 'created' ? by : record?.publishedBy;
  return { writeId, ...(publishedBy ? { publishedBy } : {}), ...(by ? { updatedBy: by } : {}) };
};

/** Read, plan, write conditionally; on a lost race, read again and re-plan. */
const runWrite = async (
  deps: EventServiceDeps,
  id: string,
  plan: (stored: StoredEvent | undefined, now: string) => WritePlan,
  options: { assumeAbsent?: boolean; by?: Attribution | undefined } = {},
): Promise<WriteResult> => {
  const newWriteId = deps.writeId ?? randomUUID;
  let record = options.assumeAbsent ? undefined : await deps.store.getEventRecord(id);
  for (let attempt = 1; ; attempt++) {
    const decision = plan(record?.event, deps.now());
    if (decision.kind === 'unchanged') return { status: 'unchanged', event: decision.current };
    if (decision.kind !== 'write') throw failure(decision);
    const stamp = stampOf(newWriteId(), decision.status, record, options.by);
    try {
      await deps.store.putEvent(decision.next, decision.previous, stamp);
      deps.metrics?.count(METRIC.eventsWritten);
      return { status: decision.status, event: decision.next };
    } catch (error) {
      if (!(error instanceof ConcurrentWriteError)) throw error;
      record = await deps.store.getEventRecord(id);
      // Our own write, whose answer was lost and whose retry then failed its condition. Only the
      // nonce says so: another writer's put can carry the same revision and the same updatedAt.
      if (record?.writeId === stamp.writeId) {
        deps.metrics?.count(METRIC.eventsWritten);
        return { status: decision.status, event: record.event };
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new ConflictError(`event ${id} is being changed by another request; try again`, {
          cause: error,
        });
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
const ASSUME_ABSENT = true;

/** `by` is the API key behind the write (recorded on the item, never shown to readers). */
export const postEvent = (deps: EventServiceDeps, input: unknown, by?: Attribution): Promise<WriteResult> => {
  const draft = draftOrThrow(input);
  return runWrite(deps, draft.id, (stored, now) => planCreate(draft, stored, now), {
    assumeAbsent: ASSUME_ABSENT,
    by,
  });
};

/**
 * Runs a write request, counting it as rejected when it is refused with a 4xx (bad input, a
 * conflict, a failed precondition), however early; a server error is not a rejection (the API's
 * 5xx alarm counts those). Writes that change an event are counted where they are made.
 */
export const countingRefusals = async <T>(
  deps: Pick<EventServiceDeps, 'metrics'>,
  request: () => Promise<T>,
): Promise<T> => {
  try {
    return await request();
  } catch (error) {
    if (error instanceof ExposedError) deps.metrics?.count(METRIC.eventsRejected);
    throw error;
  }
};

export const BATCH_MAX = 100;

/**
 * The batch's envelope. Its events are checked one by one afterwards (`parseEventDraft`), so one
 * bad event is rejected alone rather than refusing the whole batch.
 */
export const batchSchema = /* @__PURE__ */ lazily(() =>
  z.strictObject({
    events: z
      .array(z.unknown(), { error: 'is required and must be an array of events' })
      .min(1, { error: 'must hold at least one event' })
      .max(BATCH_MAX, {
        error: (iss) => `must hold at most ${BATCH_MAX} events (got ${(iss.input as unknown[]).length})`,
      }),
  }),
);

/** The events of a batch body `{"events": [...]}`, or a 400 naming what is wrong with the envelope. */
export const batchEventsOf = (body: unknown): unknown[] => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ValidationError.of('body', 'must be a JSON object {"events": [...]}');
  }
  const parsed = batchSchema().safeParse(body);
  if (parsed.success) return parsed.data.events;
  throw new ValidationError(
    parsed.error.issues.flatMap((issue) =>
      // The schema's own words: "is required" alone would not say an array is wanted.
      issue.code === 'invalid_type'
        ? [{ path: formatPath(issue.path), rule: issue.message }]
        : toIssues(new z.ZodError([issue]), body, [], 'events'),
    ),
  );
};
/** Conditional puts in flight at once for one batch. */
const BATCH_CONCURRENCY = 16;

export type BatchItemResult =
  | { index: number; status: 201 | 200; id: string; revision: number; result: 'created' | 'unchanged' }
  | {
      index: number;
      status: number;
      id?: string;
      error: { code: string; message: string; issues?: Issue[]; moreIssues?: number };
    };

/**
 * Bytes of issues (as UTF-8 JSON, as sent) a batch answer lists over all its items. With at most
 * MAX_ISSUES bounded issues per item, a hundred hostile items could still list a megabyte; past this
 * budget an item lists fewer (or none) and counts the rest in `moreIssues`.
 */
export const BATCH_ISSUES_BUDGET = 16 * 1024;

/**
 * Bytes the results of a batch answer may take, issues included. Counted in bytes, not string
 * length: a lone surrogate or a control character in a field name is six bytes once escaped, `€`
 * three. The rest of the 64 KB answer is the summary and the envelope.
 */
export const BATCH_ANSWER_BUDGET = 60 * 1024;

/** The first issue's path as an item's message repeats it, cut here: the whole path is in `issues`. */
export const BATCH_MESSAGE_PATH_MAX = 40;

const errorResult = (index: number, error: ExposedError, id?: string): BatchItemResult => {
  if (!(error instanceof ValidationError)) {
    return {
      index,
      status: error.statusCode,
      ...(id ? { id } : {}),
      error: { code: error.code, message: error.message },
    };
  }
  // One issue in the message: the list is in `issues`, and a hundred full messages would not fit.
  const [first] = error.issues;
  const others = error.issues.length - 1 + error.moreIssues;
  return {
    index,
    status: error.statusCode,
    ...(id ? { id } : {}),
    error: {
      code: error.code,
      message: `${first ? describeIssue({ ...first, path: bounded(first.path, BATCH_MESSAGE_PATH_MAX) }) : error.message}${others > 0 ? ` (and ${others} more issues)` : ''}`,
      issues: error.issues,
      ...(error.moreIssues > 0 ? { moreIssues: error.moreIssues } : {}),
    },
  };
};

const bytesOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/**
 * Keeps the issues a batch answer lists within BATCH_ISSUES_BUDGET and the whole list of results
 * within BATCH_ANSWER_BUDGET, both in bytes as sent, first items first.
 */
const withinBudget = (results: BatchItemResult[]): BatchItemResult[] => {
  // What every item says whatever happens to its issues: its status, id and message (with room
  // for a `moreIssues` count).
  const fixed = results.reduce(
    (sum, result) =>
      sum +
      1 +
      ('error' in result && result.error.issues
        ? bytesOf({ ...result, error: { ...result.error, issues: [], moreIssues: BATCH_MAX * MAX_ISSUES } })
        : bytesOf(result)),
    0,
  );
  let budget = Math.max(0, Math.min(BATCH_ISSUES_BUDGET, BATCH_ANSWER_BUDGET - fixed));
  for (const result of results) {
    if (!('error' in result) || !result.error.issues) continue;
    const { issues } = result.error;
    let kept = 0;
    for (const issue of issues) {
      const size = bytesOf(issue) + 1;
      if (size > budget) break;
      budget -= size;
      kept++;
    }
    if (kept < issues.length) {
      result.error.moreIssues = (result.error.moreIssues ?? 0) + issues.length - kept;
      result.error.issues = issues.slice(0, kept);
      budget = 0;
    }
  }
  return results;
};

/**
 * Posts up to BATCH_MAX events with one result each. Valid items are written even when others
 * are rejected; writes run in parallel, each one conditional.
 */
export const postEvents = async (
  deps: EventServiceDeps,
  inputs: readonly unknown[],
  by?: Attribution,
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
          runWrite(deps, draft.id, (current, now) => planCreate(draft, current, now), {
            assumeAbsent: ASSUME_ABSENT,
            by,
          }),
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
      runWrite(deps, draft.id, (current, now) => planCreate(draft, current, now), { by }),
    );
  }
  deps.metrics?.count(METRIC.eventsRejected, results.filter((r) => r.status >= 400).length);
  return withinBudget(results);
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
  by?: Attribution,
): Promise<WriteResult> => {
  const body =
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? (input as Record<string, unknown>)
      : undefined;
  if (body && body.id !== undefined && body.id !== id) {
    throw ValidationError.of('id', `must match the id in the path (${id}) or be left out`);
  }
  const draft = draftOrThrow(body ? { ...body, id } : input);
  return runWrite(deps, id, (stored, now) => planCorrection(draft, stored, now, expectedRevision), { by });
};

export const deleteEvent = (
  deps: EventServiceDeps,
  id: string,
  expectedRevision?: number,
  by?: Attribution,
): Promise<WriteResult> =>
  runWrite(deps, id, (stored, now) => planDelete(id, stored, now, expectedRevision), { by });

export const getEvent = async (deps: Pick<EventServiceDeps, 'store'>, id: string): Promise<NewsEvent> => {
  const stored = await deps.store.getEvent(id);
  if (!stored) throw new NotFoundError(`event ${id} does not exist`);
  if (isTombstone(stored)) throw new GoneError(`event ${id} was deleted at ${stored.deletedAt}`);
  return stored;
};

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

/** The query parameters of GET /api/events, as text (the query string's form). */
export const eventQuerySchema = /* @__PURE__ */ lazily(() =>
  z
    .object({
      date: z
        .string()
        .refine(isCalendarDate, { error: 'must be a real date written YYYY-MM-DD' })
        .meta({ description: 'The events of one day, written YYYY-MM-DD.', format: 'date' })
        .optional(),
      tag: z
        .string()
        .refine((tag) => SLUG_PATTERN.test(tag) && tag.length <= 64, {
          error: 'must be a tag slug: lowercase letters, digits and single hyphens',
        })
        .meta({
          description: 'The events of one tag, by its slug (GET /api/tags lists them).',
          maxLength: 64,
        })
        .optional(),
      limit: z
        .string()
        .refine((v) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= MAX_LIMIT, {
          error: (iss) =>
            `must be a whole number from 1 to ${MAX_LIMIT} (got ${String(iss.input).slice(0, 40)})`,
        })
        // The query string carries it as text; documented as the whole number it must spell.
        .meta({ type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT })
        .optional(),
      cursor: z
        .string()
        .meta({ description: "The previous page's nextCursor, to read the next page." })
        .optional(),
    })
    .refine((q) => q.date === undefined || q.tag === undefined, {
      error: 'give either date or tag, not both',
    }),
);

/** The names of GET /api/events's query parameters, in the order error messages list them. */
export const EVENT_QUERY_PARAMS = ['date', 'tag', 'limit', 'cursor'] as const;

/** GET /api/events's query (latest, by date or by tag, paged), or a 400 naming the parameter. */
export const parseEventQuery = (
  params: Partial<Record<(typeof EVENT_QUERY_PARAMS)[number], string>>,
): EventQuery => {
  const parsed = eventQuerySchema().safeParse(params);
  if (!parsed.success) throw new ValidationError(toIssues(parsed.error, params, ['query']));
  const { date, tag, limit, cursor } = parsed.data;
  const page = {
    limit: limit === undefined ? DEFAULT_LIMIT : Number(limit),
    ...(cursor !== undefined ? { cursor } : {}),
  };
  if (date !== undefined) return { by: 'date', date, page };
  if (tag !== undefined) return { by: 'tag', tag, page };
  return { by: 'latest', page };
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
