import type { SubscriberLinks } from '../domain/digest.js';
import type { SiteConfig } from '../domain/site.js';
import type { Cadence, TagRef, TopicRef } from '../domain/subscription.js';
import { listUnsubscribeHeaders, type RenderedEmail, renderNoticeEmail } from './emails.js';
import { type DeliveryView, deliveryPhrase } from './subscription-pages.js';

export interface ConfirmationEmail extends RenderedEmail {
  headers: Record<string, string>;
}

/** `2026-01-03 14:05 UTC`. */
const utcMinute = (seconds: number): string => {
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
};

/**
 * The double opt-in email: what was asked for, the link that confirms it (and when it stops
 * working), and a way out for someone who never asked. Like every email, it carries the
 * List-Unsubscribe headers.
 */
export const renderConfirmationEmail = (
  site: SiteConfig,
  request: {
    tags: readonly TagRef[];
    topics: readonly TopicRef[];
    cadence: Cadence;
    /** The delivery time asked for (or the default), said in the email. */
    delivery?: DeliveryView;
    confirmUrl: string;
    /** Epoch seconds. */
    expiresAt: number;
    links: SubscriberLinks;
  },
): ConfirmationEmail => {
  const names = [...request.tags, ...request.topics].map((t) => t.name);
  const shown =
    names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
  const what =
    request.cadence === 'instant' ? `${site.title} alerts` : `${request.cadence} ${site.title} digest`;
  const asked = request.delivery
    ? deliveryPhrase(request.cadence, request.delivery)
    : request.cadence === 'instant'
      ? 'alerts as events happen'
      : `a ${request.cadence} digest`;
  const rendered = renderNoticeEmail(site, {
    subject: `Confirm your ${what}: ${shown}`,
    heading: 'Confirm your subscription',
    paragraphs: [
      `Someone, we hope you, asked for ${asked} from ${site.title} (${site.siteUrl}) to be sent to this address, covering:`,
    ],
    items: names,
    action: { label: 'Confirm my subscription', url: request.confirmUrl },
    footer: [
      `The confirmation link works until ${utcMinute(request.expiresAt)}.`,
      'If you did not ask for this, ignore this email: nothing more is sent unless the link is opened.',
    ],
    footerLinks: [{ label: 'I did not ask for this: unsubscribe', url: request.links.unsubscribeAll }],
  });
  return { ...rendered, headers: listUnsubscribeHeaders(request.links) };
};
