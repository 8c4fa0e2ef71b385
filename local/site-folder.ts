import { join, resolve, sep } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ObjectStore } from '../shared/adapters/object-store.js';

const WRITER = resolve(import.meta.dirname, 'site-folder-writer.mjs');

/**
 * The same string, stored in one piece. A page rendered by many concatenations is a tree of
 * pieces, which postMessage copies several times slower than one piece (150 µs against 90 µs for
 * a 7 KB page, flattening included); running a regular expression over a string makes V8 store it
 * in one piece.
 */
const flat = (text: string): string => {
  /\uffff/.test(text);
  return text;
};

interface Answer {
  id: number;
  result?: boolean;
  bytes?: ArrayBuffer;
  error?: { message: string; code?: string };
}

type Call =
  | { op: 'put'; path: string; body: string }
  | { op: 'remove'; path: string }
  | { op: 'get'; path: string };

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
  const waiting = new Map<number, { resolve: (answer: Answer) => void; reject: (error: Error) => void }>();
  let next = 0;
  const failAll = (worker: Worker, error: Error) => {
    if (writer !== worker) return;
    writer = undefined;
    for (const { reject } of waiting.values()) reject(error);
    waiting.clear();
  };
  const start = (): Worker => {
    const worker = new Worker(WRITER);
    worker.on('message', (answer: Answer) => {
      const call = waiting.get(answer.id);
      waiting.delete(answer.id);
      if (waiting.size === 0) worker.unref();
      if (!call) return;
      const { error } = answer;
      if (error) call.reject(Object.assign(new Error(error.message), { code: error.code }));
      else call.resolve(answer);
    });
    worker.on('error', (error) => failAll(worker, error));
    worker.on('exit', (code) =>
      failAll(worker, new Error(`the site folder's writer stopped (exit code ${code})`)),
    );
    return worker;
  };
  const ask = (message: Call): Promise<Answer> =>
    new Promise((resolveCall, reject) => {
      writer ??= start();
      const id = next++;
      // Referenced while it owes answers, so the process waits for them.
      if (waiting.size === 0) writer.ref();
      waiting.set(id, { resolve: resolveCall, reject });
      writer.postMessage({ id, ...message });
    });
  return {
    putIfChanged: async (key, body) =>
      (await ask({ op: 'put', path: pathOf(key), body: flat(body) })).result === true,
    remove: async (key) => (await ask({ op: 'remove', path: pathOf(key) })).result === true,
    async get(key) {
      const { bytes } = await ask({ op: 'get', path: pathOf(key) });
      return bytes ? Buffer.from(bytes).toString('utf8') : undefined;
    },
  };
};
