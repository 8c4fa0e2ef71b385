import { ValidationError } from '../shared/errors.js';
import { callerOf, httpApi, json, jsonBody } from '../shared/http.js';
import { flushMetrics } from '../shared/metrics.js';
import { lazy } from '../shared/services/deps.js';
import { eventWriteDeps } from '../shared/services/event-write-deps.js';
import { BATCH_MAX, countingRefusals, type EventServiceDeps, postEvents } from '../shared/services/events.js';

const eventsOf = (body: unknown): unknown[] => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ValidationError.of('body', 'must be a JSON object {"events": [...]}');
  }
  const extra = Object.keys(body).filter((k) => k !== 'events');
  if (extra.length > 0) throw ValidationError.of(extra[0] ?? '', 'is not a known field (allowed: events)');
  const { events } = body as { events?: unknown };
  if (!Array.isArray(events))
    throw ValidationError.of('events', 'is required and must be an array of events');
  if (events.length === 0) throw ValidationError.of('events', 'must hold at least one event');
  if (events.length > BATCH_MAX) {
    throw ValidationError.of('events', `must hold at most ${BATCH_MAX} events (got ${events.length})`);
  }
  return events;
};

/** POST /api/events/batch: up to 100 events, one result each, in the order given. */
export const makeHandler = (deps: EventServiceDeps | (() => EventServiceDeps) = eventWriteDeps) => {
  const get = lazy(deps);
  const api = httpApi(async (event) => {
    // A batch refused whole counts as one rejection; its items, once read, count one each.
    const results = await countingRefusals(get(), async () =>
      postEvents(get(), eventsOf(jsonBody(event)), callerOf(event)),
    );
    const count = (pred: (r: (typeof results)[number]) => boolean) => results.filter(pred).length;
    return json(200, {
      summary: {
        created: count((r) => r.status === 201),
        unchanged: count((r) => r.status === 200),
        rejected: count((r) => r.status >= 400),
      },
      results,
    });
  });
  return api.use(flushMetrics());
};

export const handler = makeHandler();
