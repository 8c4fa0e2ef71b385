import { callerOf, etag, httpApi, json, jsonBody } from '../shared/http.js';
import { lazy, storeDeps } from '../shared/services/deps.js';
import type { EventServiceDeps } from '../shared/services/events.js';
import { postEvent } from '../shared/services/events.js';

/** POST /api/events: 201 with the stored event, or 200 when the same event was already there. */
export const makeHandler = (deps: EventServiceDeps | (() => EventServiceDeps) = storeDeps) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    const { status, event: stored } = await postEvent(get(), jsonBody(event), callerOf(event));
    return json(status === 'created' ? 201 : 200, stored, {
      location: `/api/events/${stored.id}`,
      etag: etag(stored.revision),
    });
  });
};

export const handler = makeHandler();
