import type { OutgoingEmail } from '../adapters/mailer.js';
import type { TokenSecret } from '../adapters/token-secret.js';
import type { Digest } from '../domain/digest.js';
import type { SiteConfig } from '../domain/site.js';
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

/** Turns a digest into the email its subscriber gets: both parts, personal signed links, RFC 8058 headers. */
export const digestComposer =
  (settings: DigestEmailSettings) =>
  async (digest: Digest): Promise<OutgoingEmail> => {
    const keys = await settings.tokenSecret();
    // Manage links for 60 days, unsubscribe links for a year (shared/domain/tokens.ts).
    const links = subscriberLinks(
      keys,
      settings.site.siteUrl,
      digest.subscriber,
      Math.floor(settings.now() / 1000),
    );
    return {
      to: digest.subscriber.email,
      from: settings.from,
      ...renderDigestEmail(digest, settings.site, links, settings.timeZone),
      headers: listUnsubscribeHeaders(links),
    };
  };
