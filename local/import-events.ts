import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import verifyFile from 'stream-json/file/verifier.js';
import streamArray from 'stream-json/streamers/stream-array.js';
import { BATCH_MAX } from '../shared/services/events.js';

/** One event that was not imported: where it is in the file and why. */
export interface Rejection {
  /** `line 12` (NDJSON) or `item 12` (JSON array), 1-based. */
  location: string;
  reason: string;
}

export interface ImportResult {
  imported: number;
  unchanged: number;
  /** In file order. */
  rejected: Rejection[];
  /** True when the signal stopped the import before the end of the file. */
  interrupted?: boolean;
}

export interface ImportProgress {
  /** How far into the file the events have an outcome, in bytes (batches settle out of order). */
  bytesDone: number;
  totalBytes: number;
  /** Items whose outcome is known. */
  done: number;
  imported: number;
  unchanged: number;
  rejected: number;
}

export interface ImportOptions {
  /** A JSON array or NDJSON file of events. */
  file: string;
  /** The API's base URL, e.g. http://localhost:3000. */
  url: string;
  apiKey: string;
  /** Batch requests in flight at once (default 4). */
  concurrency?: number;
  /** Events per batch request (default and maximum: the API's BATCH_MAX). */
  batchSize?: number;
  onProgress?: (progress: ImportProgress) => void;
  /** Stops reading; batches already sent are finished and counted. */
  signal?: AbortSignal;
  /** Backoff before the first retry after a network error, doubled each time (default 250). */
  retryDelayMs?: number;
  /** Per-request timeout (default 120 s); a timeout is retried like a network error. */
  requestTimeoutMs?: number;
  /**
   * Awaited before each batch is sent, to hold the import back: the CLI waits here for the
   * in-process runtime's change capture to catch up, so its backlog stays bounded.
   */
  pace?: () => Promise<void>;
}

export type ImportErrorKind = 'file' | 'auth' | 'server';

/**
 * The import could not run or had to stop: the file cannot be read, the server refused the key,
 * or the server stopped answering. `partial` holds what was settled before it stopped.
 */
export class ImportError extends Error {
  constructor(
    message: string,
    readonly kind: ImportErrorKind,
    readonly partial?: ImportResult,
  ) {
    super(message);
    this.name = 'ImportError';
  }
}

export type FileFormat = 'json-array' | 'ndjson';

export interface FileInfo {
  size: number;
  format: FileFormat;
}

const isBlank = (byte: number): boolean => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;

const fileError = (file: string, error: unknown): ImportError => {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : (error as Error).message;
  return new ImportError(`${file}: cannot read it (${why})`, 'file');
};

/**
 * Checks that the file can be read and tells its format from the first byte that is not
 * whitespace (or a byte order mark): `[` is a JSON array, anything else is read as NDJSON.
 */
export const inspectFile = async (file: string): Promise<FileInfo> => {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    handle = await open(file, 'r');
    const chunk = Buffer.alloc(64 * 1024);
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) return { size: info.size, format: 'ndjson' };
      let i = 0;
      if (position === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
      for (; i < bytesRead; i++) {
        const byte = chunk[i] as number;
        if (!isBlank(byte)) return { size: info.size, format: byte === 0x5b ? 'json-array' : 'ndjson' };
      }
      position += bytesRead;
    }
  } catch (error) {
    throw error instanceof ImportError ? error : fileError(file, error);
  } finally {
    await handle?.close();
  }
};

interface Item {
  /** Position in the file, to report rejections in file order. */
  seq: number;
  location: string;
  value: unknown;
  /** Bytes of the file up to the end of this item (approximately, for a JSON array). */
  end: number;
}

type ReadResult = Item | { seq: number; location: string; reason: string };

async function* readNdjson(file: string): AsyncGenerator<ReadResult> {
  const input = createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  // readline does not forward the input's errors: stop the lines and rethrow after them.
  let readError: Error | undefined;
  input.once('error', (error) => {
    readError = error;
    lines.close();
  });
  let n = 0;
  let end = 0;
  try {
    for await (const raw of lines) {
      n += 1;
      end += Buffer.byteLength(raw) + 1;
      const line = n === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (line.trim() === '') continue;
      const location = `line ${n}`;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        yield { seq: n, location, reason: `not valid JSON: ${(error as Error).message}` };
        continue;
      }
      yield { seq: n, location, value, end };
    }
  } finally {
    lines.close();
    input.destroy();
  }
  if (readError) throw readError;
}

/**
 * A JSON array cannot be resynchronised after a syntax error, and the parser drops the items of
 * the block it fails in, so the file is checked (streaming, in constant memory) before anything
 * is sent: a broken array imports nothing and the error names its line and column.
 */
const verifyJsonArray = async (file: string): Promise<void> => {
  try {
    await verifyFile(file);
  } catch (error) {
    const { line, pos, message } = error as Error & { line?: number; pos?: number };
    if (line === undefined) throw fileError(file, error);
    const why = message.replace(/^.*cannot parse input: /, '');
    throw new ImportError(
      `${file}: not valid JSON at line ${line}, column ${pos}: ${why}; nothing was imported`,
      'file',
    );
  }
};

async function* readJsonArray(file: string): AsyncGenerator<ReadResult> {
  const input = createReadStream(file);
  const parser = streamArray.withParserAsStream();
  input.once('error', (error) => parser.destroy(error));
  input.pipe(parser);
  try {
    for await (const { key, value } of parser as AsyncIterable<{ key: number; value: unknown }>) {
      yield { seq: key + 1, location: `item ${key + 1}`, value, end: input.bytesRead };
    }
  } finally {
    input.destroy();
    parser.destroy();
  }
}

interface ApiIssue {
  path?: string;
  rule?: string;
}

interface ApiError {
  code?: string;
  message?: string;
  issues?: ApiIssue[];
}

interface ItemResult {
  index: number;
  status: number;
  id?: string;
  error?: ApiError;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isBatchResponse = (body: unknown): body is { results: ItemResult[] } =>
  isRecord(body) &&
  Array.isArray(body.results) &&
  body.results.every((r) => isRecord(r) && typeof r.index === 'number' && typeof r.status === 'number');

/** The message of an error response: the API's `{error: {message}}` or the gateway's `{message}`. */
const messageOf = (body: unknown, status: number): string => {
  if (isRecord(body)) {
    if (isRecord(body.error) && typeof body.error.message === 'string') return body.error.message;
    if (typeof body.message === 'string') return body.message;
  }
  return `HTTP ${status}`;
};

/**
 * Why the API refused one item, in the file's terms: field paths without the batch's
 * `events[3].` prefix, and references to other items of the batch by their location.
 */
const reasonOf = (error: ApiError | undefined, batch: readonly Item[]): string => {
  if (error?.issues && error.issues.length > 0) {
    return error.issues
      .map(({ path = '', rule = '' }) => {
        const field = path.replace(/^events\[\d+\]\.?/, '');
        return field ? `${field}: ${rule}` : rule;
      })
      .join('; ');
  }
  const message = error?.message ?? 'rejected without a reason';
  return message.replace(/events\[(\d+)\]/g, (match, k: string) => batch[Number(k)]?.location ?? match);
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const NETWORK_RETRIES = 3;
/** Answers worth repeating as they are before splitting the batch. */
const TRANSIENT = new Set([429, 502, 503, 504]);

const describeNetworkError = (error: unknown): string => {
  const err = error as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return 'the request timed out';
  return err.cause?.code ?? err.cause?.message ?? err.message;
};

/**
 * Streams a JSON array or NDJSON file of events into the API's batch endpoint, through the same
 * validation and writes as any client. Memory stays flat: at most `concurrency` batches are in
 * flight and reading pauses while they are.
 */
export const importEvents = async (options: ImportOptions): Promise<ImportResult> => {
  const { file, apiKey, onProgress, signal } = options;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const batchSize = Math.min(BATCH_MAX, Math.max(1, options.batchSize ?? BATCH_MAX));
  const retryDelayMs = options.retryDelayMs ?? 250;
  const requestTimeoutMs = options.requestTimeoutMs ?? 120_000;
  const endpoint = `${options.url.replace(/\/+$/, '')}/api/events/batch`;

  const { size, format } = await inspectFile(file);
  if (format === 'json-array') await verifyJsonArray(file);
  const reader = format === 'json-array' ? readJsonArray(file) : readNdjson(file);

  let imported = 0;
  let unchanged = 0;
  const rejected: (Rejection & { seq: number })[] = [];
  const result = (): ImportResult => ({
    imported,
    unchanged,
    rejected: rejected.sort((a, b) => a.seq - b.seq).map(({ location, reason }) => ({ location, reason })),
  });
  const reject = (item: { seq: number; location: string }, reason: string) => {
    rejected.push({ seq: item.seq, location: item.location, reason });
  };
  /** How far into the file every item has an outcome, roughly: batches settle out of order. */
  let settledBytes = 0;
  const report = () =>
    onProgress?.({
      bytesDone: Math.min(settledBytes, size),
      totalBytes: size,
      done: imported + unchanged + rejected.length,
      imported,
      unchanged,
      rejected: rejected.length,
    });

  const post = async (batch: readonly Item[]): Promise<{ status: number; body: unknown }> => {
    const body = JSON.stringify({ events: batch.map((item) => item.value) });
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        const text = await response.text();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
        if (TRANSIENT.has(response.status) && attempt < NETWORK_RETRIES) {
          await sleep(retryDelayMs * 2 ** attempt);
          continue;
        }
        return { status: response.status, body: parsed };
      } catch (error) {
        if (attempt >= NETWORK_RETRIES) {
          throw new ImportError(
            `no answer from ${endpoint} after ${NETWORK_RETRIES + 1} attempts (${describeNetworkError(error)})`,
            'server',
          );
        }
        await sleep(retryDelayMs * 2 ** attempt);
      }
    }
  };

  /** Sends a batch; a batch the API refuses as a whole is halved down to single events. */
  const send = async (batch: readonly Item[]): Promise<void> => {
    const { status, body } = await post(batch);
    if (status === 200 && isBatchResponse(body)) {
      const byIndex = new Map(body.results.map((r) => [r.index, r]));
      batch.forEach((item, index) => {
        const r = byIndex.get(index);
        if (!r) reject(item, 'the server returned no result for this event');
        else if (r.status === 201) imported += 1;
        else if (r.status === 200) unchanged += 1;
        else reject(item, reasonOf(r.error, batch));
      });
      return;
    }
    if (status === 401 || status === 403) {
      throw new ImportError(
        `the server at ${options.url} refused the API key (${status} ${messageOf(body, status)})`,
        'auth',
      );
    }
    if (status === 200 || status === 404 || status === 405) {
      throw new ImportError(
        `${endpoint} is not a Tidings batch endpoint (HTTP ${status}: ${messageOf(body, status).slice(0, 200)})`,
        'server',
      );
    }
    if (batch.length === 1) {
      reject(batch[0] as Item, `refused on its own with HTTP ${status}: ${messageOf(body, status)}`);
      return;
    }
    const half = Math.ceil(batch.length / 2);
    await send(batch.slice(0, half));
    await send(batch.slice(half));
  };

  const inFlight = new Set<Promise<void>>();
  let fatal: unknown;
  let batch: Item[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const items = batch;
    batch = [];
    // Backpressure: the reader waits here while the limit is reached.
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    await options.pace?.();
    if (fatal) return;
    const request: Promise<void> = send(items)
      .catch((error: unknown) => {
        fatal ??= error;
      })
      .finally(() => {
        inFlight.delete(request);
        settledBytes = Math.max(settledBytes, items.at(-1)?.end ?? 0);
        report();
      });
    inFlight.add(request);
  };

  let interrupted = false;
  try {
    for await (const read of reader) {
      if (fatal) break;
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      if ('reason' in read) {
        reject(read, read.reason);
        continue;
      }
      batch.push(read);
      if (batch.length >= batchSize) await flush();
    }
    if (!fatal && !interrupted) await flush();
  } catch (error) {
    fatal ??= fileError(file, error);
  } finally {
    await Promise.all(inFlight);
  }

  if (fatal) {
    const message = fatal instanceof Error ? fatal.message : String(fatal);
    throw new ImportError(message, fatal instanceof ImportError ? fatal.kind : 'server', result());
  }
  if (!interrupted) settledBytes = size;
  report();
  return interrupted ? { ...result(), interrupted } : result();
};
