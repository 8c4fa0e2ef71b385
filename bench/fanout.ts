import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRuntime } from '../local/runtime.js';
import type { ChangeMessage } from '../shared/domain/change-message.js';
import { writeResult } from './results.js';

const TAGS = Array.from({ length: 50 }, (_, i) => `Region ${i}`);
const BATCH = 100;

/** n distinct, valid, realistic-sized events. */
const makeEvents = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    date: `2017-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`,
    headline: `Fan-out event ${i}: parliament debates a bill on regional funding after a week of protests`,
    body: 'A paragraph of reporting about the event, long enough to be a realistic summary. '.repeat(6),
    topic: 'Politics and elections',
    tags: [TAGS[i % 50], TAGS[(i * 7 + 1) % 50]].filter((t, k, a) => a.indexOf(t) === k),
    sources: [{ name: 'Wire', url: `https://news.example.org/fanout/${i}` }],
  }));

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

/** A webhook receiver that timestamps the first arrival of each change (de-duplicated on id + revision). */
const startReceiver = async () => {
  const arrivals = new Map<string, number>();
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      requests += 1;
      const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Message: string };
      const { id, revision } = JSON.parse(envelope.Message) as { id: string; revision: number };
      const key = `${id}@${revision}`;
      if (!arrivals.has(key)) arrivals.set(key, at);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/tidings`,
    arrivals,
    requests: () => requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
};

/**
 * Post-to-webhook latency through the whole local pipeline: POST /api/events/batch → change
 * capture → process-changes → PublishBatch on the local topic → HTTP webhook with the SNS envelope.
 * Batches are posted one after another, as an importing publisher would.
 */
export const runFanout = async (args: string[]) => {
  const total = Number(args[0] ?? 1_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'tidings-bench-fanout-'));
  // The site publisher (a separate function in AWS) is off, so the figures are the fan-out path's own.
  const runtime = await startRuntime({ dataDir, port: 0, loadSamples: false, publishIntervalMs: 0 });
  const receiver = await startReceiver();
  try {
    const registered = await fetch(`${runtime.url}/api/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${runtime.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url }),
    });
    if (registered.status !== 201) throw new Error(`webhook registration answered ${registered.status}`);

    // Count PublishBatch calls: the change handler calls the method on this instance.
    const topic = runtime.topic;
    const publishBatch = topic.publishBatch.bind(topic);
    let publishCalls = 0;
    topic.publishBatch = (messages: readonly ChangeMessage[]) => {
      publishCalls += 1;
      return publishBatch(messages);
    };

    const events = makeEvents(total);
    const postedAt = new Map<string, number>();
    for (let i = 0; i < events.length; i += BATCH) {
      const sentAt = performance.now();
      const res = await fetch(`${runtime.url}/api/events/batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${runtime.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ events: events.slice(i, i + BATCH) }),
      });
      if (res.status !== 200) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
      const { results } = (await res.json()) as {
        results: { status: number; id: string; revision: number }[];
      };
      for (const r of results) {
        if (r.status !== 201) throw new Error(`event not created: ${JSON.stringify(r)}`);
        postedAt.set(`${r.id}@${r.revision}`, sentAt);
      }
    }

    const deadline = Date.now() + 120_000;
    while (receiver.arrivals.size < total) {
      if (Date.now() > deadline) {
        throw new Error(`only ${receiver.arrivals.size} of ${total} deliveries arrived within 120 s`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }

    const latencies = [...postedAt].map(([key, sent]) => {
      const arrived = receiver.arrivals.get(key);
      if (arrived === undefined) throw new Error(`no delivery for ${key}`);
      return arrived - sent;
    });
    latencies.sort((a, b) => a - b);
    const p50Ms = Number(percentile(latencies, 50).toFixed(1));
    const p99Ms = Number(percentile(latencies, 99).toFixed(1));
    const snsCallsPerEvent = Number((publishCalls / total).toFixed(3));

    console.log(`fanout: ${total} events, post-to-webhook latency p50 ${p50Ms} ms, p99 ${p99Ms} ms`);
    console.log(
      `fanout: SNS PublishBatch calls ${publishCalls}, per event ${snsCallsPerEvent} (target <= 0.15)`,
    );
    if (receiver.requests() !== total) {
      console.log(`fanout: the receiver got ${receiver.requests()} requests for ${total} changes (retries)`);
    }
    const path = writeResult('fanout', { p50Ms, p99Ms, snsCallsPerEvent });
    console.log(`fanout: wrote ${path}`);
  } finally {
    await runtime.stop();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
};
