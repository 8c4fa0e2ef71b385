import type { JobState } from '../shared/adapters/publish-jobs.js';
import type { FailedDelivery, WebSubListing } from '../shared/adapters/websub-store.js';
/**
 * What `tidings` can do, whatever it talks to: the local runtime's data folder (cli/local/) or a
 * deployed stack (cli/aws/). Commands (cli/commands/) parse arguments, call one of these, and print
 * the result as text or, with --json, as the JSON of the result. Every result is plain data.
 *
 * Errors: a backend throws `CliError` (cli/errors.ts) with a one-line message for anything the
 * operator can fix (no such key, stack not found, no credentials); anything else is a fault
 * (printed in one line, with the stack only under --verbose). Exit codes: 0 done, 1 failed, 2 usage.
 */
import type { DigestReport } from '../shared/services/digests.js';
import type { PublishReport } from '../shared/services/publish.js';

/** Reports progress of long work (a bar in a terminal, nothing under --json). */
export interface Progress {
  start(total: number, label: string): void;
  update(done: number): void;
  stop(): void;
}

export interface ApiKeyInfo {
  name: string;
  /** `apiKeyIdOf(hash)`: 16 hex characters of the key's hash. */
  id: string;
  createdAt: string;
  revoked: boolean;
}

export interface CreatedApiKey extends ApiKeyInfo {
  /** The key itself: shown once, never stored. */
  key: string;
}

/** A revoked key: refused at once locally; in AWS once the authorizer's cached answers expire. */
export interface RevokedApiKey extends ApiKeyInfo {
  /** Seconds until every request with the key is refused (absent or 0: at once). */
  refusedWithinSeconds?: number;
}

export interface QueueDepth {
  /** What the queue is for, e.g. "stream changes (dead letters)". */
  name: string;
  url: string;
  visible: number;
  inFlight: number;
}

export interface StatusReport {
  target: { kind: 'local'; dataDir: string; url?: string } | { kind: 'aws'; stack: string; region: string };
  counts: { events: number; tags: number; subscribers: number };
  /** Locally: changes written but not projected (the journal's lag). In AWS: the stream's iterator age. */
  changeLag: { pending?: number; iteratorAgeSeconds?: number };
  deadLetters: QueueDepth[];
  /** Changes the stream handler gave up on, parked for `redrive`. */
  parkedChanges: number;
  lastPublish?: LastPublishSummary;
  /** AWS: the full publish job under way, or the last one. */
  fullPublish?: FullPublishView;
  /** What the counts cost to read, when they cost anything (AWS: a Scan of the table). */
  cost?: { readUnits: number; note: string };
  /** AWS only. */
  email?: {
    sandbox: boolean;
    sendingEnabled: boolean;
    max24HourSend: number;
    sentLast24Hours: number;
    maxSendRate: number;
    identity: string;
    identityVerified: boolean;
  };
  /** AWS only: alarms now in ALARM. */
  alarms?: { name: string; reason: string; since: string }[];
}

export interface RedriveReport {
  /** Parked stream changes re-projected from the table. */
  changes: { redriven: number; failed: number };
  /** Messages moved from each dead-letter queue back to its source. */
  queues: {
    name: string;
    moved: number;
    /** Messages left in the queue (e.g. the stream's failure notices while a change still fails). */
    kept?: number;
    /** How they were replayed, or why not, in a few words. */
    note?: string;
  }[];
}

/** A digest run handed to the deployed stack's queue: it goes on there. */
export interface DigestStarted {
  started: true;
  cadence?: 'daily' | 'weekly';
  /** The end of the window the run covers. */
  windowEnd?: string;
}

/** Where a link-key rotation stands after one `links rotate`. */
export interface LinkRotation {
  /** The key that signs new links. */
  current: string;
  /** Every key that verifies links, the current one first. */
  accepted: string[];
  /** A new key every function must learn before it signs: made current by running again after `after`. */
  pending?: { kid: string; after: string };
  /** What this run did. */
  steps: ('added' | 'promoted' | 'retired' | 'nothing')[];
}

export interface SubscriberExport {
  email: string;
  status: string;
  /** Slugs of the tags followed. */
  tags: string[];
  /** Slugs of the topic labels followed. */
  topics: string[];
  cadence: string;
  createdAt?: string;
  confirmedAt?: string;
}

export interface ForgetReport {
  /** Items deleted (subscriber, cursor, ledger…). */
  deleted: number;
  /** Kept, keyed by a hash of the address: a suppression, rate-limit records. */
  kept: string[];
}

export interface WebhookInfo {
  id: string;
  /** Without its query string. */
  url: string;
  status: string;
  filterPolicy?: Record<string, unknown>;
  owner?: { keyId: string; keyName: string };
}

/** The WebSub hub as the operator sees it: live subscriptions (no secrets, callbacks without their query) and deliveries it gave up on (kept 30 days). */
export type WebSubView = {
  subscriptions: WebSubListing[];
  failures: FailedDelivery[];
};

export interface PublishOptions {
  full: boolean;
  wait: boolean;
  /** Cancel the full publish job under way (AWS). */
  cancel?: boolean;
  /** Send a stalled job's slices not done again (AWS). */
  resume?: boolean;
}

export interface Backend {
  keys: {
    create(name: string): Promise<CreatedApiKey>;
    list(): Promise<ApiKeyInfo[]>;
    /** By name or id; throws CliError when none matches or several do. */
    revoke(nameOrId: string): Promise<RevokedApiKey>;
  };
  publish(options: PublishOptions, progress: Progress): Promise<PublishReport | PublishStarted>;
  digest(
    options: { now: boolean; cadence: 'daily' | 'weekly' },
    progress: Progress,
  ): Promise<DigestReport | DigestStarted>;
  status(): Promise<StatusReport>;
  redrive(progress: Progress): Promise<RedriveReport>;
  subscribers: {
    count(): Promise<{ total: number; byStatus: Record<string, number> }>;
    export(progress: Progress): Promise<SubscriberExport[]>;
    forget(email: string): Promise<ForgetReport>;
  };
  webhooks: {
    list(): Promise<WebhookInfo[]>;
    delete(id: string): Promise<void>;
  };
  websub: {
    view(): Promise<WebSubView>;
  };
  links: {
    /** Adds a new signing key, and makes it current once every function can verify it. */
    rotate(
      options: { retireOld: boolean; wait?: boolean },
      progress?: Progress,
    ): Promise<{ current: string; accepted: string[] } & Partial<LinkRotation>>;
  };
  /**
   * The HTTP API's base URL (a stack's `ApiUrl` output), for `tidings import --stack NAME --key KEY`,
   * which writes through the public API like an integrator. Optional: without it, import asks for --url.
   */
  apiUrl?(): Promise<string>;
  close(): Promise<void>;
}

/** A full publish job as `status` and `publish --full --wait` show it. */
export interface FullPublishView {
  job: string;
  status: 'running' | 'done' | 'cancelled';
  /** 1-based, of `phases`. */
  phase: number;
  phases: number;
  slicesDone: number;
  slices: number;
  startedAt: string;
  updatedAt: string;
  endedAt?: string;
  written: number;
  unchanged: number;
  removed: number;
}

export const fullPublishView = (job: JobState): FullPublishView => ({
  job: job.job,
  status: job.status,
  phase: job.phase + 1,
  phases: job.phases.length,
  slicesDone: job.slicesDone,
  slices: job.phases.reduce((sum, n) => sum + n, 0),
  startedAt: job.startedAt,
  updatedAt: job.updatedAt,
  ...(job.endedAt ? { endedAt: job.endedAt } : {}),
  written: job.written,
  unchanged: job.unchanged,
  removed: job.removed,
});

/** What `publish --full` started (in AWS: the job, which its workers do), or what `--cancel` / `--resume` did. */
export type PublishStarted =
  | { started: true; job?: FullPublishView }
  | { cancelled: FullPublishView | null }
  | { resumed: { job: string; resent: number } };

/** The last publish run as `status` shows it. */
export interface LastPublishSummary {
  at: string;
  full: boolean;
  written: number;
  unchanged: number;
  failed: number;
  seconds: number;
  removed?: number;
  /** Marks left for the next run (their rebuild failed). */
  marksKept?: number;
  /** Marks left for the next run on purpose (the run's time budget; a backlog draining). */
  marksDeferred?: number;
}

/** What `status` shows of a recorded run, wherever it was recorded (a file locally, the table in AWS). */
export const lastPublishSummary = (run: LastPublishSummary): LastPublishSummary => ({
  at: run.at,
  full: run.full,
  written: run.written,
  unchanged: run.unchanged,
  failed: run.failed,
  seconds: run.seconds,
  ...(run.removed === undefined ? {} : { removed: run.removed }),
  ...(run.marksKept === undefined ? {} : { marksKept: run.marksKept }),
  ...(run.marksDeferred === undefined ? {} : { marksDeferred: run.marksDeferred }),
});
