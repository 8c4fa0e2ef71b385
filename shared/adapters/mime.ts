/**
 * RFC 5322 messages from an `OutgoingEmail`: a multipart/alternative of a text/plain and a
 * text/html part, UTF-8. Both mailers send exactly these bytes: SES as raw content, the outbox
 * as `.eml` files.
 *
 * Headers and base64 are nodemailer's (RFC 2047 encoded words, header folding, base64), the same
 * functions its MailComposer runs. MailComposer itself is not used: it always brings nodemailer's
 * file-type table and URL fetcher along, 135 KB of a minified bundle, which would push the
 * functions that send mail past their size budget; these functions add under 5 KB.
 * Quoted-printable bodies are quoted-printable.ts's: a digest run composes thousands of 60 KB
 * parts, and nodemailer's encoder took most of its time.
 */
import { randomUUID } from 'node:crypto';
import { domainToASCII } from 'node:url';
import * as base64 from 'nodemailer/lib/base64';
import { encodeWords, foldLines } from 'nodemailer/lib/mime-funcs';
import type { OutgoingEmail } from './mailer.js';
import { encodeCountingOther } from './quoted-printable.js';

export interface ComposeOptions {
  /** The Date header (default: now). */
  date?: Date;
  /** The Message-ID header without angle brackets (default: a random id at the sender's domain). */
  messageId?: string;
}

/** A header name or value that could end its line early and start a header of its own, or an address that is none. */
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
// `Display Name <local@domain>` or `local@domain`.
const MAILBOX = /^\s*(?:(?<name>[^<>]*?)\s*<(?<angle>[^<>\s]+)>|(?<bare>[^<>\s]+))\s*$/;
const ADDR_SPEC = /^(?<local>[^@\s<>()[\]\\,;:"]+)@(?<domain>[^@\s<>()[\]\\,;:"]+)$/;
const MESSAGE_ID = /^[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+$/;

const checkValue = (field: string, value: string, pattern: RegExp): void => {
  if (pattern.test(value))
    throw new UnsafeHeaderError(field, 'must not contain CR, LF or other control characters');
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

// Runs of what the rule below counts as neither: ASCII but the controls other than tab, LF and CR.
const NEITHER_RUNS = /[\t\n\r\x20-\x7f]+/g;
const LATIN_LETTER = /[A-Za-z]/g;

/**
 * Q (quoted-printable) for text that is mostly Latin letters, B (base64) otherwise: nodemailer's
 * rule, which keeps the encoded form short and a raw message readable. "Other" is every UTF-16
 * unit from U+0080 up and every control but tab, LF and CR. Counted with regular expressions, and
 * the letters only until they outnumber the rest: a 60 KB part is decided in a fraction of the
 * time a loop over every character takes.
 */
const preferredEncoding = (value: string): 'Q' | 'B' =>
  latinOutnumbers(value, value.replace(NEITHER_RUNS, '').length) ? 'Q' : 'B';

/** Whether `value` holds more Latin letters than `other`, counted only until it does. */
const latinOutnumbers = (value: string, other: number): boolean => {
  let latin = 0;
  LATIN_LETTER.lastIndex = 0;
  while (latin <= other && LATIN_LETTER.test(value)) latin++;
  return other < latin;
};

/** Unstructured text (RFC 5322 3.2.5) as encoded words where it is not ASCII. */
const headerText = (value: string): string => encodeWords(value, preferredEncoding(value), 52, true);

interface Mailbox {
  name: string;
  address: string;
}

/**
 * domainToASCII, remembered: it costs some 35 µs a call, twice an email, and a run's mail goes to
 * few distinct domains (the sender's, the big providers'). Cleared when full, so it stays small.
 */
const asciiDomains = new Map<string, string>();
const asciiDomainOf = (domain: string): string => {
  let ascii = asciiDomains.get(domain);
  if (ascii === undefined) {
    if (asciiDomains.size >= 1_000) asciiDomains.clear();
    ascii = domainToASCII(domain);
    asciiDomains.set(domain, ascii);
  }
  return ascii;
};

const parseMailbox = (field: string, value: string): Mailbox => {
  const groups = MAILBOX.exec(value)?.groups;
  const address = groups?.angle ?? groups?.bare ?? '';
  const parts = ADDR_SPEC.exec(address)?.groups;
  // Internationalized domains travel as punycode; an empty answer means the domain is not one.
  const domain = parts ? asciiDomainOf(parts.domain ?? '') : '';
  if (!parts || domain === '')
    throw new UnsafeHeaderError(
      field,
      'must be an address such as reader@example.org or Name <reader@example.org>',
    );
  const name = (groups?.name ?? '').replace(/^"(.*)"$/, '$1').trim();
  return { name, address: `${parts.local}@${domain}` };
};

/** `Name <address>` with the name as an atom, a quoted string or encoded words, as it needs. */
const formatMailbox = ({ name, address }: Mailbox): string => {
  if (name === '') return address;
  if (/^[\w ]*$/.test(name)) return `${name} <${address}>`;
  if (/^[\x20-\x7e]*$/.test(name)) return `"${name.replace(/["\\]/g, '\\$&')}" <${address}>`;
  return `${encodeWords(name, preferredEncoding(name), 52, true)} <${address}>`;
};

/** Every line break as CRLF, the form base64 encodes. */
const crlfLines = (text: string): string =>
  text.includes('\r') ? text.replace(/\r\n|\r|\n/g, '\r\n') : text.replaceAll('\n', '\r\n');

/**
 * One body part, its header lines and body: UTF-8 text, lines ending CRLF, quoted-printable or
 * base64 by the same rule as headers. Mostly-Latin text stays quoted-printable, HTML included: spam
 * filters count base64 text parts against a message, and the raw message stays readable.
 */
const bodyPart = (type: 'text/plain' | 'text/html', content: string): Buffer[] => {
  // Encoded as quoted-printable first: the encoder counts the characters that are "other" to the
  // rule as it meets them, which leaves only the letters to count (text that then goes as base64,
  // mostly not Latin, is rare in a digest). Line breaks count neither way.
  const { encoded, other } = encodeCountingOther(content, { lineBreaks: 'any' });
  const encoding = latinOutnumbers(content, other) ? 'quoted-printable' : 'base64';
  const body =
    encoding === 'base64'
      ? Buffer.from(base64.wrap(base64.encode(crlfLines(content)), 76), 'latin1')
      : encoded;
  const head = `Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n`;
  return [Buffer.from(head, 'latin1'), body];
};

/** `Sat, 28 Nov 2026 05:52:41 +0000`. */
const rfc5322Date = (date: Date): string => date.toUTCString().replace(/GMT$/, '+0000');

/**
 * The message as a multipart/alternative of text/plain and text/html (the richer part last, as
 * RFC 2046 orders them), with From, To, Subject, Date, Message-ID, MIME-Version and the email's
 * extra headers. Throws `UnsafeHeaderError` for CR, LF or other controls in any header.
 */
export const composeMessage = async (email: OutgoingEmail, options: ComposeOptions = {}): Promise<Buffer> => {
  assertSafeHeaders(email);
  const from = parseMailbox('from', email.from);
  const to = parseMailbox('to', email.to);
  const messageId =
    options.messageId ?? `${randomUUID()}@${from.address.slice(from.address.lastIndexOf('@') + 1)}`;
  if (!MESSAGE_ID.test(messageId))
    throw new UnsafeHeaderError(
      'messageId',
      'must be id-left@id-right in printable ASCII without <, > or spaces',
    );
  // "=_" never appears in quoted-printable (every "=" starts an escape) or base64 output.
  // randomUUID draws from a pool it refills now and then; randomBytes would ask OpenSSL every time.
  const boundary = `=_tidings_${randomUUID().replaceAll('-', '')}`;

  const headers: [string, string][] = [
    ['From', formatMailbox(from)],
    ['To', formatMailbox(to)],
    ['Subject', headerText(email.subject)],
    ['Date', rfc5322Date(options.date ?? new Date())],
    ['Message-ID', `<${messageId}>`],
    ['MIME-Version', '1.0'],
    ...Object.entries(email.headers ?? {}).map(([name, value]): [string, string] => [
      name,
      headerText(value),
    ]),
    ['Content-Type', `multipart/alternative; boundary="${boundary}"`],
  ];
  const head = [
    ...headers.map(([name, value]) => foldLines(`${name}: ${value}`, 76)),
    '',
    `--${boundary}`,
    '',
  ];
  // The parts are written as bytes and joined once, never as one large string.
  return Buffer.concat([
    Buffer.from(head.join('\r\n'), 'utf8'),
    ...bodyPart('text/plain', email.text),
    Buffer.from(`\r\n--${boundary}\r\n`, 'latin1'),
    ...bodyPart('text/html', email.html),
    Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'),
  ]);
};
