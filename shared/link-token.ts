// A namespace import lets esbuild drop what is unused (the named `z` export keeps all of zod).
import * as z from 'zod';
import { toIssues } from './domain/event.js';
import { ValidationError } from './errors.js';
import { type ApiEvent, type ApiHandler, queryParams } from './http.js';
import type { TokenField } from './services/subscriptions.js';

/** The name of the form field that carries a link's token on the pages' buttons. */
export const TOKEN_FIELD = 'token';

/** The token as a form field or query parameter carries it. */
export const tokenField = z
  .string()
  .meta({
    description:
      "The link's token, in the query (a link followed) or in the form (a page's button), never both.",
  })
  .optional();

/** The form of a button whose only field is the token (confirm, sign out). */
export const tokenFormSchema = z.strictObject({ [TOKEN_FIELD]: tokenField });

export interface LinkRequest {
  token: string | undefined;
  field: TokenField;
  /** The form's other fields. */
  fields: Record<string, unknown>;
}

/**
 * The token of a request to a link route. Links in emails carry it in the query, and so does
 * RFC 8058's one-click POST; the buttons of the subscription pages post it in the form's `token`
 * field, so the URL their answer is logged under holds no token. Both at once is a 400.
 */
export const linkRequestOf = (event: ApiEvent, form: Record<string, unknown> = {}): LinkRequest => {
  const { token: inQuery } = queryParams(event, [TOKEN_FIELD]);
  const { [TOKEN_FIELD]: inBody, ...fields } = form;
  if (inBody === undefined) return { token: inQuery, field: 'query.token', fields };
  if (inQuery !== undefined) {
    throw ValidationError.of('body.token', 'must not be given when the query has a token: give it once');
  }
  if (typeof inBody !== 'string') throw ValidationError.of('body.token', 'must be text');
  return { token: inBody, field: 'body.token', fields };
};

/** For a form whose only field is the token (confirm, sign out): anything else is a 400 naming it. */
export const onlyTheToken = (fields: Record<string, unknown>): void => {
  const parsed = tokenFormSchema.safeParse(fields);
  if (!parsed.success) throw new ValidationError(toIssues(parsed.error, fields, ['body'], TOKEN_FIELD));
};

/** Answers to link routes carry a token in their request: never cached, never a referrer. */
export const LINK_HEADERS = { 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } as const;

/**
 * Every answer of a link route, pages, JSON and errors alike, with LINK_HEADERS (pages already
 * carry them; JSON answers and errors would not).
 */
export const withLinkHeaders =
  (handler: ApiHandler): ApiHandler =>
  async (event, context) => {
    const result = await handler(event, context);
    return { ...result, headers: { ...result.headers, ...LINK_HEADERS } };
  };
