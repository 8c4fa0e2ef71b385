/**
 * A model of AWS for benchmarks (and only for them: nothing under shared/, functions/ or local/
 * imports this file). The publish benchmark runs against a local folder and dynalite, which answer
 * in microseconds and take as many requests at once as they are given; in AWS every request waits
 * on the network and a client's socket pool. The wrappers here make each request wait a modelled
 * latency under the deployed in-flight limits, and count what they did; `lambdaSeconds`,
 * `scheduleJob` and `extrapolate` turn measured slices into the time the job would take on W
 * Lambda workers, for archives larger than the local store can hold.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { Borrowed, ObjectStore } from '../shared/adapters/object-store.js';

/**
 * Sockets per SDK client: @smithy/node-http-handler's default agent (`maxSockets: 50`), which
 * createS3Client and createDocumentClient keep (test/bench/aws-model.test.ts checks they do).
 */
export const SDK_MAX_SOCKETS = 50;
/**
 * Writes the publisher keeps under way when the store names no number of its own, as the S3 store
 * does not (WRITES_IN_FLIGHT in shared/services/publish-output.ts; the test checks it through
 * the publisher's own Output). The local folder asks for 256, which AWS would not see.
 */
export const PUBLISH_WRITES_IN_FLIGHT = 32;

/** The S3 requests an ObjectStore call costs in AWS (shared/adapters/s3.ts). */
export type S3Request = 'HEAD' | 'PUT' | 'GET' | 'DELETE';

/**
 * Round trips from a Lambda in the bucket's region for small objects: 15–30 ms is what S3 answers
 * a HEAD or a PUT of a few KB in; 25 ms is the upper middle of it.
 */
export const S3_LATENCY_MS: Readonly<Record<S3Request, number>> = { HEAD: 25, PUT: 25, GET: 25, DELETE: 25 };
/** A DynamoDB request from a Lambda in the table's region: single-digit milliseconds. */
export const DYNAMO_LATENCY_MS = 8;

/** What a modelled client did. */
export interface ModelStats {
  /** Requests by kind (S3: HEAD, PUT, GET, DELETE; DynamoDB: the operation, PutItem, Query…). */
  requests: Record<string, number>;
  /** The modelled latency of every request, summed (ms). */
  latencyMs: number;
  /** Time requests spent waiting for a free slot, summed (ms): above 0, the limit bound. */
  queuedMs: number;
  /** The most requests under way at once. */
  peakInFlight: number;
}

const checkLatency = (kind: string, ms: number): number => {
  if (!(ms >= 0)) throw new Error(`the latency of a ${kind} must be 0 ms or more, not ${ms}`);
  return ms;
};

/**
 * At most `limit` requests at once, each holding its slot for its modelled latency; the rest wait
 * in the order they came (as requests wait for a socket of the SDK's agent).
 */
class RequestModel {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private readonly stats: ModelStats = { requests: {}, latencyMs: 0, queuedMs: 0, peakInFlight: 0 };

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`inFlight must be a whole number ≥ 1, not ${limit}`);
  }

  async request(kind: string, latencyMs: number): Promise<void> {
    this.stats.requests[kind] = (this.stats.requests[kind] ?? 0) + 1;
    this.stats.latencyMs += latencyMs;
    if (this.running < this.limit) this.running++;
    else {
      const asked = performance.now();
      // A finished request hands its slot straight to the first waiting, so `running` stays.
      await new Promise<void>((go) => this.queue.push(go));
      this.stats.queuedMs += performance.now() - asked;
    }
    this.stats.peakInFlight = Math.max(this.stats.peakInFlight, this.running);
    try {
      await sleep(latencyMs);
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }

  snapshot(): ModelStats {
    return { ...this.stats, requests: { ...this.stats.requests } };
  }
}

export interface ObjectStoreModelOptions {
  /** Latency per S3 request (ms); defaults S3_LATENCY_MS. */
  latencyMs?: Partial<Record<S3Request, number>>;
  /** S3 requests under way at once: the client's sockets (default SDK_MAX_SOCKETS). */
  inFlight?: number;
  /** What the store tells the publisher it takes at once (default PUBLISH_WRITES_IN_FLIGHT, as the S3 store). */
  writesInFlight?: number;
}

/**
 * The store, each call waiting for the S3 requests the S3 store would make for it before (or, for
 * a PUT or DELETE that depends on what the HEAD found, after) the real store does the work:
 * putIfChanged a HEAD, and a PUT when it wrote; remove a HEAD, and a DELETE when there was an
 * object; get (and borrow) a GET. The real store's own time comes on top, as measured.
 */
export const modelObjectStore = (
  store: ObjectStore,
  options: ObjectStoreModelOptions = {},
): { objects: ObjectStore; stats(): ModelStats } => {
  const model = new RequestModel(options.inFlight ?? SDK_MAX_SOCKETS);
  const latency = { ...S3_LATENCY_MS, ...options.latencyMs };
  for (const [kind, ms] of Object.entries(latency)) checkLatency(kind, ms);
  const request = (kind: S3Request) => model.request(kind, latency[kind]);
  const objects: ObjectStore = {
    writesInFlight: options.writesInFlight ?? PUBLISH_WRITES_IN_FLIGHT,
    async putIfChanged(key, body, contentType) {
      await request('HEAD');
      const written = await store.putIfChanged(key, body, contentType);
      if (written) await request('PUT');
      return written;
    },
    async remove(key) {
      await request('HEAD');
      const removed = await store.remove(key);
      if (removed) await request('DELETE');
      return removed;
    },
    async get(key) {
      await request('GET');
      return store.get(key);
    },
  };
  // The S3 store lends nothing (borrowObject reads with get there); a store that lends keeps doing
  // so here, so the benchmark's memory stays what the local run's is.
  const { borrow } = store;
  if (borrow) {
    objects.borrow = async (key: string): Promise<Borrowed | undefined> => {
      await request('GET');
      return borrow.call(store, key);
    };
  }
  return { objects, stats: () => model.snapshot() };
};

/** What a DynamoDB client (low-level or document) offers that the model needs. */
interface Sender {
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's send is overloaded on its command types.
  send(command: any, options?: any): Promise<any>;
}

export interface DocumentClientModelOptions {
  /** Latency per request (ms); default DYNAMO_LATENCY_MS. */
  latencyMs?: number;
  /** Requests under way at once: the client's sockets (default SDK_MAX_SOCKETS). */
  inFlight?: number;
}

/** The DynamoDB operation a command is: PutItem for a document client's PutCommand, as for PutItemCommand. */
const operationOf = (command: object): string => {
  const inner = (command as { clientCommand?: object }).clientCommand ?? command;
  return inner.constructor.name.replace(/Command$/, '');
};

/**
 * The client, every `send` waiting the modelled latency (a batch is one request) before it goes
 * to the real client. A proxy: the client given is not changed, and everything but `send` is its
 * own. Retries inside the SDK are not modelled (dynalite does not throttle); a batch's unprocessed
 * items sent again by the caller are a request of their own.
 */
export const modelDocumentClient = <C extends Sender>(
  db: C,
  options: DocumentClientModelOptions = {},
): { db: C; stats(): ModelStats } => {
  const model = new RequestModel(options.inFlight ?? SDK_MAX_SOCKETS);
  const latency = checkLatency('DynamoDB request', options.latencyMs ?? DYNAMO_LATENCY_MS);
  const send = async (command: object, sendOptions?: unknown) => {
    if (typeof sendOptions === 'function')
      throw new Error('the modelled client takes promise-style send only');
    await model.request(operationOf(command), latency);
    return db.send(command, sendOptions);
  };
  const modelled = new Proxy(db, {
    get(target, property) {
      if (property === 'send') return send;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: modelled, stats: () => model.snapshot() };
};

/** Memory at which Lambda gives a function one full vCPU; below, a proportional share of one. */
export const LAMBDA_MB_PER_VCPU = 1769;

/**
 * How long work measured here (its wall time, and the CPU time of the process that did it) would
 * take in a Lambda of `memoryMB`. Assumes one core of this machine does as much as one Lambda
 * vCPU (both current server cores; measure the ratio before trusting a figure to better than a
 * few tens of percent). Below 1,769 MB the function gets that share of a core, so its CPU time
 * stretches by 1769/memoryMB, while time spent waiting (on S3, DynamoDB, the modelled latency)
 * does not; above it the extra vCPUs do nothing for one single-threaded Node worker.
 */
export const lambdaSeconds = (
  work: { wallSeconds: number; cpuSeconds: number },
  memoryMB: number,
): number => {
  if (!(memoryMB > 0)) throw new Error(`memoryMB must be above 0, not ${memoryMB}`);
  if (!(work.wallSeconds >= 0) || !(work.cpuSeconds >= 0)) {
    throw new Error(
      `wallSeconds and cpuSeconds must be 0 or more, not ${work.wallSeconds} and ${work.cpuSeconds}`,
    );
  }
  const stretch = Math.max(1, LAMBDA_MB_PER_VCPU / memoryMB);
  return work.wallSeconds + work.cpuSeconds * (stretch - 1);
};

/**
 * What a slice costs besides its own work: SQS hands the message to a worker (tens of ms to a few
 * hundred under load), and some slices meet a cold start (a Node function with the SDK bundled
 * starts in 0.3–1 s). 0.5 s a slice charges every slice about a cold start's half, which
 * overstates a warm pool of 20 workers and understates none but the first wave.
 */
export const SLICE_OVERHEAD_SECONDS = 0.5;

export interface JobSchedule {
  /** The job's time: the phases' times added up. */
  seconds: number;
  /** The longest slice's own work (overhead aside: a cold start and SQS delivery do not count toward a Lambda's timeout). */
  longestSlice: number;
  /** Each phase's time: its most loaded worker's. */
  perPhase: number[];
}

/**
 * The time a job of phases of slices takes on `workers` workers: a phase starts when the last slice
 * of the one before ends (the planner hands out the next phase then); within a phase, slices go
 * longest first to the least loaded worker (LPT, within 4/3 of the best possible), each costing
 * its duration plus `overheadSeconds`.
 */
export const scheduleJob = (
  phases: readonly (readonly number[])[],
  workers: number,
  options: { overheadSeconds?: number } = {},
): JobSchedule => {
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`workers must be a whole number ≥ 1, not ${workers}`);
  const overhead = options.overheadSeconds ?? SLICE_OVERHEAD_SECONDS;
  if (!(overhead >= 0)) throw new Error(`overheadSeconds must be 0 or more, not ${overhead}`);
  let longestSlice = 0;
  const perPhase = phases.map((slices) => {
    if (slices.length === 0) return 0;
    const loads: number[] = new Array(Math.min(workers, slices.length)).fill(0);
    for (const slice of [...slices].sort((a, b) => b - a)) {
      if (!(slice >= 0)) throw new Error(`a slice's seconds must be 0 or more, not ${slice}`);
      longestSlice = Math.max(longestSlice, slice);
      let least = 0;
      for (let w = 1; w < loads.length; w++) if ((loads[w] as number) < (loads[least] as number)) least = w;
      loads[least] = (loads[least] as number) + slice + overhead;
    }
    return Math.max(...loads);
  });
  return { seconds: perPhase.reduce((sum, s) => sum + s, 0), longestSlice, perPhase };
};

/** A slice measured: its kind (event, tag…), its size in that kind's units (events, tags), its seconds. */
export interface MeasuredSlice {
  kind: string;
  size: number;
  seconds: number;
}

/** A kind's fitted rate, and how far the slices it came from stray from it. */
export interface KindFit {
  /** Seconds per unit: least squares through the origin, Σ size·seconds / Σ size². */
  secondsPerUnit: number;
  /** The slices it was fitted on. */
  slices: number;
  /** The lowest and highest seconds per unit of any one of them. */
  lowest: number;
  highest: number;
}

/**
 * Seconds per unit for each kind of the measured slices, and the planned slices' seconds predicted
 * from them (size × rate). A fit through the origin has no fixed part per slice: that is
 * `scheduleJob`'s overhead, and anything else fixed (reading the run's index, which grows with the
 * archive) is charged by the unit of the slices it was measured on, so predictions hold for slices
 * of about the measured sizes, not for slices much larger or smaller.
 */
export const extrapolate = (
  measured: readonly MeasuredSlice[],
  planned: readonly { kind: string; size: number }[],
): { fits: Record<string, KindFit>; slices: MeasuredSlice[] } => {
  const sums = new Map<string, { xy: number; xx: number; slices: number; lowest: number; highest: number }>();
  for (const { kind, size, seconds } of measured) {
    if (!(size >= 0) || !(seconds >= 0))
      throw new Error(`a ${kind} slice's size and seconds must be 0 or more`);
    const sum = sums.get(kind) ?? { xy: 0, xx: 0, slices: 0, lowest: Infinity, highest: 0 };
    sum.xy += size * seconds;
    sum.xx += size * size;
    sum.slices++;
    if (size > 0) {
      sum.lowest = Math.min(sum.lowest, seconds / size);
      sum.highest = Math.max(sum.highest, seconds / size);
    }
    sums.set(kind, sum);
  }
  const fits: Record<string, KindFit> = {};
  for (const [kind, sum] of sums) {
    if (sum.xx === 0) throw new Error(`no ${kind} slice measured has a size above 0`);
    fits[kind] = {
      secondsPerUnit: sum.xy / sum.xx,
      slices: sum.slices,
      lowest: sum.lowest,
      highest: sum.highest,
    };
  }
  const slices = planned.map(({ kind, size }) => {
    const fit = Object.hasOwn(fits, kind) ? fits[kind] : undefined;
    if (!fit) throw new Error(`no ${kind} slice was measured to predict one from`);
    if (!(size >= 0)) throw new Error(`a planned ${kind} slice's size must be 0 or more, not ${size}`);
    return { kind, size, seconds: size * fit.secondsPerUnit };
  });
  return { fits, slices };
};
