import { callerOf, httpApi, json, jsonBody } from '../shared/http.js';
import { flushMetrics } from '../shared/metrics.js';
import { lazy } from '../shared/services/deps.js';
import { eventWriteDeps } from '../shared/services/event-write-deps.js';
import {
  batchEventsOf,
  countingRefusals,
  type EventServiceDeps,
  postEvents,
} from '../shared/services/events.js';

/** POST /api/events/batch: up to 100 events, one result each, in the order given. */
export const makeHandler = (deps: EventServiceDeps | (() => EventServiceDeps) = eventWriteDeps) => {
  const get = lazy(deps);
  const api = httpApi(async (event) => {
    // A batch refused whole counts as one rejection; its items, once read, count one each.
    const results = await countingRefusals(get(), async () =>
      postEvents(get(), batchEventsOf(jsonBody(event)), callerOf(event)),
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
