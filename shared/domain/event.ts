import { createHash } from 'node:crypto';
// A namespace import lets esbuild drop what is unused (the named `z` export keeps all of zod).
import * as z from 'zod';
import type { Issue } from '../errors.js';
import {
  EVENT_SLUG_MAX,
  isReservedSlug,
  RESERVED_SUFFIX,
  SLUG_PATTERN,
  slugify,
  tagSlug,
  unreservedSlug,
} from './slug.js';

export interface Tag {
  /** Stable URL slug, derived from the name. */
  slug: string;
  /** The name as the publisher wrote it. */
  name: string;
}

export interface Source {
  name: string;
  url: string;
}

export interface Image {
  url: string;
  caption?: string;
}

/** What a publisher says about an event, validated and normalized. */
export interface EventDraft {
  id: string;
  date: string;
  headline: string;
  body: string;
  topic?: string;
  tags: Tag[];
  sources: Source[];
  image?: Image;
}

/** A stored, live event: the draft plus what the service sets. */
export interface NewsEvent extends EventDraft {
  publishedAt: string;
  updatedAt: string;
  revision: number;
}

/** What is left of a deleted event, so later stages can unpublish it. */
export interface Tombstone {
  id: string;
  date: string;
  headline: string;
  tags: Tag[];
  topic?: string;
  publishedAt: string;
  updatedAt: string;
  deletedAt: string;
  revision: number;
  deleted: true;
}

export type StoredEvent = NewsEvent | Tombstone;

/**
 * The API key behind a write, as the authorizer names it. Kept on the stored item for the
 * operator (who published, who last changed), never shown to readers.
 */
export interface Attribution {
  /** `apiKeyIdOf(hash)`: stable, not secret. */
  keyId: string;
  /** The key's name, as the operator gave it. */
  keyName: string;
}

export const isTombstone = (event: StoredEvent): event is Tombstone => 'deleted' in event && event.deleted;

export const LIMITS = {
  headline: 500,
  body: 20_000,
  topic: 100,
  tags: 20,
  tag: 64,
  sources: 20,
  sourceName: 200,
  url: 2048,
  caption: 500,
} as const;

// C0 and C1 controls, lone surrogates (a `u` regex reads a lone half as its own code point) and
// the noncharacters U+FFFE/U+FFFF: none is legal in XML 1.0 or meaningful in a headline. Tab and
// newline are allowed in the body only.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const FORBIDDEN_INLINE = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff\ufffe\uffff]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const FORBIDDEN_BODY = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ud800-\udfff\ufffe\uffff]/u;

const codePoints = (s: string): number => [...s].length;

const describeChar = (s: string, pattern: RegExp): string => {
  const match = pattern.exec(s);
  const code = match?.[0].codePointAt(0) ?? 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
};

/**
 * Schemas are built on first use, not at import: building them costs more start-up time than the
 * rest of a function's own code, and most functions never parse an event.
 */
export const lazily = <T>(build: () => T): (() => T) => {
  let value: T | undefined;
  return () => {
    value ??= build();
    return value;
  };
};

/** Single-line plain text: NFC, trimmed, no control characters, bounded in code points. */
const inlineText = (max: number, min = 1) =>
  z
    .string()
    .transform((s) => s.normalize('NFC').trim())
    .check((ctx) => {
      const value = ctx.value;
      if (FORBIDDEN_INLINE.test(value)) {
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: `must not contain control characters (found ${describeChar(value, FORBIDDEN_INLINE)})`,
        });
      } else if (codePoints(value) < min) {
        ctx.issues.push({ code: 'custom', input: value, message: 'must not be empty or blank' });
      } else if (codePoints(value) > max) {
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: `must be at most ${max} characters (got ${codePoints(value)})`,
        });
      }
    })
    // What the OpenAPI document says of it (the checks above are code, not JSON Schema).
    .meta({
      description: `One line of plain text, ${min > 0 ? 'not blank, ' : ''}at most ${max} characters once trimmed; no control characters.`,
    });

const bodyText = /* @__PURE__ */ lazily(() =>
  z
    .string()
    .transform((s) => s.normalize('NFC').replace(/\r\n?/g, '\n').trim())
    .check((ctx) => {
      const value = ctx.value;
      if (FORBIDDEN_BODY.test(value)) {
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: `must not contain control characters other than tab and newline (found ${describeChar(value, FORBIDDEN_BODY)})`,
        });
      } else if (codePoints(value) > LIMITS.body) {
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: `must be at most ${LIMITS.body} characters (got ${codePoints(value)})`,
        });
      }
    })
    .meta({
      description: `Plain text, paragraphs separated by blank lines, at most ${LIMITS.body} characters once trimmed.`,
    }),
);

const httpUrl = /* @__PURE__ */ lazily(() =>
  z
    .string()
    .check((ctx) => {
      const value = ctx.value;
      const fail = (message: string): void => {
        ctx.issues.push({ code: 'custom', input: value, message });
      };
      if (value.length > LIMITS.url) return fail(`must be at most ${LIMITS.url} characters`);
      if (FORBIDDEN_INLINE.test(value) || /\s/.test(value))
        return fail('must not contain spaces or control characters');
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return fail('must be an absolute http or https URL');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        return fail(`must be an absolute http or https URL (got ${url.protocol.slice(0, -1)})`);
      }
      if (!url.hostname) fail('must be an absolute http or https URL with a host');
    })
    .meta({ format: 'uri', maxLength: LIMITS.url, description: 'An absolute http or https URL.' }),
);

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar day written YYYY-MM-DD. */
export const isCalendarDate = (value: string): boolean => {
  const m = DATE_PATTERN.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1000 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day
  );
};

const calendarDate = /* @__PURE__ */ lazily(() =>
  z
    .string()
    .check((ctx) => {
      if (!DATE_PATTERN.test(ctx.value)) {
        ctx.issues.push({ code: 'custom', input: ctx.value, message: 'must be a date written YYYY-MM-DD' });
      } else if (!isCalendarDate(ctx.value)) {
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: `must be a real calendar date (${ctx.value} does not exist)`,
        });
      }
    })
    .meta({ format: 'date', pattern: DATE_PATTERN.source, description: 'A real calendar day, YYYY-MM-DD.' }),
);

export const EVENT_ID_PATTERN = /^(\d{4})\/(\d{2})\/(\d{2})\/([a-z0-9-]+)$/;

export const isEventId = (value: string): boolean => {
  const m = EVENT_ID_PATTERN.exec(value);
  return (
    !!m &&
    isCalendarDate(`${m[1]}-${m[2]}-${m[3]}`) &&
    SLUG_PATTERN.test(m[4] ?? '') &&
    (m[4] ?? '').length <= EVENT_SLUG_MAX
  );
};

export const dateOfEventId = (id: string): string => id.slice(0, 10).replaceAll('/', '-');

/** The slug part of an event id. */
export const slugOfEventId = (id: string): string => id.slice(11);

/** Whether an id's slug is a name the site uses for a page of its own beside the day's events. */
export const isReservedEventId = (id: string): boolean => isReservedSlug('event', slugOfEventId(id));

/** The id an event stored under a reserved id moves to (`…/index` → `…/index-1`); other ids are kept. */
export const unreservedEventId = (id: string): string =>
  `${id.slice(0, 11)}${unreservedSlug('event', slugOfEventId(id))}`;

const eventId = /* @__PURE__ */ lazily(() =>
  z
    .string()
    .check((ctx) => {
      if (!isEventId(ctx.value)) {
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: `must be YYYY/MM/DD/<slug> with a real date and a slug of lowercase letters, digits and single hyphens, at most ${EVENT_SLUG_MAX} characters`,
        });
      } else if (isReservedEventId(ctx.value)) {
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: `must not end in "${slugOfEventId(ctx.value)}", the name of the day's own page (use ${unreservedEventId(ctx.value)}: reserved slugs take the suffix "${RESERVED_SUFFIX}")`,
        });
      }
    })
    .meta({
      pattern: EVENT_ID_PATTERN.source,
      description: `YYYY/MM/DD/<slug>, starting with the event's date; derived from date and headline when left out.`,
    }),
);

const tagName = /* @__PURE__ */ lazily(() =>
  inlineText(LIMITS.tag)
    .check((ctx) => {
      if (ctx.issues.length === 0 && tagSlug(ctx.value) === '') {
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: `"${ctx.value}" has no letters or digits that can form a URL slug (use a Latin-script name)`,
        });
      }
    })
    .meta({
      description: `A tag's name as readers see it, at most ${LIMITS.tag} characters; its URL slug is derived from it, and no two tags of an event may share one.`,
    }),
);

/** What POST /api/events and PUT /api/events/{id} accept (and each item of a batch). */
export const eventInputSchema = /* @__PURE__ */ lazily(() =>
  z
    .strictObject({
      id: eventId().optional(),
      date: calendarDate(),
      headline: inlineText(LIMITS.headline),
      body: bodyText().optional(),
      topic: inlineText(LIMITS.topic).optional(),
      tags: z
        .array(tagName())
        .max(LIMITS.tags, {
          error: (iss) => `must have at most ${LIMITS.tags} tags (got ${(iss.input as unknown[]).length})`,
        })
        .optional(),
      sources: z
        .array(z.strictObject({ name: inlineText(LIMITS.sourceName), url: httpUrl() }))
        .max(LIMITS.sources, {
          error: (iss) =>
            `must have at most ${LIMITS.sources} sources (got ${(iss.input as unknown[]).length})`,
        })
        .optional(),
      image: z.strictObject({ url: httpUrl(), caption: inlineText(LIMITS.caption, 0).optional() }).optional(),
    })
    .superRefine((input, ctx) => {
      const seen = new Map<string, number>();
      input.tags?.forEach((name, index) => {
        const slug = tagSlug(name);
        const first = seen.get(slug);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['tags', index],
            message: `duplicates tags[${first}] (both have the slug "${slug}")`,
          });
        } else seen.set(slug, index);
      });
      if (input.id && dateOfEventId(input.id) !== input.date) {
        ctx.addIssue({
          code: 'custom',
          path: ['id'],
          message: `must start with the event's date (${input.date.replaceAll('-', '/')}/)`,
        });
      }
    }),
);

const ALLOWED_FIELDS = /* @__PURE__ */ lazily(() => Object.keys(eventInputSchema().shape).join(', '));

/** `tags[3].name` from zod's path array. */
export const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (out, part) =>
      typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part),
    '',
  );

const typeName = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'array'
      : typeof value === 'number' && !Number.isFinite(value)
        ? 'number'
        : typeof value;

/** Turns zod's issues into field paths and human rules. */
export const toIssues = (
  error: z.ZodError,
  input: unknown,
  prefix: readonly PropertyKey[] = [],
  allowed: string = ALLOWED_FIELDS(),
): Issue[] =>
  error.issues.flatMap((issue): Issue[] => {
    const path = [...prefix, ...issue.path];
    const value = valueAt(input, issue.path);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: formatPath([...path, key]),
        rule:
          path.length === prefix.length
            ? `is not a known field (allowed: ${allowed})`
            : 'is not a known field',
      }));
    }
    if (issue.code === 'invalid_type') {
      if (value === undefined) return [{ path: formatPath(path), rule: 'is required' }];
      const received = typeName(value);
      return [{ path: formatPath(path), rule: `must be ${article(issue.expected)} (got ${received})` }];
    }
    return [{ path: formatPath(path), rule: issue.message }];
  });

const valueAt = (input: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (node, key) =>
      node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined,
    input,
  );

const article = (type: string): string =>
  type === 'array' || type === 'object' ? `an ${type}` : `a ${type}`;

/**
 * The id a headline gets on a day: `YYYY/MM/DD/<slug>`. Headlines with no Latin letters get a
 * hash; a slug the site uses for its own page (`index`) gets RESERVED_SUFFIX.
 */
export const eventIdFor = (date: string, headline: string): string => {
  const slug = unreservedSlug('event', slugify(headline.normalize('NFC'), EVENT_SLUG_MAX));
  const stable =
    slug || `event-${createHash('sha256').update(headline.normalize('NFC')).digest('hex').slice(0, 12)}`;
  return `${date.replaceAll('-', '/')}/${stable}`;
};

export type DraftResult = { ok: true; draft: EventDraft } | { ok: false; issues: Issue[] };

/** Validates untrusted input into a normalized draft, or lists every problem with its field path. */
export const parseEventDraft = (input: unknown, prefix: readonly PropertyKey[] = []): DraftResult => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return {
      ok: false,
      issues: [{ path: formatPath(prefix), rule: `must be a JSON object (got ${typeName(input)})` }],
    };
  }
  const parsed = eventInputSchema().safeParse(input);
  if (!parsed.success) return { ok: false, issues: toIssues(parsed.error, input, prefix) };
  const value = parsed.data;
  const draft: EventDraft = {
    id: value.id ?? eventIdFor(value.date, value.headline),
    date: value.date,
    headline: value.headline,
    body: value.body ?? '',
    tags: (value.tags ?? []).map((name) => ({ slug: tagSlug(name), name })),
    sources: value.sources ?? [],
  };
  if (value.topic) draft.topic = value.topic;
  if (value.image) draft.image = value.image.caption ? value.image : { url: value.image.url };
  return { ok: true, draft };
};

/** The publisher-controlled content of an event, in a fixed key order. */
export const draftOf = (event: EventDraft): EventDraft => {
  const draft: EventDraft = {
    id: event.id,
    date: event.date,
    headline: event.headline,
    body: event.body,
    tags: event.tags.map((t) => ({ slug: t.slug, name: t.name })),
    sources: event.sources.map((s) => ({ name: s.name, url: s.url })),
  };
  if (event.topic !== undefined) draft.topic = event.topic;
  if (event.image)
    draft.image = event.image.caption
      ? { url: event.image.url, caption: event.image.caption }
      : { url: event.image.url };
  return draft;
};

/** A digest of the publisher-controlled content, to tell a harmless re-post from a conflicting one. */
export const contentHash = (event: EventDraft): string =>
  createHash('sha256')
    .update(JSON.stringify(draftOf(event)))
    .digest('base64url');

export const sameContent = (a: EventDraft, b: EventDraft): boolean => contentHash(a) === contentHash(b);

/** The event a first post stores. */
export const createdEvent = (draft: EventDraft, now: string, previous?: Tombstone): NewsEvent => ({
  ...draftOf(draft),
  publishedAt: now,
  updatedAt: now,
  revision: (previous?.revision ?? 0) + 1,
});

/** The event a correction stores: same id and first publication, next revision. */
export const correctedEvent = (current: NewsEvent, draft: EventDraft, now: string): NewsEvent => ({
  ...draftOf(draft),
  publishedAt: current.publishedAt,
  updatedAt: now,
  revision: current.revision + 1,
});

export const tombstoneOf = (current: NewsEvent, now: string): Tombstone => {
  const tombstone: Tombstone = {
    id: current.id,
    date: current.date,
    headline: current.headline,
    tags: current.tags,
    publishedAt: current.publishedAt,
    updatedAt: now,
    deletedAt: now,
    revision: current.revision + 1,
    deleted: true,
  };
  if (current.topic !== undefined) tombstone.topic = current.topic;
  return tombstone;
};
