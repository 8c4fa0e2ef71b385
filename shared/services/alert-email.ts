import type { OutgoingEmail } from '../adapters/mailer.js';
import type { Alert } from '../domain/alerts.js';
import { renderAlertEmail } from '../render/emails.js';
import { type DigestEmailSettings, emailTo } from './digest-email.js';

/** Turns an alert into the email its subscriber gets: the digest's signed links and RFC 8058 headers. */
export const alertComposer =
  (settings: DigestEmailSettings) =>
  (alert: Alert): Promise<OutgoingEmail> =>
    emailTo(settings, alert.subscriber, (links) => renderAlertEmail(alert, settings.site, links));
