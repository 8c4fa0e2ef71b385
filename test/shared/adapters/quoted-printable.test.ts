import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeCountingOther,
  encodeQuotedPrintable,
  type QuotedPrintableOptions,
} from '../../../shared/adapters/quoted-printable.js';

/**
 * RFC 2045 6.7 decoding, written from the RFC rather than shared with any encoder: soft breaks
 * ("=" CRLF) vanish, =XX becomes its byte, everything else is taken as it stands.
 */
const decodeBytes = (encoded: string): Buffer => {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; ) {
    if (encoded[i] !== '=') {
      bytes.push(encoded.charCodeAt(i));
      i += 1;
    } else if (encoded.startsWith('\r\n', i + 1)) {
      i += 3;
    } else {
      const hex = encoded.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) throw new Error(`bad escape "=${hex}" at ${i}`);
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    }
  }
  return Buffer.from(bytes);
};

const decode = (encoded: string): string => decodeBytes(encoded).toString('utf8');

const encode = (text: string, options?: QuotedPrintableOptions): string =>
  encodeQuotedPrintable(text, options).toString('latin1');

// Any Unicode text, weighted towards what makes quoted-printable hard: line breaks of every kind,
// whitespace before them, "=", tabs, non-ASCII letters and emoji, and long runs without a break.
const tricky = fc.constantFrom(
  '\r\n',
  '\r',
  '\n',
  ' ',
  '\t',
  ' \r\n',
  '\t\r\n',
  '=',
  '=3D',
  'é',
  '·',
  '…',
  '東京',
  '🎉',
  '🇸🇾',
  'x'.repeat(73),
  'word ',
);
const text = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), tricky), { maxLength: 60 })
  .map((pieces) => pieces.join(''));

/** Lines as written, the soft break's "=" included. */
const linesOf = (encoded: string): string[] => encoded.split('\r\n');

describe('encodeQuotedPrintable', () => {
  it('reads back as the same text, whatever the text (property)', () => {
    fc.assert(
      fc.property(text, (input) => {
        // A lone surrogate has no UTF-8 form and reads back as U+FFFD, as Node writes it.
        expect(decode(encode(input))).toBe(Buffer.from(input, 'utf8').toString('utf8'));
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('counts the units neither ASCII nor tab, LF or CR, as the encoding rule does, and encodes the same (property)', () => {
    fc.assert(
      fc.property(text, fc.constantFrom('crlf' as const, 'any' as const), (input, lineBreaks) => {
        const { encoded, other } = encodeCountingOther(input, { lineBreaks });
        // The rule's own count (mime.ts): what is left once runs of ASCII, tab, LF and CR are gone.
        expect(other).toBe(input.replace(/[\t\n\r\x20-\x7f]+/g, '').length);
        expect(encoded.equals(encodeQuotedPrintable(input, { lineBreaks }))).toBe(true);
      }),
      { numRuns: 2000, seed: 11 },
    );
  });

  it('writes only lines of at most 76 printable ASCII characters, none ending in space or tab (property)', () => {
    fc.assert(
      fc.property(text, (input) => {
        const encoded = encode(input);
        // Only CR in CRLF, only printable ASCII, space and tab otherwise.
        expect(encoded.replaceAll('\r\n', '')).toMatch(/^[\x20-\x7e\t]*$/);
        for (const line of linesOf(encoded)) {
          expect(line.length).toBeLessThanOrEqual(76);
          expect(line).not.toMatch(/[ \t]$/);
          // "=" only opens an escape, or ends the line as a soft break.
          expect(line).toMatch(/^(?:[^=]|=[0-9A-F]{2})*=?$/);
        }
      }),
      { numRuns: 2000, seed: 11 },
    );
  });

  it('never splits a character across a soft break (property)', () => {
    fc.assert(
      fc.property(text, (input) => {
        // Each line holds whole UTF-8 characters: a strict decoder takes it on its own.
        const strict = new TextDecoder('utf-8', { fatal: true });
        for (const line of linesOf(encode(input))) {
          expect(() => strict.decode(decodeBytes(line.replace(/=$/, '')))).not.toThrow();
        }
      }),
      { numRuns: 2000, seed: 13 },
    );
  });

  it('with any line break, writes what CRLF-only encoding writes for the text with CRLF endings (property)', () => {
    fc.assert(
      fc.property(text, (input) => {
        expect(encode(input, { lineBreaks: 'any' })).toBe(encode(input.replace(/\r\n|\r|\n/g, '\r\n')));
      }),
      { numRuns: 2000, seed: 17 },
    );
    expect(encode('a \nb\t\rc\r\n\n', { lineBreaks: 'any' })).toBe('a=20\r\nb=09\r\nc\r\n\r\n');
  });

  it.each([
    ['printable ASCII as it is', 'Hello, world! <a href="x">', 'Hello, world! <a href=3D"x">'],
    ['"=" and non-ASCII as uppercase escapes', 'a=b é', 'a=3Db =C3=A9'],
    ['CRLF as a line break', 'one\r\ntwo', 'one\r\ntwo'],
    ['a lone CR or LF as an escape', 'a\rb\nc', 'a=0Db=0Ac'],
    ['space and tab ending a line or the text', 'a \r\nb\t\r\nc ', 'a=20\r\nb=09\r\nc=20'],
    ['space and tab inside a line as they are', 'a b\tc', 'a b\tc'],
    ['space before a lone CR as it is', 'a \rb', 'a =0Db'],
    ['the empty text as nothing', '', ''],
  ])('writes %s', (_, input, expected) => {
    expect(encode(input)).toBe(expected);
  });

  it('fills lines to 76 characters, the soft break included, and a last line to 76 without one', () => {
    expect(encode('x'.repeat(76))).toBe('x'.repeat(76));
    expect(encode(`${'x'.repeat(76)}\r\ny`)).toBe(`${'x'.repeat(76)}\r\ny`);
    expect(encode('x'.repeat(77))).toBe(`${'x'.repeat(75)}=\r\nxx`);
    expect(encode('x'.repeat(200))).toBe(`${'x'.repeat(75)}=\r\n${'x'.repeat(75)}=\r\n${'x'.repeat(50)}`);
  });

  it('moves an escape or a whole character to the next line rather than split it', () => {
    // 74 letters leave room for one character before the soft break, not three.
    expect(encode(`${'x'.repeat(74)}=y`)).toBe(`${'x'.repeat(74)}=\r\n=3Dy`);
    // é is two escapes (six characters); 70 letters and é would make 76 with no room for "=".
    expect(encode(`${'x'.repeat(70)}éy`)).toBe(`${'x'.repeat(70)}=\r\n=C3=A9y`);
    // ...but as the last thing on its line it may end exactly at 76.
    expect(encode(`${'x'.repeat(70)}é`)).toBe(`${'x'.repeat(70)}=C3=A9`);
    expect(encode(`${'x'.repeat(64)}🎉z`)).toBe(`${'x'.repeat(64)}=\r\n=F0=9F=8E=89z`);
    // A trailing space becomes =20 and moves with the line break rules like any escape.
    expect(encode(`${'x'.repeat(74)} `)).toBe(`${'x'.repeat(74)}=\r\n=20`);
  });

  it('encodes a lone surrogate as the replacement character, as UTF-8 writes it', () => {
    expect(encode('a\ud800b')).toBe('a=EF=BF=BDb');
  });

  it('gives the same bytes for a text after a longer one (no state carried between calls)', () => {
    const short = 'end \r';
    const first = encode(short);
    encode(`${'long text with lines\r\n'.repeat(500)}${'é'.repeat(300)}`);
    expect(encode(short)).toBe(first);
    expect(first).toBe('end =0D');
  });
});
