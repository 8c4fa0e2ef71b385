import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveSiteFolder } from '../../local/static-site.js';

let root: string;
let server: Server;
let base: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tidings-static-'));
  writeFileSync(join(root, 'index.html'), '<p>home</p>');
  // On a case-insensitive file system (macOS, Windows) `/_Publish/…` opens `_publish/…`. Folders
  // spelled otherwise stand in for it here, where the file system tells them apart.
  for (const folder of ['_publish', '_Publish', '_PUBLISH', '_publish.', 'publish']) {
    mkdirSync(join(root, folder, 'feeds'), { recursive: true });
    writeFileSync(join(root, folder, 'feeds', 'all.json'), '{"secret":"record"}');
  }
  const serve = serveSiteFolder(root);
  server = createServer((req, res) => {
    void serve(req, res).then((served) => {
      if (!served) {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((done) => server.close(done));
  rmSync(root, { recursive: true, force: true });
});

describe("the local site server never serves the publisher's records", () => {
  it.each([
    '/_publish/feeds/all.json',
    '/_Publish/feeds/all.json',
    '/_PUBLISH/feeds/all.json',
    '/%5FPublish/feeds/all.json',
    '/%5f%50ublish/feeds/all.json',
    '/_publish./feeds/all.json',
    '/_Publish/',
    '/feeds/../_Publish/feeds/all.json',
  ])('%s is a 404', async (path) => {
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('secret');
  });

  it('still serves the site, and a folder whose name only contains the word', async () => {
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect((await fetch(`${base}/publish/feeds/all.json`)).status).toBe(200);
  });
});
