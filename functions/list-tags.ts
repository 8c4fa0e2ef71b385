import { httpApi, json, queryParams } from '../shared/http.js';
import { lazy, storeDeps } from '../shared/services/deps.js';
import { type EventServiceDeps, listTags } from '../shared/services/events.js';

/** GET /api/tags: every tag with its display name and number of events, by slug. */
export const makeHandler = (
  deps: Pick<EventServiceDeps, 'store'> | (() => Pick<EventServiceDeps, 'store'>) = storeDeps,
) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    queryParams(event, []);
    return json(200, { tags: await listTags(get()) });
  });
};

export const handler = makeHandler();
