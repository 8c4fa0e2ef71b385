/**
 * What keeps the public sign-up from being turned against third parties: the limits, who the
 * client is, and which form posts are someone else's. Pure: headers and addresses come in as values.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** The limits of sign-ups and confirmation emails (issue 15); the global budget is a setting. */
export interface SignupPolicy {
  /** Sign-ups one client (source address) may make in any hour. */
  clientPerHour: number;
  /** At most one confirmation per mailbox in this many seconds. */
  mailboxSpacingSeconds: number;
  /** At most this many confirmations per mailbox in any 24 hours. */
  mailboxPerDay: number;
}

export const SIGNUP_POLICY: SignupPolicy = {
  clientPerHour: 10,
  mailboxSpacingSeconds: 10 * 60,
  mailboxPerDay: 3,
};

/** The global confirmation budget when the local runtime is not told otherwise. */
export const DEFAULT_CONFIRMATIONS_PER_HOUR = 300;

/**
 * The sign-up form's honeypot: a field people never see, which form-filling bots fill. Its name
 * (and its label) carry none of the words browsers' autofill looks for (`website`, `url`, `name`,
 * `email`, `phone`, `address`, `company`…): autofill ignores `autocomplete="off"` for such fields
 * and would fill the trap for real readers, whose sign-ups would then be dropped unseen.
 */
export const HONEYPOT_FIELD = 'tdg_hp_trap';

/**
 * The honeypot's name before it was renamed. A page published before then still posts it; it is
 * neither a trap (autofill may have filled it) nor an unknown field (a 400 for a stale page).
 */
export const LEGACY_HONEYPOT_FIELD = 'website';

/** Expands an IPv6 address (no zone) to its eight 16-bit groups. */
const ipv6Groups = (address: string): number[] => {
  let text = address;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, lastColon);
    // `::1.2.3.4` lost one colon of its `::`.
    if (text.endsWith(':')) text += ':';
  }
  const [head = '', rest] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const front = parse(head);
  const back = [...(rest === undefined ? [] : parse(rest)), ...tail];
  const fill = rest === undefined ? [] : new Array<number>(8 - front.length - back.length).fill(0);
  return [...front, ...fill, ...back];
};

/** The IP address in a `cloudfront-viewer-address` value: `ip:port`, `[ipv6]:port` or bare IPv6 with the port last. */
const hostOfViewerAddress = (value: string): string | undefined => {
  const text = value.trim();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    const rest = text.slice(end + 1);
    if (end < 0 || (rest !== '' && !/^:\d{1,5}$/.test(rest))) return undefined;
    return text.slice(1, end);
  }
  if (isIPv4(text) || (isIPv6(text) && !/:\d{1,5}$/.test(text))) return text;
  const withPort = /^(.+):(\d{1,5})$/.exec(text);
  const host = withPort?.[1];
  // CloudFront always appends the port, so the group after the last colon is it.
  if (host !== undefined && (isIPv4(host) || isIPv6(host))) return host;
  return isIPv6(text) ? text : undefined;
};

/** CloudFront's `ip:port` of the viewer; the stack forwards it on /api/*. Anyone can send it. */
export const VIEWER_ADDRESS_HEADER = 'cloudfront-viewer-address';

/**
 * The header CloudFront adds to every request it passes to the API, carrying the origin secret:
 * only a request that came through the distribution has it right (CloudFront replaces a header
 * of that name sent by the viewer).
 */
export const ORIGIN_HEADER = 'x-tidings-origin';

/** What a request tells of who sent it. */
export interface ClientRequest {
  /** `cloudfront-viewer-address` as the request carries it. */
  viewerAddress?: string | undefined;
  /** `x-tidings-origin` as the request carries it. */
  originProof?: string | undefined;
  /** The address the request came from (CloudFront's own when it came through CloudFront). */
  sourceIp: string;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Whether the request proves it came through CloudFront: its origin header is the secret.
 * Compared in constant time (digests first, so the length does not show either); without a
 * secret (the local runtime, where no CloudFront stands in front) nothing proves it.
 */
export const cameThroughCloudFront = (
  originProof: string | undefined,
  originSecret: string | undefined,
): boolean =>
  originProof !== undefined &&
  originSecret !== undefined &&
  originSecret !== '' &&
  timingSafeEqual(sha256(originProof), sha256(originSecret));

/**
 * The client of a request that came through CloudFront without a viewer address that parses. Its
 * source address is then CloudFront's, shared by every reader behind that edge: counting against
 * it would let one client's sign-ups refuse everyone's. One fixed key instead.
 */
export const UNKNOWN_VIEWER = 'unknown-viewer';

/**
 * The client a sign-up is counted against: an IPv4 address, or an IPv6 /64 (one subscriber line
 * gets a whole /64 and could otherwise rotate through it). The viewer's address as CloudFront
 * forwards it (the source address API Gateway sees is then CloudFront's), but only when the
 * request proves it came through CloudFront: the API's own endpoint is public too, and a client
 * calling it directly could otherwise name a new address with every sign-up. Else the source.
 */
export const clientOf = (request: ClientRequest, originSecret: string | undefined): string => {
  let host = request.sourceIp.trim();
  if (cameThroughCloudFront(request.originProof, originSecret)) {
    const viewer = request.viewerAddress ? hostOfViewerAddress(request.viewerAddress) : undefined;
    if (!viewer) return UNKNOWN_VIEWER;
    host = viewer;
  }
  const address = host.replace(/%.*$/, '');
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return `other:${address.slice(0, 64)}`;
  const groups = ipv6Groups(address);
  // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 client.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
};

/**
 * Why a form post is someone else's, or undefined: a browser says `Sec-Fetch-Site: cross-site`,
 * or sends an `Origin` that is not the site's (unless it vouches the page is of the API's own
 * origin, which is the site's whatever host name reached it). Clients that send neither (curl,
 * servers) are not browsers carrying a visitor's ambient requests, and pass.
 */
export const crossSiteRule = (
  headers: { secFetchSite?: string; origin?: string },
  siteUrl: string,
): { path: string; rule: string } | undefined => {
  const fetchSite = headers.secFetchSite?.trim().toLowerCase();
  if (fetchSite === 'cross-site') {
    return {
      path: 'sec-fetch-site',
      rule: 'sign-ups from other sites are refused: use the form on this site',
    };
  }
  const origin = headers.origin?.trim();
  if (origin === undefined || origin === '' || fetchSite === 'same-origin') return undefined;
  if (origin.toLowerCase() === new URL(siteUrl).origin) return undefined;
  return {
    path: 'origin',
    rule: `sign-ups from other sites are refused: use the form on ${new URL(siteUrl).origin} (got ${origin.slice(0, 100)})`,
  };
};
