import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import type { OutgoingEmail } from '../../../shared/adapters/mailer.js';
import { composeMessage, UnsafeHeaderError } from '../../../shared/adapters/mime.js';

const ONE_CLICK = `https://news.example.org/api/subscriptions/unsubscribe?token=${'x'.repeat(160)}.${'y'.repeat(43)}`;

const email = (overrides: Partial<OutgoingEmail> = {}): OutgoingEmail => ({
  from: 'Tidings <news@example.org>',
  to: 'reader@example.com',
  subject: '3 new events: Syria, Russia',
  text: 'Plain part.\nhttps://news.example.org/news/2016/11/16/a.html\n',
  html: '<p>HTML part.</p>',
  headers: { 'List-Unsubscribe': `<${ONE_CLICK}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  ...overrides,
});

/** Header lines as written, unfolded (RFC 5322 2.2.3), names in lower case. */
const rawHeaders = (raw: Buffer): Map<string, string[]> => {
  const head = raw.toString('latin1').split('\r\n\r\n')[0] ?? '';
  const map = new Map<string, string[]>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const at = line.indexOf(':');
    const name = line.slice(0, at).toLowerCase();
    map.set(name, [...(map.get(name) ?? []), line.slice(at + 1).trim()]);
  }
  return map;
};

describe('composeMessage', () => {
  it('writes a multipart/alternative message that parses back with both parts and every header', async () => {
    const date = new Date('2026-11-02T06:00:00.000Z');
    const raw = await composeMessage(email(), { date, messageId: 'abc-123@example.org' });
    const mail = await simpleParser(raw);
    expect(mail.from?.value).toEqual([{ name: 'Tidings', address: 'news@example.org' }]);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : undefined).toBe(
      'reader@example.com',
    );
    expect(mail.subject).toBe('3 new events: Syria, Russia');
    expect(mail.date?.toISOString()).toBe(date.toISOString());
    expect(mail.messageId).toBe('<abc-123@example.org>');
    expect(mail.text).toBe('Plain part.\nhttps://news.example.org/news/2016/11/16/a.html\n');
    expect(mail.html).toBe('<p>HTML part.</p>');

    const headers = rawHeaders(raw);
    expect(headers.get('mime-version')).toEqual(['1.0']);
    expect(headers.get('content-type')?.[0]).toMatch(/^multipart\/alternative; boundary=/);
    // The one-click URL survives whole, however long, and each list header appears once.
    expect(headers.get('list-unsubscribe')).toEqual([`<${ONE_CLICK}>`]);
    expect(headers.get('list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
    // Both parts are UTF-8 text, in this order (the last is the preferred one).
    const parts = raw.toString('latin1').match(/Content-Type: text\/(plain|html); charset=utf-8/g);
    expect(parts).toEqual([
      'Content-Type: text/plain; charset=utf-8',
      'Content-Type: text/html; charset=utf-8',
    ]);
    // Every line fits RFC 5322's limit of 998 octets.
    for (const line of raw.toString('latin1').split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
  });

  it.each([
    ['emoji', '🎉 2 new events: Syria 🇸🇾, Zürich'],
    ['accents', 'Île-de-France, Łódź, São Paulo: 12 nouveaux événements'],
    ['CJK and RTL', '東京 · القاهرة · 3 new events'],
    ['long non-ASCII', `Überblick: ${'Ärger über Öl und Süßes, '.repeat(8)}`],
  ])('encodes a subject with %s as RFC 2047 words and reads back as written', async (_, subject) => {
    const raw = await composeMessage(email({ subject, text: `${subject}\n`, html: `<p>${subject}</p>` }));
    const head = raw.toString('latin1').split('\r\n\r\n')[0] ?? '';
    // The header block itself is plain ASCII: non-ASCII travels as encoded words.
    expect(/^[\x20-\x7e\r\n\t]*$/.test(head)).toBe(true);
    expect(head).toMatch(/Subject: =\?UTF-8\?[QB]\?/);
    const mail = await simpleParser(raw);
    expect(mail.subject).toBe(subject);
    expect(mail.text).toBe(`${subject}\n`);
    expect(mail.html).toBe(`<p>${subject}</p>`);
  });

  it('gives each message its own Message-ID at the sender domain and a Date by default', async () => {
    const [a, b] = await Promise.all([composeMessage(email()), composeMessage(email())]);
    const [ma, mb] = await Promise.all([simpleParser(a as Buffer), simpleParser(b as Buffer)]);
    expect(ma.messageId).toMatch(/^<[0-9a-f-]{36}@example\.org>$/);
    expect(ma.messageId).not.toBe(mb.messageId);
    expect(Math.abs((ma.date?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it.each([
    ['subject', { subject: 'Hello\r\nBcc: victim@example.net' }, 'subject'],
    ['subject (bare LF)', { subject: 'Hello\nBcc: victim@example.net' }, 'subject'],
    ['to', { to: 'reader@example.com\r\nBcc: victim@example.net' }, 'to'],
    ['from', { from: 'news@example.org\nReply-To: evil@example.net' }, 'from'],
    [
      'a header value',
      { headers: { 'List-Unsubscribe': '<https://a.example/>\r\nBcc: x@example.net' } },
      'headers.List-Unsubscribe',
    ],
    ['a header name', { headers: { 'X-Evil\r\nBcc': 'x@example.net' } }, 'headers.X-Evil\r\nBcc'],
    ['a header name with a colon', { headers: { 'X-A: b': 'c' } }, 'headers.X-A: b'],
    ['a header the composer writes', { headers: { Bcc: 'victim@example.net' } }, 'headers.Bcc'],
    ['a content type', { headers: { 'content-type': 'text/plain' } }, 'headers.content-type'],
  ] as [string, Partial<OutgoingEmail>, string][])(
    'refuses CR/LF and structure in %s',
    async (_, overrides, field) => {
      await expect(composeMessage(email(overrides))).rejects.toBeInstanceOf(UnsafeHeaderError);
      await expect(composeMessage(email(overrides))).rejects.toThrow(`${field}: `);
    },
  );

  it.each([
    ['no address at all', { to: 'reader' }, 'to'],
    ['two addresses', { to: 'a@example.com, b@example.com' }, 'to'],
    ['an unclosed bracket', { from: 'Tidings <news@example.org' }, 'from'],
  ] as [string, Partial<OutgoingEmail>, string][])(
    'refuses %s as an address',
    async (_, overrides, field) => {
      await expect(composeMessage(email(overrides))).rejects.toThrow(`${field}: must be an address`);
    },
  );

  it('writes display names as atoms, quoted strings or encoded words, and domains as punycode', async () => {
    const cases: [string, string, { name: string; address: string }][] = [
      [
        'Tidings <news@example.org>',
        'From: Tidings <news@example.org>',
        { name: 'Tidings', address: 'news@example.org' },
      ],
      [
        'Tidings, "daily" <news@example.org>',
        'From: "Tidings, \\"daily\\"" <news@example.org>',
        { name: 'Tidings, "daily"', address: 'news@example.org' },
      ],
      [
        'Nouvelles Zoë <news@bücher.example>',
        'From: =?UTF-8?Q?Nouvelles_Zo=C3=AB?= <news@xn--bcher-kva.example>',
        { name: 'Nouvelles Zoë', address: 'news@bücher.example' },
      ],
    ];
    for (const [from, written, parsed] of cases) {
      const raw = await composeMessage(email({ from }));
      expect(raw.toString('latin1')).toContain(written);
      expect((await simpleParser(raw)).from?.value).toEqual([parsed]);
    }
  });

  it('answers the same for a domain the second time (remembered): punycode, and refusal', async () => {
    for (let round = 0; round < 2; round++) {
      const raw = await composeMessage(email({ to: 'Reader <r@Bücher.EXAMPLE>' }));
      expect(raw.toString('latin1')).toContain('To: Reader <r@xn--bcher-kva.example>');
      await expect(composeMessage(email({ to: 'r@xn--a.example' }))).rejects.toThrow(
        'to: must be an address',
      );
    }
  });

  it('keeps body lines short and picks base64 for text that is mostly not Latin', async () => {
    const latin = `${'Ünïcödé and plain words, '.repeat(40)}\n${'x'.repeat(300)}\n`;
    const cjk = `${'東京の天気は晴れです。'.repeat(30)}\n`;
    const raw = await composeMessage(email({ text: latin, html: `<p>${cjk}</p>` }));
    const source = raw.toString('latin1');
    expect(source).toContain(
      'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable',
    );
    expect(source).toContain('Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64');
    // Header lines fold at spaces only (a long URL stays whole); body lines keep to 76.
    const body = source.slice(source.indexOf('\r\n\r\n'));
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    const mail = await simpleParser(raw);
    expect(mail.text).toBe(latin);
    expect(mail.html).toBe(`<p>${cjk}</p>`);
  });

  it.each([
    ['more Latin letters than anything else', 'abc éé', 'quoted-printable'],
    ['as many other characters as letters', 'ab éé', 'base64'],
    ['controls, counted as other', 'ab\u0001\u0002', 'base64'],
    ['digits, spaces and punctuation, counted as neither', `a ${'1, 2; 3. '.repeat(50)}`, 'quoted-printable'],
    ['an emoji, two UTF-16 units', 'a 🎉', 'base64'],
  ])('encodes text with %s as %s', async (_, text, encoding) => {
    const raw = await composeMessage(email({ text }));
    const source = raw.toString('latin1');
    expect(source).toContain(
      `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ${encoding}`,
    );
    expect((await simpleParser(raw)).text).toBe(text);
  });

  it('writes quoted-printable parts with no line ending in whitespace, and reads them back', async () => {
    const text = `Trailing space \nTrailing tab\t\na=b, ${'é·… '.repeat(40)}🎉\n${'y'.repeat(200)} \n`;
    const html = `<p style="margin:0">${'<a href="https://news.example.org/">Tidings</a> · '.repeat(30)}</p>\n`;
    const raw = await composeMessage(email({ text, html }));
    const source = raw.toString('latin1');
    expect(source.match(/Content-Transfer-Encoding: quoted-printable/g)).toHaveLength(2);
    const body = source.slice(source.indexOf('\r\n\r\n'));
    for (const line of body.split('\r\n')) {
      expect(line.length).toBeLessThanOrEqual(76);
      expect(line).not.toMatch(/[ \t]$/);
    }
    const mail = await simpleParser(raw);
    expect(mail.text).toBe(text);
    expect(mail.html).toBe(html);
  });

  it('reads back any printable subject and any text exactly (property)', async () => {
    // Any Unicode without controls in the subject; any text at all in the parts but NUL
    // (line endings come back as LF, the form a parser gives them).
    const printable = fc
      .string({ unit: 'grapheme', maxLength: 120 })
      .filter((s) => ![...s].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c === '\u007f'));
    const text = fc.string({ unit: 'binary', maxLength: 400 }).filter((s) => !s.includes('\u0000'));
    await fc.assert(
      fc.asyncProperty(printable, text, text, async (subject, plain, html) => {
        const mail = await simpleParser(await composeMessage(email({ subject, text: plain, html })));
        expect(mail.subject ?? '').toBe(subject);
        expect(mail.text ?? '').toBe(plain.replace(/\r\n|\r/g, '\n'));
        expect(mail.html || '').toBe(html.replace(/\r\n|\r/g, '\n'));
      }),
      { numRuns: 300, seed: 5 },
    );
  });

  it('never puts an injected header into the message', async () => {
    let raw: Buffer | undefined;
    try {
      raw = await composeMessage(email({ subject: 'Hi\r\nBcc: victim@example.net' }));
    } catch {
      // refused, as it should be
    }
    expect(raw).toBeUndefined();
  });
});
