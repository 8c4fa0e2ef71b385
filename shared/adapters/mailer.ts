/** One email, ready to send: both parts and any extra headers (List-Unsubscribe and the like). */
export interface OutgoingEmail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  headers?: Record<string, string>;
}

/** Where email goes: SES v2 in AWS, `.eml` files in the outbox folder locally. */
export interface Mailer {
  /** Sends one message. Throws `MailerThrottledError` when the service asks to slow down. */
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
}

/** The sending service refused for rate: the same message may be retried after a pause. */
export class MailerThrottledError extends Error {
  constructor(message = 'sending rate exceeded') {
    super(message);
    this.name = 'MailerThrottledError';
  }
}
