import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type EventStore, toEventItem, type WriteStamp } from '../shared/adapters/event-store.js';
import type { StoredEvent } from '../shared/domain/event.js';
import { eventKey } from '../shared/keys.js';
import { lambdaContext } from './lambda-context.js';

export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | undefined>;

export interface ChangeCaptureOptions {
  /** Append-only journal (NDJSON) that makes captured changes survive a restart. */
  journalPath: string;
  /** Where records that keep failing are parked, like a stream's on-failure destination. */
  deadLetterPath: string;
  tableName: string;
  handler: StreamHandler;
  batchSize?: number;
  /** Attempts before a record that fails alone is parked. */
  maxAttempts?: number;
  /** Backoff before the first retry, doubled each time. */
  retryDelayMs?: number;
  log?: (message: string) => void;
}

type JournalLine =
  | { t: 'base'; seq: number }
  | {
      t: 'intent';
      seq: number;
      id: string;
      old?: Record<string, unknown>;
      new: Record<string, unknown>;
      at: number;
    }
  | { t: 'done' | 'failed' | 'ack' | 'dead'; seq: number };

type Intent = Extract<JournalLine, { t: 'intent' }>;

/** The journal holds whole events, deleted ones included: owner-only, like the rest of the data folder. */
const PRIVATE_FILE = 0o600;

const sequenceNumber = (seq: number): string => String(seq).padStart(21, '0');

/**
 * DynamoDB has streams; dynalite has none. This stands in for them locally: every write of an
 * event item through the wrapped store becomes a stream record (same shape AWS sends, with old
 * and new images), handed to the same stream handler in commit order, retried the way Lambda
 * retries a stream (from the first failed record), and journaled first so a restart loses nothing.
 */
export class ChangeCapture {
  private seq = 0;
  private readonly queue: Intent[] = [];
  private readonly attempts = new Map<number, number>();
  private running = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private inFlightWrites = 0;
  private wake?: () => void;
  private loop?: Promise<void>;

  constructor(private readonly options: ChangeCaptureOptions) {}

  /** The store, with every event write captured. */
  wrap<S extends EventStore>(store: S): S {
    return {
      ...store,
      putEvent: async (next: StoredEvent, previous: StoredEvent | undefined, stamp?: WriteStamp) => {
        this.seq += 1;
        const intent: Intent = {
          t: 'intent',
          seq: this.seq,
          id: next.id,
          ...(previous ? { old: toEventItem(previous) } : {}),
          new: toEventItem(next, stamp),
          at: Date.now(),
        };
        this.append(intent);
        this.inFlightWrites += 1;
        try {
          await store.putEvent(next, previous, stamp);
        } catch (error) {
          // A write can commit and still fail (its answer lost, the SDK's retry refused by the
          // condition): what the table holds decides whether the change happened.
          const current = await store.getEventRecord(next.id).catch(() => undefined);
          const ours = stamp
            ? current?.writeId === stamp.writeId
            : current?.event.revision === next.revision && current.event.updatedAt === next.updatedAt;
          if (ours) {
            this.append({ t: 'done', seq: intent.seq });
            this.enqueue(intent);
          } else {
            this.append({ t: 'failed', seq: intent.seq });
          }
          throw error;
        } finally {
          this.inFlightWrites -= 1;
        }
        this.append({ t: 'done', seq: intent.seq });
        this.enqueue(intent);
      },
    };
  }

  /**
   * Replays what the journal holds: changes written but not yet handled are queued again; a
   * write whose outcome was never journaled is checked against the table.
   */
  async recover(readCurrent: (id: string) => Promise<StoredEvent | undefined>): Promise<number> {
    const { journalPath } = this.options;
    if (!existsSync(journalPath)) {
      writeFileSync(journalPath, `${JSON.stringify({ t: 'base', seq: 0 })}\n`, { mode: PRIVATE_FILE });
      return 0;
    }
    const intents = new Map<number, Intent>();
    const outcome = new Map<number, string>();
    for (const line of readFileSync(journalPath, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let entry: JournalLine;
      try {
        entry = JSON.parse(line) as JournalLine;
      } catch {
        continue; // a line torn by a crash mid-append
      }
      this.seq = Math.max(this.seq, entry.seq);
      if (entry.t === 'intent') intents.set(entry.seq, entry);
      else if (entry.t !== 'base') outcome.set(entry.seq, entry.t);
    }
    const pending: Intent[] = [];
    for (const intent of [...intents.values()].sort((a, b) => a.seq - b.seq)) {
      const state = outcome.get(intent.seq);
      if (state === 'done') pending.push(intent);
      else if (state === undefined) {
        const current = await readCurrent(intent.id);
        if (
          current &&
          current.revision === intent.new.revision &&
          current.updatedAt === intent.new.updatedAt
        ) {
          pending.push(intent);
        }
      }
    }
    // Compact: only what is still owed survives.
    const lines = [{ t: 'base', seq: this.seq }, ...pending.flatMap((i) => [i, { t: 'done', seq: i.seq }])];
    writeFileSync(`${journalPath}.tmp`, lines.map((l) => `${JSON.stringify(l)}\n`).join(''), {
      mode: PRIVATE_FILE,
    });
    renameSync(`${journalPath}.tmp`, journalPath);
    for (const intent of pending) this.enqueue(intent);
    return pending.length;
  }

  start(): void {
    this.stopped = false;
    this.loop ??= this.run();
  }

  /** Resolves once every captured change has been handled or parked. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && !this.running && this.inFlightWrites === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get pending(): number {
    return this.queue.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  private append(line: JournalLine): void {
    appendFileSync(this.options.journalPath, `${JSON.stringify(line)}\n`, { mode: PRIVATE_FILE });
  }

  private enqueue(intent: Intent): void {
    this.queue.push(intent);
    this.wake?.();
  }

  private toRecord(intent: Intent): DynamoDBRecord {
    const { tableName } = this.options;
    const keys = marshall(eventKey(intent.id));
    const newImage = marshall(intent.new, { removeUndefinedValues: true });
    return {
      eventID: `local-${intent.seq}`,
      eventName: intent.old ? 'MODIFY' : 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'local',
      eventSourceARN: `arn:aws:dynamodb:local:000000000000:table/${tableName}/stream/local`,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(intent.at / 1000),
        Keys: keys as never,
        NewImage: newImage as never,
        ...(intent.old ? { OldImage: marshall(intent.old, { removeUndefinedValues: true }) as never } : {}),
        SequenceNumber: sequenceNumber(intent.seq),
        SizeBytes: JSON.stringify(intent).length,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
  }

  private async run(): Promise<void> {
    const { batchSize = 100, maxAttempts = 5, retryDelayMs = 100 } = this.options;
    while (!this.stopped) {
      if (this.queue.length === 0) {
        if (this.inFlightWrites === 0) this.settleIdle();
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, 50);
        });
        continue;
      }
      this.running = true;
      const batch = this.queue.slice(0, batchSize);
      let failedAt = -1;
      try {
        const response = await this.options.handler(
          { Records: batch.map((i) => this.toRecord(i)) },
          lambdaContext('process-changes'),
        );
        const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        failedAt = batch.findIndex((i) => failed.has(sequenceNumber(i.seq)));
      } catch (error) {
        this.options.log?.(`change handler threw: ${(error as Error).message}`);
        failedAt = 0;
      }
      // Like Lambda with ReportBatchItemFailures: everything before the first failure is done.
      const handled = failedAt === -1 ? batch : batch.slice(0, failedAt);
      for (const intent of handled) {
        this.append({ t: 'ack', seq: intent.seq });
        this.attempts.delete(intent.seq);
      }
      this.queue.splice(0, handled.length);
      if (failedAt !== -1) {
        const first = batch[failedAt] as Intent;
        const attempts = (this.attempts.get(first.seq) ?? 0) + 1;
        this.attempts.set(first.seq, attempts);
        if (attempts >= maxAttempts && failedAt === 0) {
          this.park(first);
        } else if (!this.stopped) {
          await new Promise((r) => setTimeout(r, Math.min(5000, retryDelayMs * 2 ** (attempts - 1))));
        }
      }
      this.running = false;
    }
    this.running = false;
  }

  private park(intent: Intent): void {
    appendFileSync(
      this.options.deadLetterPath,
      `${JSON.stringify({ parkedAt: new Date().toISOString(), record: this.toRecord(intent) })}\n`,
      { mode: PRIVATE_FILE },
    );
    this.append({ t: 'dead', seq: intent.seq });
    this.options.log?.(`parked change ${intent.id} (seq ${intent.seq}) in ${this.options.deadLetterPath}`);
    this.queue.shift();
    this.attempts.delete(intent.seq);
  }

  private settleIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
