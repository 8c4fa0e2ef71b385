import { randomBytes } from 'node:crypto';
// A namespace import lets esbuild drop what is unused (the named `z` export keeps all of zod).
import * as z from 'zod';
import { type Mailer, MailerThrottledError } from '../adapters/mailer.js';
import type { MailboxSlot, SignupLimits } from '../adapters/signup-limits.js';
import type { SubscriptionStore } from '../adapters/subscription-store.js';
import type { TokenSecret } from '../adapters/token-secret.js';
import type { DigestSchedule } from '../domain/digest.js';
import { toIssues } from '../domain/event.js';
import { canonicalMailbox } from '../domain/mailbox.js';
import { HONEYPOT_FIELD, LEGACY_HONEYPOT_FIELD } from '../domain/signup.js';
import type { SiteConfig } from '../domain/site.js';
import { tagSlug, topicSlug } from '../domain/slug.js';
import {
  type ChangePlan,
  type Followed,
  isLapsed,
  planConfirm,
  planLeave,
  planLeaveAll,
  planManage,
  planRequest,
  planSignOut,
  type Requested,
  type RequestPlan,
  type SubscriberRecord,
} from '../domain/subscriber-changes.js';
import {
  CADENCES,
  type Cadence,
  type DeliveryPreferences,
  MAX_TAGS,
  MAX_TOPICS,
  type QuietHours,
  resolvePreferences,
  type TagRef,
  type TopicRef,
} from '../domain/subscription.js';
import {
  CONFIRM_TOKEN_SECONDS,
  confirmLink,
  feedLink,
  isCurrentToken,
  type LinkKeys,
  MANAGE_TOKEN_SECONDS,
  manageLink,
  PAGE_MANAGE_TOKEN_SECONDS,
  preferencesOfClaim,
  subscriberIdOf,
  subscriberLinks,
  type TokenClaims,
  type TokenFailure,
  type TokenPurpose,
  verifyToken,
} from '../domain/tokens.js';
import { canonicalZone, supportedZones } from '../domain/zones.js';
import {
  ConcurrentWriteError,
  ConflictError,
  ForbiddenError,
  GoneError,
  type Issue,
  ValidationError,
} from '../errors.js';
import { logger } from '../logger.js';
import { METRIC, type MetricsPort } from '../metrics.js';
import { renderConfirmationEmail } from '../render/confirmation-email.js';
import { deliveryViewOf } from '../render/subscription-pages.js';

export interface SubscriptionDeps {
  store: SubscriptionStore;
  tokenSecret: TokenSecret;
  mailer: Mailer;
  site: SiteConfig;
  /** Sender of confirmation emails: `Tidings <digest@news.example.org>`. */
  from: string;
  now: () => string;
  /** The deployment's default delivery time (DIGEST_HOUR, DIGEST_WEEKDAY, DEFAULT_TIME_ZONE): what a choice left out fills in. */
  delivery?: DigestSchedule;
}

/** What a sign-up needs besides: the limits that keep it from being turned into a mail cannon. */
export interface SignupDeps extends SubscriptionDeps {
  limits: SignupLimits;
  metrics: MetricsPort;
  /** Confirmation emails the whole service may send per clock hour; beyond it none go out. */
  confirmationsPerHour: number;
}

/** What the HTTP layer knows of a sign-up besides its fields. */
export interface SignupContext {
  /** Who asked (`clientOf`): limits count per client. */
  client: string;
  /** The form's honeypot field was filled: a bot, answered as anyone but sent nothing. */
  honeypot: boolean;
}

/** What following a link needs (confirm, unsubscribe, manage): everything but sending email. */
export type LinkDeps = Omit<SubscriptionDeps, 'mailer' | 'from'>;

/** RFC 5321's limits: 254 characters in all, 64 before the "@". */
const EMAIL_MAX = 254;
const LOCAL_PART_MAX = 64;
/** Manage pages offer this many of the most used tags besides the followed ones. */
const OFFERED_TAGS = 30;
/** Manage pages offer this many topic labels besides the followed ones. */
const OFFERED_TOPICS = 50;
/** Optimistic writes that lose a race re-read and decide again this many times. */
const ATTEMPTS = 3;

const emailField = z
  .string()
  .trim()
  .max(EMAIL_MAX, { error: `must be at most ${EMAIL_MAX} characters` })
  .pipe(z.email({ error: 'must be an email address such as reader@example.org' }))
  .check((ctx) => {
    if (ctx.value.indexOf('@') > LOCAL_PART_MAX) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: `must have at most ${LOCAL_PART_MAX} characters before the @`,
      });
    }
  })
  .meta({ format: 'email', description: `At most ${EMAIL_MAX} characters, ${LOCAL_PART_MAX} before the @.` });

/** A list of names or slugs, of tags (`what` = 'tag') or of topic labels. */
const namesField = (what: string, max: number, length: number) =>
  z
    .array(
      z
        .string()
        .trim()
        .min(1, { error: `must be a ${what} name or slug (not empty)` })
        .max(length, { error: `must be a ${what} name or slug of at most ${length} characters` }),
    )
    .max(max, {
      error: (issue) => `must name at most ${max} ${what}s (got ${(issue.input as unknown[]).length})`,
    });

const tagsField = namesField('tag', MAX_TAGS, 64);
/** Topic labels are at most 100 characters (the event's `topic`). */
const topicLabelsField = namesField('topic label', MAX_TOPICS, 100);

const cadenceField = z.enum(CADENCES, { error: `must be one of ${CADENCES.join(', ')}` });

/** A whole number in a range, as JSON sends it or as a form's digits. */
const wholeField = (max: number, what: string) => {
  const rule = `must be a whole number from 0 to ${max} (${what})`;
  return z
    .union(
      [
        z.number(),
        z
          .string()
          .trim()
          .regex(/^\d{1,2}$/)
          .transform(Number),
      ],
      { error: rule },
    )
    .pipe(z.number().refine((n) => Number.isInteger(n) && n >= 0 && n <= max, { error: rule }));
};

const timeZoneField = z
  .string({ error: 'must be an IANA time zone name such as Europe/Berlin' })
  .transform((name, ctx) => {
    const zone = name.length <= 64 ? canonicalZone(name.trim()) : undefined;
    if (zone === undefined || !supportedZones().includes(zone)) {
      ctx.addIssue({
        code: 'custom',
        message: `must be an IANA time zone name such as Europe/Berlin (got ${JSON.stringify(name.slice(0, 64))})`,
      });
      return z.NEVER;
    }
    return zone;
  });

const quietHoursField = z
  .strictObject({ from: wholeField(23, 'a local hour'), to: wholeField(23, 'a local hour') })
  .refine((q) => q.from !== q.to, { error: 'must start and end at different hours (from, to)' });

/** Delivery preferences, all optional: what is left out comes from the settings. */
const preferenceFields = {
  timeZone: timeZoneField.optional(),
  deliveryHour: wholeField(23, 'a local hour').optional(),
  deliveryWeekday: wholeField(6, '0 = Sunday … 6 = Saturday').optional(),
  quietHours: quietHoursField.nullable().optional(),
};

/**
 * What a reader follows, as requests name it: `tags` (tag names or slugs) and `topicLabels`
 * (topic label names or slugs), at least one of them not empty. `topics` is what `tags` was called
 * before topic labels could be followed: a request that sends it still means tags.
 */
const followFields = {
  tags: tagsField.optional(),
  topicLabels: topicLabelsField.optional(),
  topics: tagsField.optional().meta({
    deprecated: true,
    description: 'Deprecated: the former name of `tags` (tag names or slugs), still accepted. Send `tags`.',
  }),
};

/** What POST /api/subscriptions accepts (JSON, or the form's fields). */
export const subscribeSchema = z.strictObject({
  email: emailField,
  ...followFields,
  cadence: cadenceField,
  ...preferenceFields,
});
/** What POST /api/subscriptions/manage accepts. */
export const manageSchema = z.strictObject({ ...followFields, cadence: cadenceField, ...preferenceFields });

const PREFERENCE_KEYS = ['timeZone', 'deliveryHour', 'deliveryWeekday', 'quietHours'] as const;
const PREFERENCE_NAMES = PREFERENCE_KEYS.join(', ');
const SUBSCRIBE_FIELDS = `email, tags, topicLabels, cadence, ${PREFERENCE_NAMES}`;
const MANAGE_FIELDS = `tags, topicLabels, cadence, ${PREFERENCE_NAMES}`;

type PreferenceInput = Pick<DeliveryPreferences, 'timeZone' | 'deliveryHour' | 'deliveryWeekday'> & {
  /** null: none (a form's empty selects). */
  quietHours?: QuietHours | null | undefined;
};

/**
 * The preferences a request asks for over what the subscriber has (`base`), the settings filling
 * in the rest; undefined when it asks for none (the record stays as it is: a new one on the
 * deployment's default delivery time).
 */
const chosenPreferences = (
  deps: { delivery?: DigestSchedule },
  input: PreferenceInput,
  base: DeliveryPreferences = {},
): DeliveryPreferences | undefined => {
  const asked = PREFERENCE_KEYS.filter((key) => input[key] !== undefined);
  if (asked.length === 0) return undefined;
  const { quietHours, ...rest }: PreferenceInput = {
    ...preferencesOf(base),
    ...Object.fromEntries(asked.map((key) => [key, input[key]])),
  };
  return resolvePreferences(quietHours ? { ...rest, quietHours } : rest, deps.delivery ?? DEFAULT_DELIVERY);
};

/** The deployment's default delivery when none is wired in (the digest settings' own defaults). */
export const DEFAULT_DELIVERY: DigestSchedule = { hour: 7, weekday: 1, timeZone: 'UTC' };

/** What a request follows, whichever names it used. */
type FollowInput = { tags?: string[]; topicLabels?: string[]; topics?: string[] };

/**
 * Forms send their lists as repeated fields (`tags[]` from checkboxes, or `tags`), JSON as arrays.
 * Each form field name, and the list it fills.
 */
const LIST_FIELDS: Record<string, keyof FollowInput> = {
  tags: 'tags',
  'tags[]': 'tags',
  topicLabels: 'topicLabels',
  'topicLabels[]': 'topicLabels',
};

/** The form fields of quiet hours (JSON sends `quietHours: {from, to}`). */
export const QUIET_FROM = 'quietHours.from';
export const QUIET_TO = 'quietHours.to';
const FORM_OPTIONAL_FIELDS = ['timeZone', 'deliveryHour', 'deliveryWeekday'];

/** Forms have a handful of fields; a body of thousands is an attack on the parser, refused early. */
export const MAX_FORM_FIELDS = 100;

/**
 * A form's fields as the JSON body would carry them: `tags` always a list, the rest single values
 * (the last one wins). One pass over the entries, so the work is linear in the body.
 */
export const formFields = (form: FormData): Record<string, unknown> => {
  const fields: Record<string, unknown> = {};
  let count = 0;
  for (const [key, value] of form.entries()) {
    if (++count > MAX_FORM_FIELDS) {
      throw ValidationError.of('body', `must have at most ${MAX_FORM_FIELDS} fields (got more)`);
    }
    const text = typeof value === 'string' ? value : value.name;
    const list = Object.hasOwn(LIST_FIELDS, key) ? LIST_FIELDS[key] : undefined;
    if (list) {
      const values = (fields[list] as string[] | undefined) ?? [];
      values.push(text);
      fields[list] = values;
    } else fields[key] = text;
  }
  // A form's select offers "none" as an empty value: a field left empty is a field not given.
  for (const key of FORM_OPTIONAL_FIELDS) if (fields[key] === '') delete fields[key];
  // Quiet hours come as two selects; both set to "none" clears them.
  const { [QUIET_FROM]: from, [QUIET_TO]: to, ...rest } = fields;
  if (from === '' && to === '') rest.quietHours = null;
  else if (from !== undefined || to !== undefined) rest.quietHours = { from: from ?? '', to: to ?? '' };
  return rest;
};

/** A sign-up form's fields without the honeypot, and whether the honeypot was filled. */
export const signupForm = (form: FormData): { input: Record<string, unknown>; honeypot: boolean } => {
  const { [HONEYPOT_FIELD]: trap, [LEGACY_HONEYPOT_FIELD]: _stale, ...input } = formFields(form);
  return { input, honeypot: typeof trap === 'string' && trap.trim() !== '' };
};

/** What a request follows, resolved: tags and topic labels as they are named now. */
export interface Follows {
  tags: TagRef[];
  topics: TopicRef[];
}

/**
 * Validates a sign-up or a manage form: every problem at once, field syntax and unknown tags or
 * labels alike, each naming its field. Tags and labels come back resolved, in the order given,
 * duplicates dropped.
 */
const parseWithFollows = async <T extends FollowInput>(
  deps: LinkDeps,
  schema: z.ZodType<T>,
  input: unknown,
  allowed: string,
): Promise<{ value: T; follows: Follows }> => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw ValidationError.of('body', `must be an object with ${allowed}`);
  }
  const parsed = schema.safeParse(input);
  const issues = parsed.success ? [] : toIssues(parsed.error, input, [], allowed);
  const given = input as FollowInput;
  if (given.tags !== undefined && given.topics !== undefined) {
    issues.push({ path: 'topics', rule: 'is the former name of tags: send tags alone' });
  }
  // The deprecated name stands for `tags`, so its issues name it.
  const tagsAt = given.tags === undefined && given.topics !== undefined ? 'topics' : 'tags';
  const tags = tagsField.safeParse(given[tagsAt] ?? []);
  const labels = topicLabelsField.safeParse(given.topicLabels ?? []);
  const [tagRefs, topicRefs] = await Promise.all([
    tags.success ? resolveTags(deps, tags.data, tagsAt) : { refs: [], unknown: [] },
    labels.success ? resolveTopics(deps, labels.data) : { refs: [], unknown: [] },
  ]);
  issues.push(...tagRefs.unknown, ...topicRefs.unknown);
  if (tags.success && labels.success && tags.data.length + labels.data.length === 0) {
    issues.push({
      path: tagsAt,
      rule: 'must name at least one tag, or topicLabels at least one topic label',
    });
  }
  if (!parsed.success || issues.length > 0) throw new ValidationError(issues);
  return { value: parsed.data, follows: { tags: tagRefs.refs, topics: topicRefs.refs } };
};

/** Names or slugs to what exists, in order, duplicates dropped; an unknown one is an issue naming its place. */
const resolve = async <R extends TagRef>(
  names: readonly string[],
  slugOf: (name: string) => string,
  find: (slugs: readonly string[]) => Promise<Map<string, R>>,
  unknownRule: (given: string) => string,
  field: string,
): Promise<{ refs: R[]; unknown: Issue[] }> => {
  const slugs = names.map(slugOf);
  const found = await find(slugs.filter((s) => s !== ''));
  const unknown: Issue[] = [];
  const refs: R[] = [];
  slugs.forEach((slug, i) => {
    const ref = found.get(slug);
    if (!ref)
      unknown.push({
        path: `${field}[${i}]`,
        rule: unknownRule(JSON.stringify((names[i] ?? '').slice(0, 100))),
      });
    else if (!refs.some((t) => t.slug === slug)) refs.push(ref);
  });
  return { refs, unknown };
};

const resolveTags = (deps: LinkDeps, names: readonly string[], field: string) =>
  resolve(
    names,
    tagSlug,
    (slugs) => deps.store.findTags(slugs),
    (given) => `is not a known tag (got ${given}; GET /api/tags lists them)`,
    field,
  );

const resolveTopics = (deps: LinkDeps, names: readonly string[]) =>
  resolve(
    names,
    topicSlug,
    (slugs) => deps.store.findTopics(slugs),
    (given) => `is not a known topic label (got ${given}; the manage page lists them)`,
    'topicLabels',
  );

/**
 * What the JSON API answers of what a subscriber follows: `tags` and `topicLabels`, and `topics`,
 * the former name of `tags`, for clients written before labels could be followed.
 */
export const followsOut = (
  follows: Follows,
): { tags: TagRef[]; topicLabels: TopicRef[]; topics: TagRef[] } => ({
  tags: follows.tags,
  topicLabels: follows.topics,
  topics: follows.tags,
});

const epochSeconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

/** Where a link's token came from: the query (a link followed), or the body (a button on one of the pages). */
export type TokenField = 'query.token' | 'body.token';

const tokenError = (reason: TokenFailure, purpose: TokenPurpose, field: TokenField): Error => {
  switch (reason) {
    case 'invalid signature':
      return new ForbiddenError(
        `${field}: invalid signature: the link was changed or does not come from this site`,
      );
    case 'retired key':
      return new GoneError(
        `${field}: no longer valid: it was signed with a key this site has retired; use the link in a more recent email`,
      );
    case 'expired':
      return new GoneError(
        purpose === 'confirm'
          ? `${field}: expired: confirmation links work for ${CONFIRM_TOKEN_SECONDS / 3600} hours; subscribe again for a new one`
          : purpose === 'manage'
            ? `${field}: expired: manage links work for ${MANAGE_TOKEN_SECONDS / 86_400} days; use the link in a more recent email`
            : `${field}: expired: use the link in a more recent email`,
      );
    case 'wrong purpose':
      return ValidationError.of(field, `is not a ${purpose} link`);
    default:
      return ValidationError.of(
        field,
        'is not a subscription link: open the link exactly as the email gives it',
      );
  }
};

const staleToken = (field: TokenField): GoneError =>
  new GoneError(
    `${field}: no longer valid: since this link was made, the subscription was left, its links were signed out, or it was made anew; use the link in a more recent email`,
  );

const lapsed = (field: TokenField): GoneError =>
  new GoneError(
    `${field}: the subscription it belongs to no longer exists (unconfirmed subscriptions lapse after 48 hours); subscribe again`,
  );

interface Verified {
  keys: LinkKeys;
  claims: TokenClaims;
}

const verify = async (
  deps: LinkDeps,
  token: string | undefined,
  purpose: TokenPurpose,
  field: TokenField,
): Promise<Verified> => {
  if (token === undefined || token === '') {
    throw ValidationError.of(field, 'is required: open the link exactly as the email gives it');
  }
  const keys = await deps.tokenSecret();
  const check = verifyToken(keys, token, purpose, epochSeconds(deps.now()));
  if (!check.ok) throw tokenError(check.reason, purpose, field);
  return { keys, claims: check.claims };
};

/** The subscriber a token names, unless their record lapsed (or never existed). */
const load = async (deps: LinkDeps, claims: TokenClaims): Promise<SubscriberRecord | undefined> => {
  const record = await deps.store.getSubscriber(claims.sub);
  return record && !isLapsed(record, epochSeconds(deps.now())) ? record : undefined;
};

/** Applies a plan; a lost race re-reads and re-plans, and after three losses the caller gets a 409. */
const withRetries = async <T>(attempt: () => Promise<T>): Promise<T> => {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ConcurrentWriteError)) throw error;
      if (i + 1 >= ATTEMPTS) {
        throw new ConflictError('the subscription changed while this request ran; try again', {
          cause: error,
        });
      }
    }
  }
};

const apply = async (
  deps: LinkDeps,
  record: SubscriberRecord,
  plan: ChangePlan,
): Promise<{ record: SubscriberRecord; changed: boolean }> =>
  plan.kind === 'unchanged'
    ? { record, changed: false }
    : { record: await deps.store.updateSubscriber(plan.next, record), changed: true };

/**
 * The links a page reached from a confirmation link offers: leaving (which is all an unsubscribe
 * link can do) and a manage link good for an hour, so the page holds no lasting power.
 */
export interface PageLinks {
  manage: string;
  unsubscribeAll: string;
}

const pageLinks = (deps: LinkDeps, keys: LinkKeys, record: SubscriberRecord): PageLinks => {
  const now = epochSeconds(deps.now());
  return {
    manage: manageLink(keys, deps.site.siteUrl, record, now, PAGE_MANAGE_TOKEN_SECONDS),
    unsubscribeAll: subscriberLinks(keys, deps.site.siteUrl, record, now).unsubscribeAll,
  };
};

/** A random creation nonce for a new subscriber record (links carry it). */
const newNonce = (): string => randomBytes(12).toString('base64url');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One message, retried briefly when the sending service asks to slow down. */
/** What a sending error is, without its message (which may carry an address). */
const errorKindOf = (error: unknown): { errorName: string; errorCode?: string; httpStatus?: number } => {
  const { name, code, $metadata } = (error ?? {}) as {
    name?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  return {
    errorName: typeof name === 'string' ? name : typeof error,
    ...(typeof code === 'string' ? { errorCode: code } : {}),
    ...(typeof $metadata?.httpStatusCode === 'number' ? { httpStatus: $metadata.httpStatusCode } : {}),
  };
};

const sendWithRetry = async (mailer: Mailer, email: Parameters<Mailer['send']>[0]): Promise<void> => {
  for (let i = 0; ; i++) {
    try {
      await mailer.send(email);
      return;
    } catch (error) {
      if (!(error instanceof MailerThrottledError) || i >= 3) throw error;
      await sleep(200 * 2 ** i);
    }
  }
};

export interface SubscriptionRequestAnswer extends Follows, DeliveryPreferences {
  email: string;
  cadence: Cadence;
}

/** The delivery preferences a subscriber has chosen, without the rest of the record. */
export const preferencesOf = (subscriber: DeliveryPreferences): DeliveryPreferences => {
  const { timeZone, deliveryHour, deliveryWeekday, quietHours } = subscriber;
  return {
    ...(timeZone !== undefined ? { timeZone } : {}),
    ...(deliveryHour !== undefined ? { deliveryHour } : {}),
    ...(deliveryWeekday !== undefined ? { deliveryWeekday } : {}),
    ...(quietHours !== undefined ? { quietHours } : {}),
  };
};

/** The deployment's default delivery time as the deps carry it. */
export const deliveryDefaultsOf = (deps: { delivery?: DigestSchedule }): DigestSchedule =>
  deps.delivery ?? DEFAULT_DELIVERY;

/**
 * A sign-up. Whatever the address's state (new, pending, confirmed, unsubscribed, suppressed) and
 * whatever the limits say, the answer is the same; only whether a confirmation email goes out
 * differs. The requested tags, topic labels and cadence travel in the signed confirmation link, so a
 * confirmed subscriber's digests do not change until the link is opened.
 */
export const requestSubscription = async (
  deps: SignupDeps,
  input: unknown,
  context: SignupContext,
): Promise<SubscriptionRequestAnswer> => {
  const {
    value: { email, cadence, ...asked },
    follows,
  } = await parseWithFollows(deps, subscribeSchema, input, SUBSCRIBE_FIELDS);
  const preferences = chosenPreferences(deps, asked);
  const answer = { email, ...follows, cadence, ...preferences };
  if (context.honeypot) {
    deps.metrics.count(METRIC.signupHoneypot);
    logger.info('sign-up not served', { reason: 'honeypot' });
    return answer;
  }
  const now = deps.now();
  const nowSeconds = epochSeconds(now);
  if (!(await deps.limits.admitClient(context.client, nowSeconds))) {
    deps.metrics.count(METRIC.confirmationsLimited);
    logger.info('sign-up not served', { reason: 'client limit' });
    return answer;
  }
  const secret = await deps.tokenSecret();
  const id = subscriberIdOf(secret, email);
  const request = { id, email, ...follows, cadence, ...(preferences ? { preferences } : {}) };
  const plan = async (): Promise<RequestPlan> => {
    const [stored, suppression] = await Promise.all([
      deps.store.getSubscriber(id),
      deps.store.getSuppression(id),
    ]);
    // A record made now gets a nonce of its own: links made for an earlier record never act on it.
    return planRequest(stored, { ...request, nonce: newNonce() }, suppression !== undefined, now);
  };
  let planned: RequestPlan | undefined = await plan();
  if (planned.kind === 'none') return answer;
  const slot = await confirmationSlot(deps, email, nowSeconds);
  if (!slot) return answer;
  const sent = await withRetries(async () => {
    const current = planned ?? (await plan());
    planned = undefined;
    if (current.kind === 'none') return undefined;
    if (current.kind === 'create') {
      await deps.store.createSubscriber(current.next, current.replacing);
      return { record: current.next, previous: undefined };
    }
    return {
      record: await deps.store.updateSubscriber(current.next, current.previous),
      previous: current.previous,
    };
  });
  if (!sent) {
    await deps.limits.giveBackMailboxSlot(slot);
    return answer;
  }
  const { record } = sent;
  const message = renderConfirmationEmail(deps.site, {
    ...follows,
    cadence,
    delivery: deliveryViewOf(preferences ?? {}, deliveryDefaultsOf(deps)),
    confirmUrl: confirmLink(
      secret,
      deps.site.siteUrl,
      record,
      {
        tags: follows.tags.map((t) => t.slug),
        topics: follows.topics.map((t) => t.slug),
        cadence,
        ...(preferences ? { preferences } : {}),
      },
      nowSeconds,
    ),
    expiresAt: nowSeconds + CONFIRM_TOKEN_SECONDS,
    links: subscriberLinks(secret, deps.site.siteUrl, record, nowSeconds),
  });
  try {
    await sendWithRetry(deps.mailer, { to: record.email, from: deps.from, ...message });
  } catch (error) {
    // The answer stays the 202 (a 500 here would tell this address from others); the failure is
    // logged and counted. Both resend slots are freed so the reader can try again at once.
    // By name and code only: SES's message can name the recipient ("…failed the check: <address>").
    logger.error('confirmation not sent', { subscriber: id, ...errorKindOf(error) });
    deps.metrics.count(METRIC.confirmationsFailed);
    await Promise.all([
      deps.store
        .updateSubscriber({ ...record, confirmationSentAt: sent.previous?.confirmationSentAt }, record)
        .catch(() => undefined),
      deps.limits.giveBackMailboxSlot(slot).catch(() => undefined),
    ]);
    return answer;
  }
  deps.metrics.count(METRIC.confirmationsSent);
  logger.info('confirmation sent', {
    subscriber: id,
    tags: follows.tags.length,
    topics: follows.topics.length,
    cadence,
  });
  return answer;
};

/**
 * Whether a confirmation may go out now, taking the mailbox's slot if so: not while sending is
 * paused, at most one per mailbox in 10 minutes and 3 in 24 hours, within the hourly budget.
 * The mailbox is the canonical one (`victim+1@…` and `victim+2@…` share it).
 */
const confirmationSlot = async (
  deps: SignupDeps,
  email: string,
  nowSeconds: number,
): Promise<MailboxSlot | undefined> => {
  if (await deps.limits.confirmationsPaused(nowSeconds)) {
    deps.metrics.count(METRIC.confirmationsPaused);
    logger.info('sign-up not served', { reason: 'paused' });
    return undefined;
  }
  const slot = await deps.limits.takeMailboxSlot(canonicalMailbox(email), nowSeconds);
  if (!slot) {
    deps.metrics.count(METRIC.confirmationsLimited);
    logger.info('sign-up not served', { reason: 'mailbox limit' });
    return undefined;
  }
  if (!(await deps.limits.spendConfirmation(nowSeconds, deps.confirmationsPerHour))) {
    // Not the mailbox's doing: its slot is given back, so the reader is not locked out for a day.
    await deps.limits.giveBackMailboxSlot(slot);
    deps.metrics.count(METRIC.confirmationBudgetExceeded);
    logger.warn('sign-up not served', { reason: 'hourly confirmation budget spent' });
    return undefined;
  }
  return slot;
};

/**
 * What a confirmation link asks for, named as the tags and labels are now (or as the record
 * names them, or by slug, if one is gone).
 */
const requested = async (
  deps: LinkDeps,
  claims: TokenClaims,
  record: SubscriberRecord,
): Promise<Requested> => {
  const tagSlugs = claims.topics ?? [];
  const labelSlugs = claims.labels ?? [];
  const [tags, topics] = await Promise.all([
    tagSlugs.length > 0 ? deps.store.findTags(tagSlugs) : new Map<string, TagRef>(),
    labelSlugs.length > 0 ? deps.store.findTopics(labelSlugs) : new Map<string, TopicRef>(),
  ]);
  const named = <R extends TagRef>(slugs: string[], found: Map<string, R>, known: readonly R[]): R[] =>
    slugs.map((slug) => found.get(slug) ?? known.find((t) => t.slug === slug) ?? ({ slug, name: slug } as R));
  return { tags: named(tagSlugs, tags, record.tags), topics: named(labelSlugs, topics, record.topics) };
};

export interface ConfirmView extends Follows {
  subscriber: SubscriberRecord;
  /** What confirming will ask for (`tags`, `topics`) and at which cadence. */
  cadence: Cadence;
  preferences: DeliveryPreferences;
}

/**
 * What a confirmation link would do, for the page with the button: changes nothing, since mail
 * scanners and link previews open links. Refuses a link that could not confirm (lapsed, stale).
 */
export const viewConfirm = async (
  deps: LinkDeps,
  token: string | undefined,
  field: TokenField = 'query.token',
): Promise<ConfirmView> => {
  const { claims } = await verify(deps, token, 'confirm', field);
  const stored = await load(deps, claims);
  if (!stored) throw lapsed(field);
  if (!isCurrentToken(claims, stored)) throw staleToken(field);
  const asked = await requested(deps, claims, stored);
  return {
    subscriber: stored,
    tags: [...asked.tags],
    topics: [...asked.topics],
    cadence: claims.cadence ?? stored.cadence,
    preferences: claims.pref ? preferencesOfClaim(claims.pref) : preferencesOf(stored),
  };
};

export interface SubscriptionView {
  subscriber: SubscriberRecord;
  links: PageLinks;
  changed: boolean;
}

/**
 * Confirms (the POST of the button): idempotent, and a link older than the subscriber's last
 * change changes nothing.
 */
export const confirmSubscription = async (
  deps: LinkDeps,
  token: string | undefined,
  field: TokenField = 'query.token',
): Promise<SubscriptionView> => {
  const { keys, claims } = await verify(deps, token, 'confirm', field);
  const { record, changed } = await withRetries(async () => {
    const [stored, suppression] = await Promise.all([
      load(deps, claims),
      deps.store.getSuppression(claims.sub),
    ]);
    if (!stored) throw lapsed(field);
    if (!isCurrentToken(claims, stored)) throw staleToken(field);
    const plan = planConfirm(stored, claims, await requested(deps, claims, stored), deps.now());
    // A suppression that reached the table before the record did still keeps digests away.
    if (plan.kind === 'update' && suppression && plan.next.suppressedAt === undefined) {
      plan.next.suppressedAt = suppression.at;
    }
    return apply(deps, stored, plan);
  });
  if (changed)
    logger.info('subscription confirmed', {
      subscriber: record.id,
      tags: record.tags.length,
      topics: record.topics.length,
    });
  return { subscriber: record, links: pageLinks(deps, keys, record), changed };
};

/**
 * What an unsubscribe page shows. No manage link: an unsubscribe link can only unsubscribe, and a
 * page that minted manage links would make every year-long unsubscribe link a manage link.
 */
export interface UnsubscribeView {
  /** Absent when there is nothing left to leave (already unsubscribed, or the record lapsed). */
  subscriber?: SubscriberRecord;
  /** The tag the link leaves; absent (with `topic`) when it leaves everything. */
  tag?: TagRef;
  /** The topic label the link leaves. */
  topic?: TopicRef;
}

/**
 * What the JSON API answers of what an unsubscribe link leaves: `tag` or `topicLabel`, and
 * `topic`, the former name of `tag`, for clients written before labels could be followed.
 */
export const scopeOut = (
  view: Pick<UnsubscribeView, 'tag' | 'topic'>,
): { tag?: TagRef; topicLabel?: TopicRef; topic?: TagRef } => ({
  ...(view.tag ? { tag: view.tag, topic: view.tag } : {}),
  ...(view.topic ? { topicLabel: view.topic } : {}),
});

/** What an unsubscribe link leaves: one tag, one topic label, or (undefined) everything. */
const leftBy = (claims: TokenClaims): Followed | undefined =>
  claims.label !== undefined
    ? { kind: 'topic', slug: claims.label }
    : claims.topic !== undefined
      ? { kind: 'tag', slug: claims.topic }
      : undefined;

/** The tag or label a link leaves, named as the record names it (or by its slug). */
const scopeOf = (
  record: SubscriberRecord | undefined,
  claims: TokenClaims,
): Pick<UnsubscribeView, 'tag' | 'topic'> => {
  const left = leftBy(claims);
  if (!left) return {};
  const known = left.kind === 'tag' ? record?.tags : record?.topics;
  const ref = known?.find((t) => t.slug === left.slug) ?? { slug: left.slug, name: left.slug };
  return left.kind === 'tag' ? { tag: ref } : { topic: ref };
};

/**
 * What an unsubscribe link would do, for the page with the button: changes nothing (mail
 * scanners follow links). A subscriber who already left, or whose record lapsed, gets no subscriber.
 */
export const viewUnsubscribe = async (
  deps: LinkDeps,
  token: string | undefined,
  field: TokenField = 'query.token',
): Promise<UnsubscribeView> => {
  const { claims } = await verify(deps, token, 'unsubscribe', field);
  const stored = await load(deps, claims);
  if (!stored || stored.status === 'unsubscribed') return scopeOf(stored, claims);
  if (!isCurrentToken(claims, stored)) throw staleToken(field);
  return { subscriber: stored, ...scopeOf(stored, claims) };
};

/** RFC 8058: the body of a one-click unsubscribe, exactly. */
export const ONE_CLICK_FIELD = 'List-Unsubscribe';
export const ONE_CLICK_VALUE = 'One-Click';

/** The unsubscribe form: exactly RFC 8058's one field (besides the token a page's button adds). */
export const oneClickFormSchema = z.strictObject({ [ONE_CLICK_FIELD]: z.literal(ONE_CLICK_VALUE) });

/**
 * Unsubscribes from the link's tag or topic label, or from everything, without a login (the signed link is
 * the credential). Idempotent: doing it again, or after the record lapsed, succeeds and changes
 * nothing. A link made for an earlier record of the address (its nonce differs) is refused (410).
 */
export const unsubscribe = async (
  deps: LinkDeps,
  token: string | undefined,
  form: Record<string, unknown>,
  field: TokenField = 'query.token',
): Promise<UnsubscribeView & { changed: boolean }> => {
  const { claims } = await verify(deps, token, 'unsubscribe', field);
  // The token, if the form had one, was taken out already: one message for any other form.
  if (!oneClickFormSchema.safeParse(form).success) {
    throw ValidationError.of(
      `body.${ONE_CLICK_FIELD}`,
      `must be the one field of the form, ${ONE_CLICK_FIELD}=${ONE_CLICK_VALUE} (RFC 8058)`,
    );
  }
  return withRetries(async () => {
    const stored = await load(deps, claims);
    if (!stored) return { ...scopeOf(undefined, claims), changed: false };
    if (!isCurrentToken(claims, stored)) {
      if (stored.status === 'unsubscribed') return { ...scopeOf(stored, claims), changed: false };
      throw staleToken(field);
    }
    const left = leftBy(claims);
    const plan = left ? planLeave(stored, left, deps.now()) : planLeaveAll(stored, deps.now());
    const { record, changed } = await apply(deps, stored, plan);
    if (changed) logger.info('unsubscribed', { subscriber: record.id, scope: left?.kind ?? 'all' });
    return { subscriber: record, ...scopeOf(stored, claims), changed };
  });
};

export interface ManageView {
  subscriber: SubscriberRecord;
  /** The most used tags and topic labels, to add. */
  offered: Follows;
  /** The page's "unsubscribe from everything" button posts this link's token. */
  unsubscribeAll: string;
  /** The subscriber's private feed (a feed link). */
  feed: string;
  changed: boolean;
}

const manageable = async (
  deps: LinkDeps,
  claims: TokenClaims,
  field: TokenField,
): Promise<SubscriberRecord> => {
  const stored = await load(deps, claims);
  if (!stored) throw lapsed(field);
  if (!isCurrentToken(claims, stored)) throw staleToken(field);
  if (stored.status !== 'confirmed') {
    throw new ConflictError(
      'the subscription is not confirmed yet: open the confirmation link in the email first',
    );
  }
  return stored;
};

const offered = async (deps: LinkDeps): Promise<Follows> => {
  const [tags, topics] = await Promise.all([deps.store.listTags(), deps.store.listTopics()]);
  return {
    tags: tags.slice(0, OFFERED_TAGS).map(({ slug, name }) => ({ slug, name })),
    topics: topics.slice(0, OFFERED_TOPICS),
  };
};

// The manage page hands out no manage link of its own: the one it was opened with keeps its expiry.
const pageLinksOf = (
  deps: LinkDeps,
  keys: LinkKeys,
  record: SubscriberRecord,
): Pick<ManageView, 'unsubscribeAll' | 'feed'> => ({
  unsubscribeAll: subscriberLinks(keys, deps.site.siteUrl, record, epochSeconds(deps.now())).unsubscribeAll,
  feed: feedLink(keys, deps.site.siteUrl, record, epochSeconds(deps.now())),
});

/** The manage page's content: the subscription and the tags and labels one might add. Changes nothing. */
export const viewManage = async (
  deps: LinkDeps,
  token: string | undefined,
  field: TokenField = 'query.token',
): Promise<ManageView> => {
  const { keys, claims } = await verify(deps, token, 'manage', field);
  const [stored, offers] = await Promise.all([manageable(deps, claims, field), offered(deps)]);
  return {
    subscriber: stored,
    offered: offers,
    ...pageLinksOf(deps, keys, stored),
    changed: false,
  };
};

/** Replaces the tags, topic labels, cadence and chosen delivery preferences, validated like a sign-up. */
export const manageSubscription = async (
  deps: LinkDeps,
  token: string | undefined,
  input: unknown,
  field: TokenField = 'query.token',
): Promise<ManageView> => {
  const { keys, claims } = await verify(deps, token, 'manage', field);
  const {
    value: { cadence, ...asked },
    follows,
  } = await parseWithFollows(deps, manageSchema, input, MANAGE_FIELDS);
  const [{ record, changed }, offers] = await Promise.all([
    withRetries(async () => {
      const stored = await manageable(deps, claims, field);
      // What the request leaves out stays as the subscriber has it.
      const preferences = chosenPreferences(deps, asked, stored);
      return apply(deps, stored, planManage(stored, follows, cadence, deps.now(), preferences));
    }),
    offered(deps),
  ]);
  if (changed)
    logger.info('subscription changed', {
      subscriber: record.id,
      tags: record.tags.length,
      topics: record.topics.length,
      cadence,
    });
  return {
    subscriber: record,
    offered: offers,
    ...pageLinksOf(deps, keys, record),
    changed,
  };
};

/**
 * "Sign out all my links": every confirmation and manage link made so far, this one included,
 * stops working; the unsubscribe links of emails already sent keep working. The next email
 * carries fresh links.
 */
export const signOutLinks = async (
  deps: LinkDeps,
  token: string | undefined,
  field: TokenField = 'query.token',
): Promise<{ subscriber: SubscriberRecord }> => {
  const { claims } = await verify(deps, token, 'manage', field);
  const { record } = await withRetries(async () => {
    const stored = await manageable(deps, claims, field);
    return apply(deps, stored, planSignOut(stored));
  });
  logger.info('links signed out', { subscriber: record.id, linkGeneration: record.linkGeneration });
  return { subscriber: record };
};

/**
 * The confirmed subscriber a current link of this purpose speaks for (the private feed's route
 * uses it): 400/403/410 for a bad link, 410 for a lapsed or stale one, 409 before confirming.
 */
export const linkedSubscriber = async (
  deps: LinkDeps,
  token: string | undefined,
  purpose: TokenPurpose,
  field: TokenField,
): Promise<SubscriberRecord> => manageable(deps, (await verify(deps, token, purpose, field)).claims, field);
