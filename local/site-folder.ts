import { join, resolve, sep } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ObjectStore } from '../shared/adapters/object-store.js';

const WRITER = resolve(import.meta.dirname, 'site-folder-writer.mjs');

interface Answer {
  id: number;
  result?: boolean;
  error?: { message: string; code?: string };
}

/**
 * The local stand-in for the site bucket: a folder the local server serves.
 *
 * Files are written by a thread of its own (site-folder-writer.mjs) that lists each folder once,
 * creates new files without looking for them first, reads an existing one back only when its size
 * matches, and replaces it through a rename so it is never seen half written. The thread is started
 * on first use and does not keep the process alive when nothing is being written.
 */
export const makeFolderObjectStore = (root: string): ObjectStore => {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const path = resolve(join(base, key));
    if (!path.startsWith(base + sep)) throw new Error(`object key ${key} escapes the site folder`);
    return path;
  };
  let writer: Worker | undefined;
  const waiting = new Map<number, { resolve: (result: boolean) => void; reject: (error: Error) => void }>();
  let next = 0;
  const failAll = (worker: Worker, error: Error) => {
    if (writer !== worker) return;
    writer = undefined;
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  const start = (): Worker => {
    const worker = new Worker(WRITER);
    worker.on('message', ({ id, result, error }: Answer) => {
      const call = waiting.get(id);
      waiting.delete(id);
      if (waiting.size === 0) worker.unref();
      if (!call) return;
      if (error) call.reject(Object.assign(new Error(error.message), { code: error.code }));
      else call.resolve(result === true);
    });
    worker.on('error', (error) => failAll(worker, error));
    worker.on('exit', (code) =>
      failAll(worker, new Error(`the site folder's writer stopped (exit code ${code})`)),
    );
    return worker;
  };
  const ask = (message: { op: 'put' | 'remove'; path: string; body?: string }): Promise<boolean> =>
    new Promise((resolveCall, reject) => {
      writer ??= start();
      const id = next++;
      // Referenced while it owes answers, so the process waits for them.
      if (waiting.size === 0) writer.ref();
      waiting.set(id, { resolve: resolveCall, reject });
      writer.postMessage({ id, ...message });
    });
  return {
    putIfChanged: async (key, body) => ask({ op: 'put', path: pathOf(key), body }),
    remove: async (key) => ask({ op: 'remove', path: pathOf(key) }),
  };
};
