import { callerOf, etag, httpApi, json, jsonBody } from '../shared/http.js';
import { flushMetrics } from '../shared/metrics.js';
import { lazy } from '../shared/services/deps.js';
import { eventWriteDeps } from '../shared/services/event-write-deps.js';
import type { EventServiceDeps } from '../shared/services/events.js';
import { countingRefusals, postEvent } from '../shared/services/events.js';

/** POST /api/events: 201 with the stored event, or 200 when the same event was already there. */
export const makeHandler = (deps: EventServiceDeps | (() => EventServiceDeps) = eventWriteDeps) => {
  const get = lazy(deps);
  const api = httpApi(async (event) => {
    const { status, event: stored } = await countingRefusals(get(), async () =>
      postEvent(get(), jsonBody(event), callerOf(event)),
    );
    return json(status === 'created' ? 201 : 200, stored, {
      location: `/api/events/${stored.id}`,
      etag: etag(stored.revision),
    });
  });
  return api.use(flushMetrics());
};

export const handler = makeHandler();
