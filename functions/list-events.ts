import { isCalendarDate } from '../shared/domain/event.js';
import { SLUG_PATTERN } from '../shared/domain/slug.js';
import { ValidationError } from '../shared/errors.js';
import { httpApi, intParam, json, queryParams } from '../shared/http.js';
import { lazy, storeDeps } from '../shared/services/deps.js';
import { type EventQuery, type EventServiceDeps, listEvents } from '../shared/services/events.js';

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

const queryOf = (params: Partial<Record<'date' | 'tag' | 'limit' | 'cursor', string>>): EventQuery => {
  const page = {
    limit: intParam('limit', params.limit, DEFAULT_LIMIT, 1, MAX_LIMIT),
    ...(params.cursor !== undefined ? { cursor: params.cursor } : {}),
  };
  if (params.date !== undefined && params.tag !== undefined) {
    throw ValidationError.of('query', 'give either date or tag, not both');
  }
  if (params.date !== undefined) {
    if (!isCalendarDate(params.date))
      throw ValidationError.of('query.date', 'must be a real date written YYYY-MM-DD');
    return { by: 'date', date: params.date, page };
  }
  if (params.tag !== undefined) {
    if (!SLUG_PATTERN.test(params.tag) || params.tag.length > 64) {
      throw ValidationError.of(
        'query.tag',
        'must be a tag slug: lowercase letters, digits and single hyphens',
      );
    }
    return { by: 'tag', tag: params.tag, page };
  }
  return { by: 'latest', page };
};

/** GET /api/events: latest overall, `?date=YYYY-MM-DD`, or `?tag=slug`, each paged with limit and cursor. */
export const makeHandler = (
  deps: Pick<EventServiceDeps, 'store'> | (() => Pick<EventServiceDeps, 'store'>) = storeDeps,
) => {
  const get = lazy(deps);
  return httpApi(async (event) => {
    const page = await listEvents(
      get(),
      queryOf(queryParams(event, ['date', 'tag', 'limit', 'cursor'] as const)),
    );
    return json(200, { events: page.items, nextCursor: page.cursor ?? null });
  });
};

export const handler = makeHandler();
