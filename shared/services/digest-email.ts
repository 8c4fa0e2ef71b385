import type { OutgoingEmail } from '../adapters/mailer.js';
import type { TokenSecret } from '../adapters/token-secret.js';
import type { Digest, SubscriberLinks } from '../domain/digest.js';
import type { SiteConfig } from '../domain/site.js';
import type { Subscriber } from '../domain/subscription.js';
import { subscriberLinks } from '../domain/tokens.js';
import { listUnsubscribeHeaders, renderDigestEmail } from '../render/emails.js';

export interface DigestEmailSettings {
  site: SiteConfig;
  from: string;
  tokenSecret: TokenSecret;
  now: () => number;
  /** The zone a window is shown in for subscribers who have not chosen one (DEFAULT_TIME_ZONE; UTC if absent). */
  timeZone?: string;
}

/**
 * The email one subscriber gets, rendered by `render` with their personal signed links (manage
 * for 60 days, unsubscribe for a year: shared/domain/tokens.ts) and the RFC 8058 headers.
 */
export const emailTo = async (
  settings: DigestEmailSettings,
  subscriber: Subscriber,
  render: (links: SubscriberLinks) => { subject: string; text: string; html: string },
): Promise<OutgoingEmail> => {
  const keys = await settings.tokenSecret();
  const links = subscriberLinks(keys, settings.site.siteUrl, subscriber, Math.floor(settings.now() / 1000));
  return {
    to: subscriber.email,
    from: settings.from,
    ...render(links),
    headers: listUnsubscribeHeaders(links),
  };
};

/** Turns a digest into the email its subscriber gets: both parts, personal signed links, RFC 8058 headers. */
export const digestComposer =
  (settings: DigestEmailSettings) =>
  (digest: Digest): Promise<OutgoingEmail> =>
    emailTo(settings, digest.subscriber, (links) =>
      renderDigestEmail(digest, settings.site, links, settings.timeZone),
    );
