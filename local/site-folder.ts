import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { ObjectStore } from '../shared/adapters/object-store.js';

/** The local stand-in for the site bucket: a folder the local server serves. */
export const makeFolderObjectStore = (root: string): ObjectStore => {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const path = resolve(join(base, key));
    if (!path.startsWith(base + sep)) throw new Error(`object key ${key} escapes the site folder`);
    return path;
  };
  return {
    async putIfChanged(key, body) {
      const path = pathOf(key);
      const bytes = Buffer.from(body);
      const existing = await readFile(path).catch(() => undefined);
      if (existing?.equals(bytes)) return false;
      await mkdir(dirname(path), { recursive: true });
      // Write then rename, so the server never serves half a file.
      const tmp = `${path}.${randomUUID()}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
      return true;
    },
    async remove(key) {
      const path = pathOf(key);
      const existed = await readFile(path).then(
        () => true,
        () => false,
      );
      if (existed) await rm(path);
      return existed;
    },
  };
};
