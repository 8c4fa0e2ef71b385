/**
 * The local stand-in for SES: every message, composed exactly as SES would get it, written to
 * `<data>/outbox/` as an `.eml` file that any mail program opens, and listed at `/local/outbox`.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { link, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Eta } from 'eta/core';
import { type AddressObject, simpleParser } from 'mailparser';
import type { Mailer } from '../shared/adapters/mailer.js';
import { composeMessage } from '../shared/adapters/mime.js';

export const OUTBOX_PATH = '/local/outbox';

/** The newest messages the page lists; the folder keeps them all. */
const PAGE_LIMIT = 200;

const FILE_NAME = /^\d{8}T\d{9}Z-\d{6}\.eml$/;

export interface OutboxMailerOptions {
  now?: () => Date;
}

/** `2026-01-02T06:00:00.123Z` → `20260102T060000123Z`: file names sort by time. */
const stamp = (date: Date): string => date.toISOString().replace(/[-:.]/g, '');

/**
 * A mailer that writes `<dir>/<timestamp>-<n>.eml`. Each file appears whole (written to a temporary
 * name, then linked into place), and never replaces another: a name already taken, by this process
 * or another one writing to the same folder, moves on to the next number.
 */
export const makeOutboxMailer = (dir: string, options: OutboxMailerOptions = {}): Mailer => {
  const now = options.now ?? (() => new Date());
  // Owner-only: messages carry subscribers' addresses and their link tokens.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let counter = 0;
  return {
    async send(email) {
      const date = now();
      const messageId = `${randomUUID()}@outbox.localhost`;
      const raw = await composeMessage(email, { date, messageId });
      const temp = join(dir, `.${randomUUID()}.tmp`);
      await writeFile(temp, raw, { mode: 0o600 });
      try {
        for (;;) {
          counter = (counter % 999_999) + 1;
          const file = join(dir, `${stamp(date)}-${String(counter).padStart(6, '0')}.eml`);
          try {
            await link(temp, file);
            return { messageId };
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          }
        }
      } finally {
        await unlink(temp).catch(() => undefined);
      }
    },
  };
};

/** One message in the outbox, as a person or a test reads it. */
export interface OutboxMessage {
  /** The file name, `<timestamp>-<n>.eml`. */
  file: string;
  path: string;
  subject: string;
  from: string;
  to: string;
  date?: Date;
  messageId?: string;
  text: string;
  html: string;
  /** Every header, names in lower case (`list-unsubscribe`, `list-unsubscribe-post`…), values as written. */
  headers: Record<string, string>;
  raw: Buffer;
}

const addressText = (value: AddressObject | AddressObject[] | undefined): string =>
  [value ?? []]
    .flat()
    .map((a) => a.text)
    .join(', ');

/** Reads one `.eml` file back with a MIME parser. */
export const readOutboxMessage = async (dir: string, file: string): Promise<OutboxMessage> => {
  const path = join(dir, file);
  const raw = await readFile(path);
  const mail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
  const headers: Record<string, string> = {};
  for (const { key, line } of mail.headerLines) {
    if (!(key in headers))
      headers[key] = line
        .slice(line.indexOf(':') + 1)
        .replace(/\r?\n[ \t]+/g, ' ')
        .trim();
  }
  const message: OutboxMessage = {
    file,
    path,
    subject: mail.subject ?? '',
    from: addressText(mail.from),
    to: addressText(mail.to),
    text: mail.text ?? '',
    html: typeof mail.html === 'string' ? mail.html : '',
    headers,
    raw,
  };
  if (mail.date) message.date = mail.date;
  if (mail.messageId) message.messageId = mail.messageId;
  return message;
};

/** The outbox's `.eml` file names, newest first. */
export const outboxFiles = async (dir: string): Promise<string[]> => {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return names.filter((name) => FILE_NAME.test(name)).sort((a, b) => b.localeCompare(a));
};

/** Every message in the outbox, newest first, parsed. */
export const listOutbox = async (dir: string, limit = Number.POSITIVE_INFINITY): Promise<OutboxMessage[]> => {
  const files = (await outboxFiles(dir)).slice(0, limit);
  return Promise.all(files.map((file) => readOutboxMessage(dir, file)));
};

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outbox · Tidings (local)</title>
<style>
:root{color-scheme:light dark}
body{margin:0 auto;max-width:60rem;padding:0 1rem 2rem;font:1rem/1.5 system-ui,sans-serif}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #8884;vertical-align:top}
.meta{color:#888;font-size:.9rem}
</style>
</head>
<body>
<h1>Outbox</h1>
<p class="meta">What Tidings sent while running locally: one <code>.eml</code> file per message in <code><%= it.dir %></code>, newest first.<%= it.more %></p>
<% if (it.messages.length === 0) { %>
<p>No messages yet.</p>
<% } else { %>
<table>
<thead><tr><th>Date</th><th>To</th><th>Subject</th><th>Open</th></tr></thead>
<tbody>
<% for (const m of it.messages) { %>
<tr>
<td><time datetime="<%= m.iso %>"><%= m.when %></time></td>
<td><%= m.to %></td>
<td><a href="<%= m.preview %>"><%= m.subject %></a></td>
<td><a href="<%= m.preview %>">HTML</a> · <a href="<%= m.textUrl %>">text</a> · <a href="<%= m.rawUrl %>" download="<%= m.file %>">.eml</a></td>
</tr>
<% } %>
</tbody>
</table>
<% } %>
</body>
</html>
`;

const eta = new Eta({ autoEscape: true, autoTrim: [false, 'nl'], useWith: false, varName: 'it' });
eta.loadTemplate('@outbox', PAGE);

const MESSAGE_PATH = new RegExp(`^${OUTBOX_PATH}/(\\d{8}T\\d{9}Z-\\d{6})\\.(eml|html|txt)$`);

// The preview shows the HTML part as a mail program would: no scripts, no forms, nothing loaded
// from elsewhere but images; its links still lead to the local site (confirm, unsubscribe).
const PREVIEW_POLICY =
  "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation; default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'";

const answer = (res: ServerResponse, status: number, type: string, body: string | Buffer, extra = {}) => {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...extra,
  });
  res.end(body);
};

/**
 * `GET /local/outbox`: the list; `/local/outbox/<name>.eml` the message as sent,
 * `.html` its HTML part, `.txt` its plain-text part. Returns false for any other request.
 */
export const serveOutbox =
  (dir: string) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname === OUTBOX_PATH || pathname === `${OUTBOX_PATH}/`) {
      const files = await outboxFiles(dir);
      const messages = await listOutbox(dir, PAGE_LIMIT);
      const html = eta.render('@outbox', {
        dir,
        more: files.length > PAGE_LIMIT ? ` The ${PAGE_LIMIT} newest of ${files.length} are listed.` : '',
        messages: messages.map((m) => {
          const base = `${OUTBOX_PATH}/${m.file.replace(/\.eml$/, '')}`;
          return {
            file: m.file,
            iso: m.date?.toISOString() ?? '',
            when: m.date ? m.date.toISOString().replace('T', ' ').slice(0, 19) : '',
            to: m.to,
            subject: m.subject || '(no subject)',
            preview: `${base}.html`,
            textUrl: `${base}.txt`,
            rawUrl: `${base}.eml`,
          };
        }),
      });
      answer(res, 200, 'text/html; charset=utf-8', req.method === 'HEAD' ? '' : html);
      return true;
    }
    const match = MESSAGE_PATH.exec(pathname);
    if (!match) return false;
    const file = `${match[1]}.eml`;
    const message = await readOutboxMessage(dir, file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (!message) return false;
    const body = (data: string | Buffer) => (req.method === 'HEAD' ? '' : data);
    if (match[2] === 'eml') answer(res, 200, 'message/rfc822', body(message.raw));
    else if (match[2] === 'txt') answer(res, 200, 'text/plain; charset=utf-8', body(message.text));
    else
      answer(res, 200, 'text/html; charset=utf-8', body(message.html), {
        'content-security-policy': PREVIEW_POLICY,
      });
    return true;
  };
