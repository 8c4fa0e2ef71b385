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
import { tagSlug } from '../domain/slug.js';
import {
  type ChangePlan,
  isLapsed,
  planConfirm,
  planLeaveAll,
  planLeaveTopic,
  planManage,
  planRequest,
  planSignOut,
  type RequestPlan,
  type SubscriberRecord,
} from '../domain/subscriber-changes.js';
import {
  CADENCES,
  type Cadence,
  type DeliveryPreferences,
  MAX_TOPICS,
  type QuietHours,
  resolvePreferences,
  type TopicRef,
} from '../domain/subscription.js';
import {
  CONFIRM_TOKEN_SECONDS,
  confirmLink,
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
const OFFERED_TOPICS = 30;
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

const tagsField = z
  .array(
    z
      .string()
      .trim()
      .min(1, { error: 'must be a tag name or slug (not empty)' })
      .max(64, { error: 'must be a tag name or slug of at most 64 characters' }),
  )
  .min(1, { error: 'must name at least one topic' })
  .max(MAX_TOPICS, {
    error: (issue) => `must name at most ${MAX_TOPICS} topics (got ${(issue.input as unknown[]).length})`,
  });

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

/** What POST /api/subscriptions accepts (JSON, or the form's fields). */
export const subscribeSchema = z.strictObject({
  email: emailField,
  tags: tagsField,
  cadence: cadenceField,
  ...preferenceFields,
});
/** What POST /api/subscriptions/manage accepts. */
export const manageSchema = z.strictObject({ tags: tagsField, cadence: cadenceField, ...preferenceFields });

const PREFERENCE_KEYS = ['timeZone', 'deliveryHour', 'deliveryWeekday', 'quietHours'] as const;
const PREFERENCE_NAMES = PREFERENCE_KEYS.join(', ');
const SUBSCRIBE_FIELDS = `email, tags, cadence, ${PREFERENCE_NAMES}`;
const MANAGE_FIELDS = `tags, cadence, ${PREFERENCE_NAMES}`;

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

/** Forms send their list of topics as `tags[]` (repeated checkbox names), JSON as `tags`. */
const LIST_FIELDS = new Set(['tags', 'tags[]']);

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
  const tags: string[] = [];
  let count = 0;
  for (const [key, value] of form.entries()) {
    if (++count > MAX_FORM_FIELDS) {
      throw ValidationError.of('body', `must have at most ${MAX_FORM_FIELDS} fields (got more)`);
    }
    const text = typeof value === 'string' ? value : value.name;
    if (LIST_FIELDS.has(key)) {
      tags.push(text);
      fields.tags = tags;
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

/**
 * Validates a sign-up or a manage form: every problem at once, field syntax and unknown tags
 * alike, each naming its field. Tags come back resolved to topics, in the order given, duplicates dropped.
 */
const parseWithTopics = async <T extends { tags: string[] }>(
  deps: LinkDeps,
  schema: z.ZodType<T>,
  input: unknown,
  allowed: string,
): Promise<{ value: T; topics: TopicRef[] }> => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw ValidationError.of('body', `must be an object with ${allowed}`);
  }
  const parsed = schema.safeParse(input);
  const issues = parsed.success ? [] : toIssues(parsed.error, input, [], allowed);
  const tags = tagsField.safeParse((input as { tags?: unknown }).tags);
  const { topics, unknown } = tags.success
    ? await resolveTopics(deps, tags.data)
    : { topics: [], unknown: [] };
  issues.push(...unknown);
  if (!parsed.success || issues.length > 0) throw new ValidationError(issues);
  return { value: parsed.data, topics };
};

/** Tag names or slugs to topics; an unknown tag is an issue naming its place in the list. */
const resolveTopics = async (
  deps: LinkDeps,
  tags: readonly string[],
): Promise<{ topics: TopicRef[]; unknown: Issue[] }> => {
  const slugs = tags.map((tag) => tagSlug(tag));
  const found = await deps.store.findTopics(slugs.filter((s) => s !== ''));
  const unknown: Issue[] = [];
  const topics: TopicRef[] = [];
  slugs.forEach((slug, i) => {
    const topic = found.get(slug);
    if (!topic) {
      unknown.push({
        path: `tags[${i}]`,
        rule: `is not a known tag (got ${JSON.stringify((tags[i] ?? '').slice(0, 64))}; GET /api/tags lists them)`,
      });
    } else if (!topics.some((t) => t.slug === slug)) topics.push(topic);
  });
  return { topics, unknown };
};

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

export interface SubscriptionRequestAnswer extends DeliveryPreferences {
  email: string;
  topics: TopicRef[];
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
 * differs. The requested topics and cadence travel in the signed confirmation link, so a
 * confirmed subscriber's digests do not change until the link is opened.
 */
export const requestSubscription = async (
  deps: SignupDeps,
  input: unknown,
  context: SignupContext,
): Promise<SubscriptionRequestAnswer> => {
  const {
    value: { email, cadence, tags: _tags, ...asked },
    topics,
  } = await parseWithTopics(deps, subscribeSchema, input, SUBSCRIBE_FIELDS);
  const preferences = chosenPreferences(deps, asked);
  const answer = { email, topics, cadence, ...preferences };
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
  const request = { id, email, topics, cadence, ...(preferences ? { preferences } : {}) };
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
    topics,
    cadence,
    delivery: deliveryViewOf(preferences ?? {}, deliveryDefaultsOf(deps)),
    confirmUrl: confirmLink(
      secret,
      deps.site.siteUrl,
      record,
      { topics: topics.map((t) => t.slug), cadence, ...(preferences ? { preferences } : {}) },
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
  logger.info('confirmation sent', { subscriber: id, topics: topics.length, cadence });
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

/** The topics a confirmation link asks for, named as the tags are now (or as when asked, if a tag is gone). */
const requestedTopics = async (
  deps: LinkDeps,
  claims: TokenClaims,
  record: SubscriberRecord,
): Promise<TopicRef[]> => {
  const slugs = claims.topics ?? [];
  const found = await deps.store.findTopics(slugs);
  return slugs.map(
    (slug) => found.get(slug) ?? record.topics.find((t) => t.slug === slug) ?? { slug, name: slug },
  );
};

export interface ConfirmView {
  subscriber: SubscriberRecord;
  /** What confirming will ask for. */
  topics: TopicRef[];
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
  return {
    subscriber: stored,
    topics: await requestedTopics(deps, claims, stored),
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
    const requested = await requestedTopics(deps, claims, stored);
    const plan = planConfirm(stored, claims, requested, deps.now());
    // A suppression that reached the table before the record did still keeps digests away.
    if (plan.kind === 'update' && suppression && plan.next.suppressedAt === undefined) {
      plan.next.suppressedAt = suppression.at;
    }
    return apply(deps, stored, plan);
  });
  if (changed) logger.info('subscription confirmed', { subscriber: record.id, topics: record.topics.length });
  return { subscriber: record, links: pageLinks(deps, keys, record), changed };
};

/**
 * What an unsubscribe page shows. No manage link: an unsubscribe link can only unsubscribe, and a
 * page that minted manage links would make every year-long unsubscribe link a manage link.
 */
export interface UnsubscribeView {
  /** Absent when there is nothing left to leave (already unsubscribed, or the record lapsed). */
  subscriber?: SubscriberRecord;
  topic?: TopicRef;
}

const topicOf = (record: SubscriberRecord | undefined, slug: string | undefined): TopicRef | undefined =>
  slug === undefined ? undefined : (record?.topics.find((t) => t.slug === slug) ?? { slug, name: slug });

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
  if (!stored || stored.status === 'unsubscribed') return { topic: topicOf(stored, claims.topic) };
  if (!isCurrentToken(claims, stored)) throw staleToken(field);
  const topic = topicOf(stored, claims.topic);
  return { subscriber: stored, ...(topic ? { topic } : {}) };
};

/** RFC 8058: the body of a one-click unsubscribe, exactly. */
export const ONE_CLICK_FIELD = 'List-Unsubscribe';
export const ONE_CLICK_VALUE = 'One-Click';

/** The unsubscribe form: exactly RFC 8058's one field (besides the token a page's button adds). */
export const oneClickFormSchema = z.strictObject({ [ONE_CLICK_FIELD]: z.literal(ONE_CLICK_VALUE) });

/**
 * Unsubscribes from the link's topic, or from everything, without a login (the signed link is
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
    if (!stored) return { topic: topicOf(undefined, claims.topic), changed: false };
    if (!isCurrentToken(claims, stored)) {
      if (stored.status === 'unsubscribed') return { topic: topicOf(stored, claims.topic), changed: false };
      throw staleToken(field);
    }
    const topic = topicOf(stored, claims.topic);
    const plan = claims.topic
      ? planLeaveTopic(stored, claims.topic, deps.now())
      : planLeaveAll(stored, deps.now());
    const { record, changed } = await apply(deps, stored, plan);
    if (changed)
      logger.info('unsubscribed', { subscriber: record.id, scope: claims.topic ? 'topic' : 'all' });
    return { subscriber: record, ...(topic ? { topic } : {}), changed };
  });
};

export interface ManageView {
  subscriber: SubscriberRecord;
  /** The most used tags, to add. */
  offered: TopicRef[];
  /** The page's "unsubscribe from everything" button posts this link's token. */
  unsubscribeAll: string;
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

const offeredTopics = async (deps: LinkDeps): Promise<TopicRef[]> =>
  (await deps.store.listTopics()).slice(0, OFFERED_TOPICS).map(({ slug, name }) => ({ slug, name }));

// The manage page hands out no manage link of its own: the one it was opened with keeps its expiry.
const unsubscribeAllOf = (deps: LinkDeps, keys: LinkKeys, record: SubscriberRecord): string =>
  subscriberLinks(keys, deps.site.siteUrl, record, epochSeconds(deps.now())).unsubscribeAll;

/** The manage page's content: the subscription and the topics one might add. Changes nothing. */
export const viewManage = async (
  deps: LinkDeps,
  token: string | undefined,
  field: TokenField = 'query.token',
): Promise<ManageView> => {
  const { keys, claims } = await verify(deps, token, 'manage', field);
  const [stored, offered] = await Promise.all([manageable(deps, claims, field), offeredTopics(deps)]);
  return {
    subscriber: stored,
    offered,
    unsubscribeAll: unsubscribeAllOf(deps, keys, stored),
    changed: false,
  };
};

/** Replaces the topics and cadence, validated like a sign-up. */
export const manageSubscription = async (
  deps: LinkDeps,
  token: string | undefined,
  input: unknown,
  field: TokenField = 'query.token',
): Promise<ManageView> => {
  const { keys, claims } = await verify(deps, token, 'manage', field);
  const {
    value: { cadence, tags: _tags, ...asked },
    topics,
  } = await parseWithTopics(deps, manageSchema, input, MANAGE_FIELDS);
  const [{ record, changed }, offered] = await Promise.all([
    withRetries(async () => {
      const stored = await manageable(deps, claims, field);
      // What the request leaves out stays as the subscriber has it.
      const preferences = chosenPreferences(deps, asked, stored);
      return apply(deps, stored, planManage(stored, topics, cadence, deps.now(), preferences));
    }),
    offeredTopics(deps),
  ]);
  if (changed)
    logger.info('subscription changed', { subscriber: record.id, topics: record.topics.length, cadence });
  return { subscriber: record, offered, unsubscribeAll: unsubscribeAllOf(deps, keys, record), changed };
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
