import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeFolderObjectStore } from '../../local/site-folder.js';

let root: string;

/** Bytes read back as text. */
const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? []).toString();

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tidings-site-folder-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('the site folder', () => {
  it('writes many files at once, more than one batch holds, each with its own bytes', async () => {
    const objects = makeFolderObjectStore(root);
    // About 3 MB of text in 600 files: several batches of a megabyte.
    const bodyOf = (n: number) => `<p>${n} ${'é'.repeat(n % 7)}${'x'.repeat(5000)}</p>\n`;
    const written = await Promise.all(
      Array.from({ length: 600 }, (_, n) =>
        objects.putIfChanged(`news/${n % 10}/page-${n}.html`, bodyOf(n), 'text/html'),
      ),
    );
    expect(written.every((w) => w === true)).toBe(true);
    for (const n of [0, 1, 299, 599])
      expect(readFileSync(join(root, `news/${n % 10}/page-${n}.html`), 'utf8')).toBe(bodyOf(n));
    expect(readdirSync(join(root, 'news/3'))).toHaveLength(60);
  });

  it('writes a body given in pieces (text or UTF-8 bytes) one after the other', async () => {
    const objects = makeFolderObjectStore(root);
    const pieces = [
      '<feed>',
      Buffer.from('<entry>é</entry>'),
      '',
      Buffer.from('<entry>😀</entry>'),
      '</feed>',
    ];
    const text = '<feed><entry>é</entry><entry>😀</entry></feed>';
    expect(await objects.putIfChanged('feeds/all.atom', pieces, 'application/atom+xml')).toBe(true);
    expect(readFileSync(join(root, 'feeds/all.atom'), 'utf8')).toBe(text);
    // The same bytes, whole or in other pieces, are the same object.
    expect(await objects.putIfChanged('feeds/all.atom', text, 'application/atom+xml')).toBe(false);
    expect(
      await objects.putIfChanged(
        'feeds/all.atom',
        ['<feed><entry>é', '</entry><entry>😀</entry></feed>'],
        'x',
      ),
    ).toBe(false);
  });

  it('leaves a file alone when its bytes are the same, and replaces it when they differ', async () => {
    const objects = makeFolderObjectStore(root);
    expect(await objects.putIfChanged('a/b.txt', 'one', 'text/plain')).toBe(true);
    const before = statSync(join(root, 'a/b.txt')).mtimeMs;
    expect(await objects.putIfChanged('a/b.txt', 'one', 'text/plain')).toBe(false);
    expect(statSync(join(root, 'a/b.txt')).mtimeMs).toBe(before);
    // Same size, other bytes.
    expect(await objects.putIfChanged('a/b.txt', 'two', 'text/plain')).toBe(true);
    expect(readFileSync(join(root, 'a/b.txt'), 'utf8')).toBe('two');
    // A file that was there before this store listed the folder is compared too.
    writeFileSync(join(root, 'a/c.txt'), 'kept');
    const fresh = makeFolderObjectStore(root);
    expect(await fresh.putIfChanged('a/c.txt', 'kept', 'text/plain')).toBe(false);
    expect(readdirSync(join(root, 'a')).sort()).toEqual(['b.txt', 'c.txt']);
  });

  it('lists a folder again once hundreds of others were written since, and still compares what is there', async () => {
    const objects = makeFolderObjectStore(root);
    expect(await objects.putIfChanged('first/a.txt', 'one', 'text/plain')).toBe(true);
    // More folders than the writer keeps the names of: the first is forgotten.
    for (let i = 0; i < 300; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, (_, k) => objects.putIfChanged(`many/${i + k}/x.txt`, 'x', 'text/plain')),
      );
    // Made there meanwhile by someone else: found when the folder is listed again.
    writeFileSync(join(root, 'first/b.txt'), 'theirs');
    expect(await objects.putIfChanged('first/a.txt', 'one', 'text/plain')).toBe(false);
    expect(await objects.putIfChanged('first/b.txt', 'theirs', 'text/plain')).toBe(false);
    expect(await objects.putIfChanged('first/b.txt', 'mine', 'text/plain')).toBe(true);
    expect(readFileSync(join(root, 'first/b.txt'), 'utf8')).toBe('mine');
    expect(readdirSync(join(root, 'many'))).toHaveLength(300);
  });

  it('fails only the file that cannot be written, not the others of its batch', async () => {
    const objects = makeFolderObjectStore(root);
    // A folder where the file should be.
    mkdirSync(join(root, 'blocked.html'), { recursive: true });
    const results = await Promise.allSettled([
      objects.putIfChanged('before.html', 'a', 'text/html'),
      objects.putIfChanged('blocked.html', 'b', 'text/html'),
      objects.putIfChanged('after.html', 'c', 'text/html'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'EISDIR' });
    expect(readFileSync(join(root, 'after.html'), 'utf8')).toBe('c');
  });

  it('answers a read or a removal after the writes asked for before it', async () => {
    const objects = makeFolderObjectStore(root);
    const put = objects.putIfChanged('feeds/all.json', '{"v":"1.1 – ünïcode"}', 'application/feed+json');
    expect(Buffer.from((await objects.get('feeds/all.json')) ?? []).toString()).toBe('{"v":"1.1 – ünïcode"}');
    expect(await put).toBe(true);
    void objects.putIfChanged('gone.html', 'x', 'text/html');
    expect(await objects.remove('gone.html')).toBe(true);
    expect(await objects.remove('gone.html')).toBe(false);
    expect(await objects.get('gone.html')).toBeUndefined();
  });

  it('lends a file read into a buffer of its own, used again only once given back', async () => {
    const objects = makeFolderObjectStore(root);
    await objects.putIfChanged('feeds/a.rss', 'a'.repeat(1000), 'application/rss+xml');
    await objects.putIfChanged('feeds/b.rss', 'b'.repeat(2000), 'application/rss+xml');
    const a = await objects.borrow?.('feeds/a.rss');
    const b = await objects.borrow?.('feeds/b.rss');
    expect(text(a?.bytes)).toBe('a'.repeat(1000));
    // Held at once: never the same buffer.
    expect(b?.bytes.buffer).not.toBe(a?.bytes.buffer);
    expect(text(b?.bytes)).toBe('b'.repeat(2000));
    a?.release();
    a?.release();
    const again = await objects.borrow?.('feeds/b.rss');
    expect(again?.bytes.buffer).toBe(a?.bytes.buffer);
    expect(text(again?.bytes)).toBe('b'.repeat(2000));
    // Released twice, lent once: the next read takes a buffer of its own.
    const third = await objects.borrow?.('feeds/a.rss');
    expect(third?.bytes.buffer).not.toBe(again?.bytes.buffer);
    expect(await objects.borrow?.('feeds/none.rss')).toBeUndefined();
  });

  it('reads a file with a write under way after that write, whether lent or not', async () => {
    const objects = makeFolderObjectStore(root);
    await objects.putIfChanged('feeds/c.json', 'old', 'application/feed+json');
    const put = objects.putIfChanged('feeds/c.json', 'new and longer', 'application/feed+json');
    const lent = objects.borrow?.('feeds/c.json');
    const read = objects.get('feeds/c.json');
    expect(text((await lent)?.bytes)).toBe('new and longer');
    expect(text(await read)).toBe('new and longer');
    expect(await put).toBe(true);
    const removal = objects.remove('feeds/c.json');
    expect(await objects.get('feeds/c.json')).toBeUndefined();
    expect(await removal).toBe(true);
  });

  it('reads a file again, after the write, when a write of it is asked while reading it', async () => {
    const objects = makeFolderObjectStore(root);
    await objects.putIfChanged('feeds/d.rss', 'old', 'application/rss+xml');
    // Asked before the reads have opened their files: the writer may be writing them meanwhile.
    const lent = objects.borrow?.('feeds/d.rss');
    const read = objects.get('feeds/d.rss');
    const fresh = objects.get('feeds/e.rss');
    const writes = [
      objects.putIfChanged('feeds/d.rss', 'new and longer', 'application/rss+xml'),
      objects.putIfChanged('feeds/e.rss', 'created meanwhile', 'application/rss+xml'),
    ];
    expect(text((await lent)?.bytes)).toBe('new and longer');
    expect(text(await read)).toBe('new and longer');
    expect(text(await fresh)).toBe('created meanwhile');
    expect(await Promise.all(writes)).toEqual([true, true]);
  });

  it('compares a file of the same size in full, however large', async () => {
    const objects = makeFolderObjectStore(root);
    const big = (c: string) => `${'x'.repeat(300_000)}${c}`;
    expect(await objects.putIfChanged('small.txt', 'abc', 'text/plain')).toBe(true);
    expect(await objects.putIfChanged('small.txt', 'abc', 'text/plain')).toBe(false);
    expect(await objects.putIfChanged('big.txt', big('1'), 'text/plain')).toBe(true);
    expect(await objects.putIfChanged('big.txt', big('1'), 'text/plain')).toBe(false);
    // Differs in its last byte only.
    expect(await objects.putIfChanged('big.txt', big('2'), 'text/plain')).toBe(true);
    expect(readFileSync(join(root, 'big.txt'), 'utf8')).toBe(big('2'));
    expect(await objects.putIfChanged('small.txt', 'abd', 'text/plain')).toBe(true);
  });

  it('refuses a key that leaves the folder', async () => {
    const objects = makeFolderObjectStore(root);
    await expect(objects.putIfChanged('../outside.html', 'x', 'text/html')).rejects.toThrow(
      /escapes the site folder/,
    );
  });
});
