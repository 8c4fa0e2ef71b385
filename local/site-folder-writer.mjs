// Writes the site folder's files on a thread of its own, started by local/site-folder.ts: creating a
// file costs tens of microseconds of system calls, times 300,000 files in a full publish, which this
// takes off the thread that renders. Plain JavaScript, so it loads the same under tsx and vitest.
//
// Messages: { id, op: 'puts', paths, ends, bytes } writes files whose bytes lie one after the other
// in `bytes` (an ArrayBuffer, handed over), file i ending at ends[i]; it answers { id, results, bytes }
// (the buffer handed back, to be used again), for each file true when it wrote, false when the file
// already held these bytes, or { message, code } when it failed; { id, op: 'remove', path } answers whether there was a file;
// { id, op: 'get', path } answers { id, bytes } (an ArrayBuffer, handed over) or { id } when there
// is no file. Requests are answered in order, so a read sees every write asked for before it.
// A failure answers { id, error: { message, code } }.
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import { parentPort } from 'node:worker_threads';

/**
 * The names in the folders this thread has looked at lately, as it left them: a folder is listed
 * once while it stays among the last `FOLDERS` used. All of them were kept before: in a full publish
 * of 100,000 events, the names of some 200,000 files per writer, a memory that grew with the archive.
 */
const folders = new Map();
const FOLDERS = 256;
const folderOf = (dir) => {
  let names = folders.get(dir);
  if (names) {
    // Used last: the Map's order is the order of use, oldest first.
    folders.delete(dir);
  } else {
    // Owner-only like the rest of the data folder (the local server, this user, serves them).
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    names = new Set(readdirSync(dir));
    if (folders.size >= FOLDERS) folders.delete(folders.keys().next().value);
  }
  folders.set(dir, names);
  return names;
};

// Where a file of the same size is read back to compare: one buffer, grown as needed, not one per file.
let compared = Buffer.allocUnsafeSlow(0);

const sameBytes = (path, bytes) => {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    if (fstatSync(fd).size !== bytes.length) return false;
    if (compared.length < bytes.length)
      compared = Buffer.allocUnsafeSlow(Math.max(bytes.length, 2 * compared.length));
    let at = 0;
    while (at < bytes.length) {
      const read = readSync(fd, compared, at, bytes.length - at, at);
      if (read === 0) return false;
      at += read;
    }
    return compared.subarray(0, at).equals(bytes);
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
};

let temporary = 0;

const put = (path, bytes) => {
  const dir = dirname(path);
  const names = folderOf(dir);
  const name = basename(path);
  if (!names.has(name)) {
    // Not there when the folder was listed: created in place, without looking for it first
    // (`wx` fails if it is there after all, and then it is compared and replaced below).
    try {
      writeFileSync(path, bytes, { flag: 'wx', mode: 0o600 });
      names.add(name);
      return true;
    } catch (error) {
      if (error.code !== 'EEXIST') {
        folders.delete(dir);
        throw error;
      }
      names.add(name);
    }
  }
  if (sameBytes(path, bytes)) return false;
  // Replaced by a rename, so the server never serves half a file.
  const tmp = `${path}.${process.pid}-${temporary++}.tmp`;
  try {
    writeFileSync(tmp, bytes, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    // The folder went away meanwhile: list it again next time.
    folders.delete(dir);
    throw error;
  }
  return true;
};

const remove = (path) => {
  const names = folders.get(dirname(path));
  try {
    rmSync(path);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
    names?.delete(basename(path));
    return false;
  }
  names?.delete(basename(path));
  return true;
};

const get = (path) => {
  try {
    const bytes = readFileSync(path);
    // A file's own buffer is handed over as it is; a small one sits in Node's pool and is copied.
    if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer;
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  } catch (error) {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  }
};

const failureOf = (error) => ({ message: String(error?.message ?? error), code: error?.code });

const puts = (paths, ends, bytes) => {
  const all = Buffer.from(bytes);
  let start = 0;
  return paths.map((path, i) => {
    const end = ends[i];
    const body = all.subarray(start, end);
    start = end;
    try {
      return put(path, body);
    } catch (error) {
      return failureOf(error);
    }
  });
};

parentPort?.on('message', ({ id, op, path, paths, ends, bytes }) => {
  try {
    if (op === 'puts') {
      parentPort.postMessage({ id, results: puts(paths, ends, bytes), bytes }, [bytes]);
      return;
    }
    if (op === 'get') {
      const bytes = get(path);
      parentPort.postMessage({ id, bytes }, bytes ? [bytes] : []);
      return;
    }
    parentPort.postMessage({ id, result: remove(path) });
  } catch (error) {
    parentPort.postMessage({ id, error: failureOf(error) });
  }
});
