import { callerOf, etag, expectedRevision, httpApi, json, jsonBody } from '../shared/http.js';
import { flushMetrics } from '../shared/metrics.js';
import { lazy } from '../shared/services/deps.js';
import { eventWriteDeps } from '../shared/services/event-write-deps.js';
import { correctEvent, countingRefusals, type EventServiceDeps } from '../shared/services/events.js';
import { eventIdParam } from '../shared/services/paths.js';

/** PUT /api/events/{id}: corrects an event (next revision); If-Match guards against lost updates. */
export const makeHandler = (deps: EventServiceDeps | (() => EventServiceDeps) = eventWriteDeps) => {
  const get = lazy(deps);
  const api = httpApi(async (event) => {
    const { event: stored } = await countingRefusals(get(), async () =>
      correctEvent(get(), eventIdParam(event), jsonBody(event), expectedRevision(event), callerOf(event)),
    );
    return json(200, stored, { etag: etag(stored.revision) });
  });
  return api.use(flushMetrics());
};

export const handler = makeHandler();
