import { callerOf, etag, expectedRevision, httpApi, json, jsonBody } from '../shared/http.js';
import { lazy, storeDeps } from '../shared/services/deps.js';
import { correctEvent, type EventServiceDeps } from '../shared/services/events.js';
import { eventIdParam } from '../shared/services/paths.js';

/** PUT /api/events/{id}: corrects an event (next revision); If-Match guards against lost updates. */
export const makeHandler = (deps: EventServiceDeps | (() => EventServiceDeps) = storeDeps) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    const id = eventIdParam(event);
    const body = jsonBody(event);
    const { event: stored } = await correctEvent(get(), id, body, expectedRevision(event), callerOf(event));
    return json(200, stored, { etag: etag(stored.revision) });
  });
};

export const handler = makeHandler();
