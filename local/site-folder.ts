import { type FileHandle, open } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  type Borrowed,
  encodeBodies,
  type ObjectBody,
  type ObjectStore,
  piecesOf,
} from '../shared/adapters/object-store.js';

const WRITER = resolve(import.meta.dirname, 'site-folder-writer.mjs');

interface Answer {
  id: number;
  result?: boolean;
  /** A batch's answers, in its order: whether each was written, or why it failed. */
  results?: (boolean | Failure)[];
  bytes?: ArrayBuffer;
  error?: Failure;
}

interface Failure {
  message: string;
  code?: string;
}

type Call =
  | { op: 'puts'; paths: string[]; ends: number[]; bytes: ArrayBuffer }
  | { op: 'remove'; path: string }
  | { op: 'get'; path: string };

interface Put {
  path: string;
  body: ObjectBody;
  resolve: (written: boolean) => void;
  reject: (error: Error) => void;
}

/** A batch of files is sent once it holds this many characters, or at the end of the turn. */
const BATCH_CHARS = 1 << 20;

/**
 * Batch buffers come back from the writer and are used again, up to this many, each at least
 * `BUFFER_BYTES` long (and no longer: one made for a large file is let go, or the spares would grow
 * with a busy month's archive documents). Memory touched for the first time costs a page fault per
 * 4 KB: on this machine's Firecracker VM (as on Lambda's) about 6 ms a megabyte, against 0.05 ms to
 * write it again (measured), so a new buffer per batch cost more than encoding into it.
 */
const SPARE_BUFFERS = 16;
const BUFFER_BYTES = 2 << 20;

/**
 * Buffers that borrowed reads (a run's feeds) go into, kept for the next once released: up to this
 * many, each at least `READ_BYTES` long and no longer. A fresh buffer per file would be memory
 * touched for the first time, and external memory that makes V8 collect.
 */
const READ_BUFFERS = 256;
const READ_BYTES = 256 << 10;

const errorOf = ({ message, code }: Failure): Error => Object.assign(new Error(message), { code });

/** The first buffer in `spare` at least `size` long, taken out of it, or undefined. */
const takeFitting = <B extends { byteLength: number }>(spare: B[], size: number): B | undefined => {
  const at = spare.findIndex((buffer) => buffer.byteLength >= size);
  return at >= 0 ? spare.splice(at, 1)[0] : undefined;
};

/**
 * The file's bytes, read into the buffer `into` gives for its size, or undefined when there is no
 * file. The reads run on libuv's threads, so a file that is not in the page cache never stalls the
 * thread that renders. Reading a file the writer replaces meanwhile is safe: it replaces files by
 * renaming, and the open file keeps the bytes it had.
 */
const readWhole = async (path: string, into: (size: number) => Buffer): Promise<Buffer | undefined> => {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { size } = await file.stat();
    const buffer = into(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await file.read(buffer, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return buffer.subarray(0, at);
  } finally {
    await file.close();
  }
};

/**
 * The local stand-in for the site bucket: a folder the local server serves.
 *
 * Files are written by a thread of its own (site-folder-writer.mjs) that lists each folder once,
 * creates new files without looking for them first, reads an existing one back only when its size
 * matches, and replaces it through a rename so it is never seen half written. The thread is started
 * on first use and does not keep the process alive when nothing is being written.
 *
 * Files go to it in batches: their bytes encoded into one buffer that is handed over, not copied,
 * with one message for up to a megabyte of files. A message per file cost the rendering thread
 * about 30 µs each, more than rendering a page.
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
      if (answer.error) call.reject(errorOf(answer.error));
      else call.resolve(answer);
    });
    worker.on('error', (error) => failAll(worker, error));
    worker.on('exit', (code) =>
      failAll(worker, new Error(`the site folder's writer stopped (exit code ${code})`)),
    );
    return worker;
  };
  const post = (message: Call, transfer: ArrayBuffer[] = []): Promise<Answer> =>
    new Promise((resolveCall, reject) => {
      writer ??= start();
      const id = next++;
      // Referenced while it owes answers, so the process waits for them.
      if (waiting.size === 0) writer.ref();
      waiting.set(id, { resolve: resolveCall, reject });
      writer.postMessage({ id, ...message }, transfer);
    });
  /**
   * Files with a write or removal asked for and not yet answered. A read of one of them goes
   * through the writer, after it; any other file is read at once, without waiting for the writes
   * queued before it. A read that a write of its file overtakes (asked while it reads: the writer
   * may be creating the file in place) is read again through the writer.
   */
  const pending = new Map<string, number>();
  const reading = new Map<string, { readers: number; overtaken: boolean }>();
  const hold = (path: string) => {
    pending.set(path, (pending.get(path) ?? 0) + 1);
    const read = reading.get(path);
    if (read) read.overtaken = true;
  };
  const letGo = (path: string) => {
    const left = (pending.get(path) ?? 1) - 1;
    if (left === 0) pending.delete(path);
    else pending.set(path, left);
  };
  const readBuffers: Buffer[] = [];
  /**
   * The file's bytes, or undefined when there is none: read at once into the buffer `into` gives
   * (see `pending`), or through the writer (`viaWriter`) when a write of the file is under way or
   * overtakes the read.
   */
  const read = async (
    path: string,
    into: (size: number) => Buffer,
  ): Promise<{ bytes: Uint8Array | undefined; viaWriter: boolean }> => {
    if (!pending.has(path)) {
      const entry = reading.get(path) ?? { readers: 0, overtaken: false };
      entry.readers++;
      reading.set(path, entry);
      try {
        const bytes = await readWhole(path, into);
        if (!entry.overtaken) return { bytes, viaWriter: false };
      } finally {
        if (--entry.readers === 0) reading.delete(path);
      }
    }
    const { bytes } = await ask({ op: 'get', path });
    return { bytes: bytes ? new Uint8Array(bytes) : undefined, viaWriter: true };
  };
  let batch: Put[] = [];
  let batchChars = 0;
  let scheduled = false;
  const spare: ArrayBuffer[] = [];
  /** A buffer of its own (not a slice of Node's shared pool, so it can be handed over), spare if one fits. */
  const bufferFor = (size: number): Buffer =>
    Buffer.from(takeFitting(spare, size) ?? new ArrayBuffer(Math.max(size, BUFFER_BYTES)), 0, size);
  const flush = () => {
    scheduled = false;
    if (batch.length === 0) return;
    const puts = batch;
    batch = [];
    batchChars = 0;
    const { bytes, ends } = encodeBodies(
      puts.map((put) => put.body),
      bufferFor,
    );
    // Encoded: the text need not live until the writer answers (a megabyte a batch, several in flight).
    for (const put of puts) put.body = '';
    post({ op: 'puts', paths: puts.map((put) => put.path), ends, bytes: bytes.buffer as ArrayBuffer }, [
      bytes.buffer as ArrayBuffer,
    ]).then(
      ({ results = [], bytes: returned }) => {
        // Not one made for a large file (see `SPARE_BUFFERS`).
        if (returned && returned.byteLength <= BUFFER_BYTES && spare.length < SPARE_BUFFERS)
          spare.push(returned);
        puts.forEach((put, i) => {
          letGo(put.path);
          const result = results[i];
          if (typeof result === 'boolean') put.resolve(result);
          else put.reject(errorOf(result ?? { message: 'the writer gave no answer for this file' }));
        });
      },
      (error: Error) => {
        for (const put of puts) {
          letGo(put.path);
          put.reject(error);
        }
      },
    );
  };
  /** Other requests wait for the files asked for before them. */
  const ask = (message: Call): Promise<Answer> => {
    flush();
    return post(message);
  };
  return {
    writesInFlight: 256,
    putIfChanged: (key, body) =>
      new Promise<boolean>((resolvePut, reject) => {
        const path = pathOf(key);
        hold(path);
        batch.push({ path, body, resolve: resolvePut, reject });
        for (const piece of piecesOf(body)) batchChars += piece.length;
        if (batchChars >= BATCH_CHARS) flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }),
    async remove(key) {
      const path = pathOf(key);
      hold(path);
      try {
        return (await ask({ op: 'remove', path })).result === true;
      } finally {
        letGo(path);
      }
    },
    get: async (key) => (await read(pathOf(key), Buffer.allocUnsafe)).bytes,
    async borrow(key): Promise<Borrowed | undefined> {
      let buffer: Buffer | undefined;
      const { bytes, viaWriter } = await read(pathOf(key), (size) => {
        buffer = takeFitting(readBuffers, size) ?? Buffer.allocUnsafeSlow(Math.max(size, READ_BYTES));
        return buffer;
      });
      if (!bytes) return undefined;
      // Read through the writer, the bytes are its own; a buffer read into but overtaken is dropped.
      if (viaWriter || !buffer) return { bytes, release: () => undefined };
      const own = buffer;
      let released = false;
      return {
        bytes,
        release: () => {
          if (released) return;
          released = true;
          if (own.byteLength <= READ_BYTES && readBuffers.length < READ_BUFFERS) readBuffers.push(own);
        },
      };
    },
  };
};
