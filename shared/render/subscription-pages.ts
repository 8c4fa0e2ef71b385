/**
 * The pages a subscriber meets outside the published site: after signing up, confirming,
 * unsubscribing, managing, and when a link is bad. Rendered with the Eta templates of
 * subscription-templates.ts; every value is escaped by the engine.
 */
import { Eta } from 'eta/core';
import type { SiteConfig } from '../domain/site.js';
import {
  CADENCES,
  type Cadence,
  type DeliveryPreferences,
  type QuietHours,
  type TagRef,
  type TopicRef,
} from '../domain/subscription.js';
import { supportedZones } from '../domain/zones.js';
import { type ExposedError, ValidationError } from '../errors.js';
import * as templates from './subscription-templates.js';

// Compiled once, when the module loads. autoEscape is Eta's default; set anyway so it cannot drift.
const eta = new Eta({ autoEscape: true, autoTrim: [false, 'nl'], useWith: false, varName: 'it' });
eta.loadTemplate('@layout', templates.PAGE_LAYOUT);
eta.loadTemplate('@message', templates.MESSAGE);
eta.loadTemplate('@confirm', templates.CONFIRM);
eta.loadTemplate('@unsubscribe', templates.UNSUBSCRIBE);
eta.loadTemplate('@manage', templates.MANAGE);

export const CADENCE_LABELS: Record<Cadence, string> = {
  instant: 'As it happens: alerts as events happen, within a minute, grouped when they come in bursts',
  daily: 'Daily: one email a day',
  weekly: 'Weekly: one email a week',
};

/** A subscriber's delivery time with nothing left out (their choice, or the deployment's default). */
export interface DeliveryView {
  timeZone: string;
  hour: number;
  weekday: number;
  quietHours?: QuietHours;
}

/** The preferences as the pages show them, the defaults filling what was never chosen. */
export const deliveryViewOf = (
  preferences: DeliveryPreferences,
  defaults: { timeZone: string; hour: number; weekday: number },
): DeliveryView => ({
  timeZone: preferences.timeZone ?? defaults.timeZone,
  hour: preferences.deliveryHour ?? defaults.hour,
  weekday: preferences.deliveryWeekday ?? defaults.weekday,
  ...(preferences.quietHours ? { quietHours: preferences.quietHours } : {}),
});

const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const hourLabel = (hour: number): string => `${String(hour).padStart(2, '0')}:00`;

/** `a daily digest at 07:00 (Europe/Berlin)`, `alerts as events happen (quiet 22:00–07:00, Europe/Berlin)`. */
export const deliveryPhrase = (cadence: Cadence, delivery: DeliveryView): string => {
  if (cadence === 'instant') {
    const quiet = delivery.quietHours
      ? ` (quiet ${hourLabel(delivery.quietHours.from)}–${hourLabel(delivery.quietHours.to)}, ${delivery.timeZone})`
      : '';
    return `alerts as events happen${quiet}`;
  }
  const day = cadence === 'weekly' ? ` on ${WEEKDAY_NAMES[delivery.weekday]}s` : '';
  return `a ${cadence} digest${day} at ${hourLabel(delivery.hour)} (${delivery.timeZone})`;
};

const capitalized = (text: string): string => `${text[0]?.toUpperCase() ?? ''}${text.slice(1)}`;

/** The zone list is the platform's: read once. */
let zoneList: readonly string[] | undefined;

/** The manage form's delivery selects, the subscriber's values selected. */
const deliveryFields = (delivery: DeliveryView) => {
  zoneList ??= supportedZones();
  const hours = Array.from({ length: 24 }, (_, hour) => hour);
  const quiet = (chosen: number | undefined) => [
    { value: '', label: 'none', selected: chosen === undefined },
    ...hours.map((hour) => ({ value: String(hour), label: hourLabel(hour), selected: hour === chosen })),
  ];
  const zones = zoneList.includes(delivery.timeZone) ? zoneList : [delivery.timeZone, ...zoneList];
  return {
    zones: zones.map((value) => ({ value, selected: value === delivery.timeZone })),
    hours: hours.map((hour) => ({
      value: String(hour),
      label: hourLabel(hour),
      selected: hour === delivery.hour,
    })),
    weekdays: WEEKDAY_NAMES.map((label, day) => ({
      value: String(day),
      label,
      selected: day === delivery.weekday,
    })),
    quietFrom: quiet(delivery.quietHours?.from),
    quietTo: quiet(delivery.quietHours?.to),
  };
};

const homeOf = (site: SiteConfig): string => `${site.siteUrl.replace(/\/+$/, '')}/`;

const page = (site: SiteConfig, title: string, template: string, model: object): string =>
  eta.render('@layout', {
    lang: site.language,
    title: `${title} · ${site.title}`,
    siteTitle: site.title,
    home: homeOf(site),
    content: eta.render(template, model),
  });

interface Message {
  heading: string;
  paragraphs: string[];
  items?: string[];
  problems?: string[];
  links?: { href: string; label: string }[];
}

const message = (site: SiteConfig, m: Message): string =>
  page(site, m.heading, '@message', {
    heading: m.heading,
    paragraphs: m.paragraphs,
    items: m.items ?? [],
    problems: m.problems ?? [],
    links: m.links ?? [],
  });

/** `r…@example.org`: enough for the owner to recognize, little for anyone the page is forwarded to. */
export const maskEmail = (email: string): string => {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '…';
  return `${[...email.slice(0, at)][0]}…${email.slice(at)}`;
};

/** What a page lists of what a subscriber follows: the tags, then the topic labels, each marked. */
export interface FollowsModel {
  tags: readonly TagRef[];
  topics: readonly TopicRef[];
}

/** Tags by name; topic labels marked, since a label may read like a tag. */
const followedNames = (follows: FollowsModel): string[] => [
  ...follows.tags.map((t) => t.name),
  ...follows.topics.map((t) => `${t.name} (topic)`),
];

const followsNothing = (follows: FollowsModel): boolean => follows.tags.length + follows.topics.length === 0;

/**
 * The answer to a sign-up, the same whatever the address's state: it says what was asked for
 * and that a link is on its way, never whether the address was known.
 */
export const renderRequestedPage = (
  site: SiteConfig,
  request: FollowsModel & { email: string; cadence: Cadence; delivery?: DeliveryView },
): string =>
  message(site, {
    heading: 'Check your inbox',
    paragraphs: [
      `If ${request.email} can receive email, a confirmation link is on its way to it. Open it within 48 hours to start ${request.delivery ? deliveryPhrase(request.cadence, request.delivery) : `your ${request.cadence} email`} covering:`,
    ],
    items: followedNames(request),
    links: [{ href: homeOf(site), label: `Back to ${site.title}` }],
  });

/**
 * Where the pages' buttons post: the routes next to the page's own (every page is served under
 * /api/subscriptions/), so the form actions carry no token and stay within `form-action 'self'`.
 */
export const FORM_ACTIONS = {
  confirm: 'confirm',
  unsubscribe: 'unsubscribe',
  manage: 'manage',
  signOut: 'sign-out',
} as const;

/** What following a confirmation link shows: the button that confirms (the link alone changes nothing). */
export const renderConfirmPage = (
  site: SiteConfig,
  view: FollowsModel & { email: string; cadence: Cadence; delivery: DeliveryView; token: string },
): string =>
  page(site, 'Confirm your subscription', '@confirm', {
    heading: 'Confirm your subscription',
    explanation: `${capitalized(deliveryPhrase(view.cadence, view.delivery))} from ${site.title} for ${maskEmail(view.email)}, covering:`,
    follows: followedNames(view),
    button: 'Confirm my subscription',
    action: FORM_ACTIONS.confirm,
    token: view.token,
  });

/**
 * After confirming (or confirming again). `manage` must be a short-lived link (an hour): the page
 * is reached with a confirmation link, which must not turn into lasting power over the subscription.
 */
export const renderConfirmedPage = (
  site: SiteConfig,
  state: FollowsModel & { cadence: Cadence; delivery: DeliveryView; manage: string; unsubscribeAll: string },
): string =>
  message(site, {
    heading: 'You are subscribed',
    paragraphs: !followsNothing(state)
      ? [`You get ${deliveryPhrase(state.cadence, state.delivery)}, covering:`]
      : ['You follow no tags or topics at the moment, so nothing is sent.'],
    items: followedNames(state),
    links: [
      { href: state.manage, label: 'Change tags, topics or how often (this link works for an hour)' },
      { href: state.unsubscribeAll, label: 'Unsubscribe' },
      { href: homeOf(site), label: `Back to ${site.title}` },
    ],
  });

/**
 * What following an unsubscribe link shows: the button that does it (the link alone changes
 * nothing). No manage link: an unsubscribe link can only unsubscribe.
 */
export const renderUnsubscribePage = (
  site: SiteConfig,
  view: { email: string; tag?: TagRef; topic?: TopicRef; token: string },
): string => {
  const left = leftName(view);
  return page(site, 'Unsubscribe', '@unsubscribe', {
    heading: left ? `Unsubscribe from ${left}?` : 'Unsubscribe from everything?',
    explanation: left
      ? `${maskEmail(view.email)} will no longer get ${left} in its digest. Other tags and topics stay as they are; to change them, use the manage link in your latest digest.`
      : `${maskEmail(view.email)} will get no more digests from ${site.title}.`,
    button: left ? `Unsubscribe from ${left}` : 'Unsubscribe',
    action: FORM_ACTIONS.unsubscribe,
    token: view.token,
  });
};

/** `Russia`, `Armed conflicts and attacks (topic)`, or undefined (everything). */
const leftName = (scope: { tag?: TagRef; topic?: TopicRef }): string | undefined =>
  scope.tag ? scope.tag.name : scope.topic ? `${scope.topic.name} (topic)` : undefined;

/** After unsubscribing (or doing it again). No manage link, as on the page before. */
export const renderUnsubscribedPage = (
  site: SiteConfig,
  result: { tag?: TagRef; topic?: TopicRef; remaining: FollowsModel },
): string => {
  const left = leftName(result);
  return message(site, {
    heading: left ? `Unsubscribed from ${left}` : 'You are unsubscribed',
    paragraphs: left
      ? [
          !followsNothing(result.remaining)
            ? 'Your digest still covers:'
            : 'You follow no other tag or topic, so no more digests are sent.',
        ]
      : [`No more digests will be sent. To subscribe again, use the form on any tag page of ${site.title}.`],
    items: left ? followedNames(result.remaining) : [],
    links: [{ href: homeOf(site), label: `Back to ${site.title}` }],
  });
};

/** Followed ones checked, then the offered ones not followed. */
const choices = <R extends TagRef>(followed: readonly R[], offered: readonly R[]) => [
  ...followed.map((t) => ({ ...t, checked: true })),
  ...offered.filter((o) => !followed.some((t) => t.slug === o.slug)).map((t) => ({ ...t, checked: false })),
];

/** The manage form: the followed tags and topic labels checked, others to add, the cadence. */
export const renderManagePage = (
  site: SiteConfig,
  view: FollowsModel & {
    email: string;
    offered: FollowsModel;
    cadence: Cadence;
    delivery: DeliveryView;
    /** The manage token the page was opened with (its forms post it). */
    token: string;
    /** The token of an unsubscribe-from-everything link, for the leave button. */
    leaveToken: string;
    /** The subscriber's private feed. */
    feed: string;
    notice?: string;
  },
): string =>
  page(site, 'Your subscription', '@manage', {
    notice: view.notice,
    explanation: `Email for ${maskEmail(view.email)}: now ${deliveryPhrase(view.cadence, view.delivery)}. Tick the tags and topics to follow and choose how often and when.`,
    action: FORM_ACTIONS.manage,
    token: view.token,
    leave: { action: FORM_ACTIONS.unsubscribe, token: view.leaveToken },
    signOut: { action: FORM_ACTIONS.signOut },
    feed: view.feed,
    tags: choices(view.tags, view.offered.tags),
    topics: choices(view.topics, view.offered.topics),
    cadences: CADENCES.map((value) => ({
      value,
      label: CADENCE_LABELS[value],
      checked: value === view.cadence,
    })),
    delivery: deliveryFields(view.delivery),
  });

/** After "sign out all my links". */
export const renderSignedOutPage = (site: SiteConfig): string =>
  message(site, {
    heading: 'Your links are signed out',
    paragraphs: [
      'Every confirmation and manage link sent to you so far no longer works, this one included. The unsubscribe links in emails already sent still work.',
      'Your subscription itself is unchanged; your next digest brings new links.',
    ],
    links: [{ href: homeOf(site), label: `Back to ${site.title}` }],
  });

const HEADINGS: Record<number, string> = {
  400: 'That did not work',
  403: 'This link is not valid',
  404: 'Not found',
  409: 'Not possible yet',
  410: 'This link no longer works',
  413: 'Too much data',
  415: 'Unexpected form',
};

/** A 4xx as a page: what was wrong, field by field for validation errors. */
export const renderErrorPage = (site: SiteConfig, error: ExposedError): string =>
  message(site, {
    heading: HEADINGS[error.statusCode] ?? 'That did not work',
    paragraphs:
      error instanceof ValidationError ? ['Please correct the following and try again:'] : [error.message],
    problems:
      error instanceof ValidationError
        ? error.issues.map((i) => (i.path ? `${i.path}: ${i.rule}` : i.rule))
        : [],
    links: [{ href: homeOf(site), label: `Back to ${site.title}` }],
  });

/** A sign-up form posted from another site: refused, with the way to the site's own form. */
export const renderCrossSitePage = (site: SiteConfig, reason: string): string =>
  message(site, {
    heading: 'Sign up on this site',
    paragraphs: [
      `This sign-up came from a page of another site, so it was not accepted: subscribe with the form on ${site.title} instead.`,
    ],
    problems: [reason],
    links: [{ href: homeOf(site), label: `Go to ${site.title}` }],
  });
