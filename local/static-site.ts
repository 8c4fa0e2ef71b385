import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, resolve, sep } from 'node:path';
import { NOT_FOUND_PAGE } from '../shared/domain/site.js';
import { BUILT_IN_NOT_FOUND_PAGE } from '../shared/render/not-found.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.rss': 'application/rss+xml; charset=utf-8',
  '.atom': 'application/atom+xml; charset=utf-8',
  '.opml': 'text/x-opml; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.eml': 'message/rfc822',
};

const PUBLISHER_FOLDER = '_publish';

/** JSON feeds share `.json` with event documents; their folder tells them apart. */
const contentTypeOf = (path: string): string =>
  path.includes(`${sep}feeds${sep}`) && path.endsWith('.json')
    ? 'application/feed+json; charset=utf-8'
    : (CONTENT_TYPES[extname(path)] ?? 'application/octet-stream');

/**
 * Serves the published site folder as the CDN would: content types, strong ETags and
 * Last-Modified, 304 for conditional GETs, `index.html` for folders. Returns false when the
 * request is not for a file in the folder.
 */
export const serveSiteFolder =
  (root: string) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const base = resolve(root);
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return false;
    }
    let path = resolve(join(base, pathname));
    if (path !== base && !path.startsWith(base + sep)) return false;
    // The publisher's own records, not part of the site (see shared/services/publish-output.ts). On a
    // case-insensitive file system `_Publish` opens the same folder, and Windows drops trailing
    // dots and spaces: the first segment is compared as the file system would.
    const [first = ''] = relative(base, path).split(sep);
    if (first.replace(/[. ]+$/, '').toLowerCase() === PUBLISHER_FOLDER) return false;
    let info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      path = join(path, 'index.html');
      info = await stat(path).catch(() => undefined);
    }
    if (!info?.isFile()) return false;
    const body = await readFile(path);
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000).toUTCString();
    const headers = {
      etag,
      'last-modified': lastModified,
      'cache-control': 'public, max-age=0, must-revalidate',
      'content-type': contentTypeOf(path),
    };
    const noneMatch = req.headers['if-none-match'];
    const modifiedSince = req.headers['if-modified-since'];
    const fresh = noneMatch
      ? noneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*')
      : modifiedSince !== undefined && Date.parse(modifiedSince) >= Date.parse(lastModified);
    if (fresh) {
      res.writeHead(304, { etag, 'last-modified': lastModified, 'cache-control': headers['cache-control'] });
      res.end();
      return true;
    }
    res.writeHead(200, { ...headers, 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };

/**
 * A page of the site that does not exist, as CloudFront answers it: the site's own 404 page with
 * status 404, or a bare built-in one until the first publish has written it.
 */
export const serveNotFoundPage =
  (root: string) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const page = await readFile(join(resolve(root), NOT_FOUND_PAGE)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return Buffer.from(BUILT_IN_NOT_FOUND_PAGE);
      throw error;
    });
    res.writeHead(404, {
      'content-type': CONTENT_TYPES['.html'] ?? 'text/html; charset=utf-8',
      'content-length': String(page.length),
      // A page published later must replace it at once.
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : page);
  };
