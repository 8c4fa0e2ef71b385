/**
 * RFC 5322 messages from an `OutgoingEmail`, composed by nodemailer's MailComposer (MIME tree,
 * RFC 2047 encoded words for non-ASCII headers, quoted-printable or base64 bodies as it chooses,
 * line folding). Both mailers send exactly these bytes: SES as raw content, the outbox as `.eml`.
 */
import { randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { OutgoingEmail } from './mailer.js';

export interface ComposeOptions {
  /** The Date header (default: now). */
  date?: Date;
  /** The Message-ID header without angle brackets (default: a random id at the sender's domain). */
  messageId?: string;
}

/** A header name or value that could end its line early and start a header of its own. */
export class UnsafeHeaderError extends Error {
  constructor(
    readonly field: string,
    rule: string,
  ) {
    super(`${field}: ${rule}`);
    this.name = 'UnsafeHeaderError';
  }
}

// Everything the composer writes itself; an extra header of one of these names would contradict it.
const COMPOSED_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'sender',
  'subject',
  'date',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
]);

// RFC 5322 field names: printable ASCII except the colon.
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
// CR and LF end a header line; the other controls (tab aside) have no place in one either.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE_ADDRESS = /[\u0000-\u001f\u007f]/;

const checkValue = (field: string, value: string, pattern: RegExp): void => {
  if (pattern.test(value))
    throw new UnsafeHeaderError(field, 'must not contain CR, LF or other control characters');
};

/** The domain of the sender's address (`Tidings <news@example.org>` → `example.org`). */
const senderDomain = (from: string): string => {
  const address = /<([^<>]*)>\s*$/.exec(from)?.[1] ?? from;
  const at = address.lastIndexOf('@');
  const domain = at >= 0 ? address.slice(at + 1).trim() : '';
  return /^[A-Za-z0-9.-]+$/.test(domain) ? domain : 'localhost';
};

/** Throws `UnsafeHeaderError` unless every address, the subject and each extra header fits on its line. */
export const assertSafeHeaders = (email: OutgoingEmail): void => {
  checkValue('from', email.from, UNSAFE_ADDRESS);
  checkValue('to', email.to, UNSAFE_ADDRESS);
  checkValue('subject', email.subject, UNSAFE_VALUE);
  for (const [name, value] of Object.entries(email.headers ?? {})) {
    if (!FIELD_NAME.test(name))
      throw new UnsafeHeaderError(`headers.${name}`, 'a header name is printable ASCII without ":"');
    if (COMPOSED_HEADERS.has(name.toLowerCase()))
      throw new UnsafeHeaderError(`headers.${name}`, 'is written by the composer and cannot be given');
    checkValue(`headers.${name}`, value, UNSAFE_VALUE);
  }
};

/**
 * The message as a multipart/alternative of text/plain and text/html, UTF-8, with From, To,
 * Subject, Date, Message-ID, MIME-Version and the email's extra headers.
 */
export const composeMessage = (email: OutgoingEmail, options: ComposeOptions = {}): Promise<Buffer> => {
  assertSafeHeaders(email);
  const composer = new MailComposer({
    from: email.from,
    to: email.to,
    subject: email.subject,
    text: email.text,
    html: email.html,
    headers: email.headers ?? {},
    date: options.date ?? new Date(),
    messageId: `<${options.messageId ?? `${randomUUID()}@${senderDomain(email.from)}`}>`,
    // Content is always given inline: never let a value be read as a file path or a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
};
