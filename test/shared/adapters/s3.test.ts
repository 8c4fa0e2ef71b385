import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeS3ObjectStore } from '../../../shared/adapters/s3.js';

/** A bucket over HTTP, path style: enough of S3 for HEAD, PUT, GET and DELETE of objects. */
interface Stored {
  body: Buffer;
  type: string;
  cacheControl: string;
  sha256: string;
}
const objects = new Map<string, Stored>();
const requests: string[] = [];
let server: Server;
let client: S3Client;

const bodyOf = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const key = decodeURIComponent(new URL(req.url ?? '/', 'http://bucket').pathname);
    requests.push(`${req.method} ${key}`);
    const stored = objects.get(key);
    if (req.method === 'PUT') {
      objects.set(key, {
        body: await bodyOf(req),
        type: String(req.headers['content-type']),
        cacheControl: String(req.headers['cache-control']),
        sha256: String(req.headers['x-amz-meta-sha256']),
      });
      res.writeHead(200, { etag: '"e"' }).end();
    } else if (req.method === 'DELETE') {
      objects.delete(key);
      res.writeHead(204).end();
    } else if (!stored) {
      res.writeHead(404, { 'content-type': 'application/xml' });
      res.end(
        req.method === 'HEAD' ? undefined : '<Error><Code>NoSuchKey</Code><Message>none</Message></Error>',
      );
    } else {
      res.writeHead(200, {
        'content-type': stored.type,
        'content-length': stored.body.length,
        'x-amz-meta-sha256': stored.sha256,
      });
      res.end(req.method === 'HEAD' ? undefined : stored.body);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  client = new S3Client({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forcePathStyle: true,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});

afterAll(() => {
  client.destroy();
  server.close();
});

beforeEach(() => {
  objects.clear();
  requests.length = 0;
});

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('makeS3ObjectStore over HTTP', () => {
  it('writes a body given in pieces (text or UTF-8 bytes) as one object, with the SHA-256 of its bytes', async () => {
    const store = makeS3ObjectStore(client, 'site');
    const pieces = ['<feed>', Buffer.from('<entry>Zürich – 😀</entry>'), '', '</feed>'];
    const text = '<feed><entry>Zürich – 😀</entry></feed>';
    expect(await store.putIfChanged('feeds/all.atom', pieces, 'application/atom+xml')).toBe(true);
    const stored = objects.get('/site/feeds/all.atom');
    expect(stored?.body.toString('utf8')).toBe(text);
    expect(stored?.sha256).toBe(sha256(text));
    expect(stored?.type).toBe('application/atom+xml');
    expect(stored?.cacheControl).toBe('public, max-age=300');
  });

  it('only looks (HEAD) when the bytes are the same, however they are given', async () => {
    const store = makeS3ObjectStore(client, 'site');
    expect(await store.putIfChanged('index.html', '<p>é</p>', 'text/html; charset=utf-8')).toBe(true);
    requests.length = 0;
    expect(await store.putIfChanged('index.html', ['<p>', 'é</p>'], 'text/html; charset=utf-8')).toBe(false);
    expect(requests).toEqual(['HEAD /site/index.html']);
    expect(await store.putIfChanged('index.html', '<p>e</p>', 'text/html; charset=utf-8')).toBe(true);
    expect(requests.at(-1)).toBe('PUT /site/index.html');
    expect(objects.get('/site/index.html')?.cacheControl).toBe('public, max-age=60, must-revalidate');
  });

  it('reads an object back as its bytes, and nothing for a missing one', async () => {
    const store = makeS3ObjectStore(client, 'site');
    await store.putIfChanged('feeds/all.json', ['{"title":', '"Zürich"}'], 'application/feed+json');
    const bytes = await store.get('feeds/all.json');
    expect(Buffer.from(bytes ?? []).toString('utf8')).toBe('{"title":"Zürich"}');
    expect(await store.get('feeds/none.json')).toBeUndefined();
  });

  it('removes an object, and says whether there was one', async () => {
    const store = makeS3ObjectStore(client, 'site');
    await store.putIfChanged('gone.html', 'x', 'text/html');
    expect(await store.remove('gone.html')).toBe(true);
    expect(objects.has('/site/gone.html')).toBe(false);
    expect(await store.remove('gone.html')).toBe(false);
  });
});
