import { callerOf, expectedRevision, httpApi, json } from '../shared/http.js';
import { flushMetrics } from '../shared/metrics.js';
import { lazy } from '../shared/services/deps.js';
import { eventWriteDeps } from '../shared/services/event-write-deps.js';
import { countingRefusals, deleteEvent, type EventServiceDeps } from '../shared/services/events.js';
import { eventIdParam } from '../shared/services/paths.js';

/** DELETE /api/events/{id}: leaves a tombstone; deleting again is harmless. */
export const makeHandler = (deps: EventServiceDeps | (() => EventServiceDeps) = eventWriteDeps) => {
  const get = lazy(deps);
  const api = httpApi(async (event) => {
    const { event: tombstone } = await countingRefusals(get(), async () =>
      deleteEvent(get(), eventIdParam(event), expectedRevision(event), callerOf(event)),
    );
    return json(200, tombstone);
  });
  return api.use(flushMetrics());
};

export const handler = makeHandler();
