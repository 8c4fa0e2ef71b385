import { XMLParser } from 'fast-xml-parser';

// fast-xml-parser leaves numeric references alone; this decodes XML's own references, and only them.
const XML_REFS: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
export const decodeXml = (s: string): string =>
  s.replace(
    /&(?:#x([0-9a-fA-F]+)|#(\d+)|(lt|gt|amp|quot|apos));/g,
    (_m, hex?: string, dec?: string, name?: string) =>
      hex
        ? String.fromCodePoint(Number.parseInt(hex, 16))
        : dec
          ? String.fromCodePoint(Number(dec))
          : (XML_REFS[name ?? ''] ?? ''),
  );

const ARRAYS = new Set(['item', 'entry', 'category', 'link', 'atom:link', 'enclosure']);

/** Parses feed XML with repeated elements always as arrays and text left exactly as written. */
export const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  isArray: (name) => ARRAYS.has(name),
  entityDecoder: {
    decode: decodeXml,
    setExternalEntities() {},
    addInputEntities() {},
    reset() {},
    setXmlVersion() {},
  },
});

// biome-ignore lint/suspicious/noExplicitAny: parsed XML is walked by hand in assertions
export type XmlNode = any;

/** An element's text whether it is a bare string or has attributes. */
export const textOf = (node: XmlNode): string => (typeof node === 'string' ? node : (node?.['#text'] ?? ''));

// XML 1.0 Char, as code points: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000 and up.
export const isXmlChar = (cp: number): boolean =>
  cp === 0x9 ||
  cp === 0xa ||
  cp === 0xd ||
  (cp >= 0x20 && cp <= 0xd7ff) ||
  (cp >= 0xe000 && cp <= 0xfffd) ||
  cp >= 0x10000;
