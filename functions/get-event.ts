import { etag, httpApi, json, matchesNoneMatch } from '../shared/http.js';
import { lazy, storeDeps } from '../shared/services/deps.js';
import { type EventServiceDeps, getEvent } from '../shared/services/events.js';
import { eventIdParam } from '../shared/services/paths.js';

/** GET /api/events/{id}: the event, 404 if it never existed, 410 if it was deleted. */
export const makeHandler = (
  deps: Pick<EventServiceDeps, 'store'> | (() => Pick<EventServiceDeps, 'store'>) = storeDeps,
) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    const stored = await getEvent(get(), eventIdParam(event));
    const tag = etag(stored.revision);
    if (matchesNoneMatch(event, tag)) return { statusCode: 304, headers: { etag: tag } };
    return json(200, stored, { etag: tag, 'cache-control': 'public, max-age=30' });
  });
};

export const handler = makeHandler();
