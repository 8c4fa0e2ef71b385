import { isEventId } from '../domain/event.js';
import { ValidationError } from '../errors.js';
import type { ApiEvent } from '../http.js';

/** The `{id+}` path parameter: `YYYY/MM/DD/<slug>`, slashes given plain or as %2F. */
export const eventIdParam = (event: ApiEvent): string => {
  const raw = event.pathParameters?.id ?? '';
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw ValidationError.of('id', 'is not a valid URL-encoded event id');
  }
  if (!isEventId(id)) {
    throw ValidationError.of(
      'id',
      'must be an event id such as 2016/11/16/<slug> (lowercase letters, digits, hyphens)',
    );
  }
  return id;
};
