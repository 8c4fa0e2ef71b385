import { callerOf, expectedRevision, httpApi, json } from '../shared/http.js';
import { lazy, storeDeps } from '../shared/services/deps.js';
import { deleteEvent, type EventServiceDeps } from '../shared/services/events.js';
import { eventIdParam } from '../shared/services/paths.js';

/** DELETE /api/events/{id}: leaves a tombstone; deleting again is harmless. */
export const makeHandler = (deps: EventServiceDeps | (() => EventServiceDeps) = storeDeps) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    const { event: tombstone } = await deleteEvent(
      get(),
      eventIdParam(event),
      expectedRevision(event),
      callerOf(event),
    );
    return json(200, tombstone);
  });
};

export const handler = makeHandler();
