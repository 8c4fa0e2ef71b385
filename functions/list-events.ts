import { httpApi, json, queryParams } from '../shared/http.js';
import { lazy, storeDeps } from '../shared/services/deps.js';
import {
  EVENT_QUERY_PARAMS,
  type EventServiceDeps,
  listEvents,
  parseEventQuery,
} from '../shared/services/events.js';

/** GET /api/events: latest overall, `?date=YYYY-MM-DD`, or `?tag=slug`, each paged with limit and cursor. */
export const makeHandler = (
  deps: Pick<EventServiceDeps, 'store'> | (() => Pick<EventServiceDeps, 'store'>) = storeDeps,
) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    const page = await listEvents(get(), parseEventQuery(queryParams(event, EVENT_QUERY_PARAMS)));
    return json(200, { events: page.items, nextCursor: page.cursor ?? null });
  });
};

export const handler = makeHandler();
