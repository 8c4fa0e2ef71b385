/**
 * Quoted-printable body encoding (RFC 2045 6.7), written for digest-sized parts: one pass over the
 * UTF-8 bytes into a preallocated buffer, soft line breaks placed as the bytes are written.
 * nodemailer's encoder builds a string and then wraps it with regular expressions, which costs
 * several times more on a 60 KB HTML part.
 */

/** RFC 2045's limit, the soft break's "=" included. */
const MAX_LINE = 76;

const LITERAL = 1;
const WHITESPACE = 2;
// What each ASCII byte becomes: printable characters but "=" as they are, space and tab as they
// are unless they end a line, everything else (controls, a lone CR or LF, "=") as =XX.
const ASCII_CLASS = new Uint8Array(128);
for (let byte = 0x21; byte <= 0x7e; byte++) ASCII_CLASS[byte] = LITERAL;
ASCII_CLASS[0x3d] = 0;
ASCII_CLASS[0x20] = WHITESPACE;
ASCII_CLASS[0x09] = WHITESPACE;

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');
const CR = 0x0d;
const LF = 0x0a;
const EQUALS = 0x3d;

// Reused across calls (encoding is synchronous), so a run of digests does not allocate
// worst-case buffers for each part.
let source = Buffer.allocUnsafeSlow(0);
let scratch = Buffer.allocUnsafeSlow(0);

export interface QuotedPrintableOptions {
  /**
   * `crlf` (the default): only CRLF breaks a line; a lone CR or LF is data, written =0D or =0A.
   * `any`: CRLF, CR and LF each break a line, written CRLF, which saves a text part with LF
   * endings a pass to rewrite them first.
   */
  lineBreaks?: 'crlf' | 'any';
}

/**
 * `text` as UTF-8, quoted-printable: line breaks as CRLF, space or tab before a line break or at
 * the end encoded, and lines soft-broken to at most 76 characters, never inside an =XX escape nor
 * between the escapes of one character.
 */
export const encodeQuotedPrintable = (text: string, options: QuotedPrintableOptions = {}): Buffer =>
  encodeCountingOther(text, options).encoded;

/**
 * `encodeQuotedPrintable`, and how many UTF-16 units of `text` are neither ASCII nor tab, LF or
 * CR but controls: every unit from U+0080 up and every other control below U+0020. mime.ts
 * chooses between quoted-printable and base64 by that count; the encoder meets each of those
 * characters on its slow path anyway, so counting them there spares a pass over the text.
 */
export const encodeCountingOther = (
  text: string,
  options: QuotedPrintableOptions = {},
): { encoded: Buffer; other: number } => {
  const any = options.lineBreaks === 'any';
  let other = 0;
  // Three bytes of UTF-8 at most for each UTF-16 unit.
  if (source.length < 3 * text.length)
    source = Buffer.allocUnsafeSlow(Math.max(3 * text.length, 2 * source.length));
  const input = source;
  const length = input.write(text, 'utf8');
  // Three characters a byte at most, and a soft break ("=" CRLF) once a line holds 64 characters
  // or more: the longest unit written at once is a four-byte character's twelve.
  const bound = 3 * length + 3 * Math.ceil((3 * length) / 64);
  if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, 2 * scratch.length));
  const out = scratch;
  let pos = 0;
  let lineStart = 0;
  let i = 0;
  while (i < length) {
    // The common case first: printable ASCII, and space or tab with something but CR or LF after
    // it, while the line has room for it and a soft break.
    let byte = input[i] as number;
    for (let left = lineStart + MAX_LINE - 1 - pos; left > 0 && byte < 0x80; left--) {
      const kind = ASCII_CLASS[byte];
      if (kind !== LITERAL) {
        if (kind !== WHITESPACE || i + 1 === length) break;
        const next = input[i + 1];
        if (next === CR || next === LF) break;
      }
      out[pos++] = byte;
      if (++i === length) break;
      byte = input[i] as number;
    }
    if (i === length) break;

    const lineBreak = lineBreakAt(input, i, length, any);
    if (lineBreak > 0) {
      out[pos++] = CR;
      out[pos++] = LF;
      lineStart = pos;
      i += lineBreak;
      continue;
    }
    let bytes = 1;
    let width = 3;
    if (byte < 0x80) {
      const kind = ASCII_CLASS[byte];
      if (kind === LITERAL || (kind === WHITESPACE && !endsLine(input, i + 1, length, any))) width = 1;
      else if (byte < 0x20 && byte !== 0x09 && byte !== LF && byte !== CR) other++;
    } else {
      // A character's bytes are written together, so a soft break never splits one.
      const expected = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
      // Four bytes are a surrogate pair: two UTF-16 units (a lone surrogate is written as U+FFFD).
      other += expected === 4 ? 2 : 1;
      while (bytes < expected && i + bytes < length && ((input[i + bytes] as number) & 0xc0) === 0x80)
        bytes++;
      width = 3 * bytes;
    }
    const used = pos - lineStart + width;
    // Room is kept for the soft break's "=" unless this unit is the last on its line.
    if (used >= MAX_LINE && (used > MAX_LINE || !endsLine(input, i + bytes, length, any))) {
      out[pos++] = EQUALS;
      out[pos++] = CR;
      out[pos++] = LF;
      lineStart = pos;
    }
    if (width === 1) {
      out[pos++] = byte;
    } else {
      for (let k = i, end = i + bytes; k < end; k++) {
        const value = input[k] as number;
        out[pos++] = EQUALS;
        out[pos++] = HEX[value >> 4] as number;
        out[pos++] = HEX[value & 0x0f] as number;
      }
    }
    i += bytes;
  }
  // copy() is a memcpy; Buffer.from(view) would copy byte by byte.
  const encoded = Buffer.allocUnsafe(pos);
  out.copy(encoded, 0, 0, pos);
  return { encoded, other };
};

/** How many bytes the line break at `at` (before `length`) takes: 2 for CRLF, with `any` 1 for a lone CR or LF, else 0. */
const lineBreakAt = (input: Buffer, at: number, length: number, any: boolean): number => {
  const byte = input[at];
  if (byte === CR) return at + 1 < length && input[at + 1] === LF ? 2 : any ? 1 : 0;
  return any && byte === LF ? 1 : 0;
};

/** Whether the line ends at `at`: the input ends there or a line break starts there. */
const endsLine = (input: Buffer, at: number, length: number, any: boolean): boolean =>
  at === length || lineBreakAt(input, at, length, any) > 0;
