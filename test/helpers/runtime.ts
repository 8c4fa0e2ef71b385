import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Runtime, type RuntimeOptions, startRuntime } from '../../local/runtime.js';
import { defaultLookup, type Lookup } from '../../shared/adapters/endpoint-guard.js';
import { fakeLookup } from './lookup.js';

export interface TestRuntime extends Runtime {
  /** fetch against the runtime's URL. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** fetch with the API key and a JSON body. */
  write(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Posts events through the batch API, 25 at a time, and waits until the change stream has handled them. */
  postAll(events: readonly unknown[]): Promise<void>;
  /** Stops the runtime and deletes its data folder. */
  dispose(): Promise<void>;
}

/**
 * Names reserved for examples and tests (RFC 2606, RFC 6761), where the tests' webhooks point and
 * nothing listens, are answered at once as not found, rather than asked of this machine's resolver,
 * which is slow to answer dozens at a time (50 webhook registrations at once took 5 to 10 s,
 * waiting on its timeouts). Other names, and the guard's rules, are as the runtime has them.
 */
const RESERVED = /(^|\.)(example(\.(com|net|org))?|invalid|test)$/i;
const notFound = fakeLookup({});
const testLookup: Lookup = (hostname, options, callback) =>
  (RESERVED.test(hostname) ? notFound : defaultLookup)(hostname, options, callback);

/** A local runtime on a free port and a fresh temporary data folder, without the sample events. */
export const startTestRuntime = async (options: Partial<RuntimeOptions> = {}): Promise<TestRuntime> => {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'tidings-test-'));
  const runtime = await startRuntime({
    port: 0,
    loadSamples: false,
    publishIntervalMs: 0,
    webhookLookup: testLookup,
    ...options,
    dataDir,
  });
  const write: TestRuntime['write'] = (method, path, body, headers = {}) =>
    fetch(`${runtime.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${runtime.apiKey}`,
        'content-type': 'application/json',
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  return {
    ...runtime,
    request: (path, init) => fetch(`${runtime.url}${path}`, init),
    write,
    async postAll(events) {
      for (let i = 0; i < events.length; i += 25) {
        const res = await write('POST', '/api/events/batch', { events: events.slice(i, i + 25) });
        if (res.status !== 200) throw new Error(`the batch API answered ${res.status}: ${await res.text()}`);
      }
      await runtime.capture.idle();
    },
    async dispose() {
      await runtime.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
};
