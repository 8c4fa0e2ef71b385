import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOutbox, makeOutboxMailer, outboxFiles } from '../../local/outbox.js';
import type { OutgoingEmail } from '../../shared/adapters/mailer.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

const email = (n: number, overrides: Partial<OutgoingEmail> = {}): OutgoingEmail => ({
  from: 'Tidings <news@localhost>',
  to: `reader${n}@example.com`,
  subject: `Message ${n}`,
  text: `Text ${n}\n`,
  html: `<p>HTML ${n}</p>`,
  headers: {
    'List-Unsubscribe': `<http://localhost/api/subscriptions/unsubscribe?token=t${n}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  },
  ...overrides,
});

const fixedClock = (iso: string) => () => new Date(iso);

describe('makeOutboxMailer', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tidings-outbox-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes each message as an .eml file named by time and number that parses back whole', async () => {
    const out = join(dir, 'one');
    const mailer = makeOutboxMailer(out, { now: fixedClock('2026-11-02T06:00:00.123Z') });
    const { messageId } = await mailer.send(email(1, { subject: 'Zürich 🇨🇭: 2 new events' }));
    expect(readdirSync(out)).toEqual(['20261102T060000123Z-000001.eml']);
    const mail = await simpleParser(readFileSync(join(out, '20261102T060000123Z-000001.eml')));
    expect(mail.messageId).toBe(`<${messageId}>`);
    expect(mail.subject).toBe('Zürich 🇨🇭: 2 new events');
    expect(mail.text).toBe('Text 1\n');
    expect(mail.html).toBe('<p>HTML 1</p>');
    expect(mail.date?.toISOString()).toBe('2026-11-02T06:00:00.000Z');
  });

  it('never overwrites: concurrent sends and a second writer on the same folder each get a file', async () => {
    const out = join(dir, 'many');
    const clock = fixedClock('2026-11-02T06:00:00.000Z');
    // Two mailers stand for two processes (the server and `npm run digest`): both count from 1.
    const a = makeOutboxMailer(out, { now: clock });
    const b = makeOutboxMailer(out, { now: clock });
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).send(email(i))));
    const files = readdirSync(out);
    expect(files).toHaveLength(40);
    expect(files.every((f) => /^20261102T060000000Z-\d{6}\.eml$/.test(f))).toBe(true);
    const recipients = (await listOutbox(out)).map((m) => m.to).sort();
    expect(recipients).toEqual(Array.from({ length: 40 }, (_, i) => `reader${i}@example.com`).sort());
  });

  it('lists messages newest first with their headers', async () => {
    const out = join(dir, 'order');
    let t = Date.parse('2026-11-02T06:00:00.000Z');
    const mailer = makeOutboxMailer(out, { now: () => new Date(t) });
    for (const n of [1, 2, 3]) {
      await mailer.send(email(n));
      t += 1000;
    }
    const messages = await listOutbox(out);
    expect(messages.map((m) => m.subject)).toEqual(['Message 3', 'Message 2', 'Message 1']);
    expect(messages[0]?.headers['list-unsubscribe']).toBe(
      '<http://localhost/api/subscriptions/unsubscribe?token=t3>',
    );
    expect(messages[0]?.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(await outboxFiles(join(dir, 'missing'))).toEqual([]);
  });

  it('writes nothing for a message it refuses', async () => {
    const out = join(dir, 'refused');
    const mailer = makeOutboxMailer(out);
    await expect(mailer.send(email(1, { to: 'a@example.com\r\nBcc: b@example.com' }))).rejects.toThrow(
      'to: must not',
    );
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('the outbox page of the local runtime', () => {
  let runtime: TestRuntime;
  beforeAll(async () => {
    runtime = await startTestRuntime();
    await runtime.mailer.send(email(1));
    await runtime.mailer.send(
      email(2, {
        subject: '<script>alert(1)</script> & 🎉 news',
        to: 'zoe@example.com',
        html: '<p>Preview &amp; <a href="http://localhost/x">link</a></p><script>alert(2)</script>',
        text: 'Plain & simple\n',
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await runtime?.dispose();
  });

  it('keeps the messages in <data>/outbox', () => {
    expect(runtime.outboxDir).toBe(join(runtime.dataDir, 'outbox'));
    expect(readdirSync(runtime.outboxDir).filter((f) => f.endsWith('.eml'))).toHaveLength(2);
  });

  it('lists them newest first, escaped, with links to each message', async () => {
    const res = await runtime.request('/local/outbox');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).not.toContain('<script>alert(1)');
    const newest = html.indexOf('&lt;script&gt;alert(1)&lt;/script&gt; &amp; 🎉 news');
    const oldest = html.indexOf('Message 1');
    expect(newest).toBeGreaterThan(0);
    expect(oldest).toBeGreaterThan(newest);
    expect(html).toContain('zoe@example.com');
    const [first] = await listOutbox(runtime.outboxDir);
    const base = `/local/outbox/${first?.file.replace(/\.eml$/, '')}`;
    expect(html).toContain(`href="${base}.html"`);
    expect(html).toContain(`href="${base}.txt"`);
    expect(html).toContain(`href="${base}.eml"`);
  });

  it('serves each message raw, its HTML part sandboxed and its text part', async () => {
    const [first] = await listOutbox(runtime.outboxDir);
    const base = `/local/outbox/${first?.file.replace(/\.eml$/, '')}`;

    const raw = await runtime.request(`${base}.eml`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('message/rfc822');
    const bytes = Buffer.from(await raw.arrayBuffer());
    expect(bytes.equals(readFileSync(join(runtime.outboxDir, first?.file ?? '')))).toBe(true);

    const preview = await runtime.request(`${base}.html`);
    expect(preview.status).toBe(200);
    expect(preview.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(preview.headers.get('content-security-policy')).toMatch(/^sandbox .*default-src 'none'/);
    expect(await preview.text()).toBe(
      '<p>Preview &amp; <a href="http://localhost/x">link</a></p><script>alert(2)</script>',
    );

    const text = await runtime.request(`${base}.txt`);
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await text.text()).toBe('Plain & simple\n');
  });

  it('answers 404 for a message that is not there or a path outside the outbox', async () => {
    for (const path of [
      '/local/outbox/20990101T000000000Z-000001.eml',
      '/local/outbox/../api-key',
      '/local/outbox/%2e%2e%2fapi-key',
      '/local/outbox/x.eml',
    ]) {
      const res = await runtime.request(path);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('tdg_');
    }
  });
});
