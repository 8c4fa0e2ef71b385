import { callerOf, httpApi, json, jsonBody } from '../shared/http.js';
import { lazy, storeDeps } from '../shared/services/deps.js';
import { batchEventsOf, type EventServiceDeps, postEvents } from '../shared/services/events.js';

/** POST /api/events/batch: up to 100 events, one result each, in the order given. */
export const makeHandler = (deps: EventServiceDeps | (() => EventServiceDeps) = storeDeps) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    const results = await postEvents(get(), batchEventsOf(jsonBody(event)), callerOf(event));
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
};

export const handler = makeHandler();
