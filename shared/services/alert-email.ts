import type { OutgoingEmail } from '../adapters/mailer.js';
import type { Alert } from '../domain/alerts.js';
import { subscriberLinks } from '../domain/tokens.js';
import { listUnsubscribeHeaders, renderAlertEmail } from '../render/emails.js';
import type { DigestEmailSettings } from './digest-email.js';

/** Turns an alert into the email its subscriber gets: the digest's signed links and RFC 8058 headers. */
export const alertComposer =
  (settings: DigestEmailSettings) =>
  async (alert: Alert): Promise<OutgoingEmail> => {
    const keys = await settings.tokenSecret();
    const links = subscriberLinks(
      keys,
      settings.site.siteUrl,
      alert.subscriber,
      Math.floor(settings.now() / 1000),
    );
    return {
      to: alert.subscriber.email,
      from: settings.from,
      ...renderAlertEmail(alert, settings.site, links),
      headers: listUnsubscribeHeaders(links),
    };
  };
