import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { publishJobKey, publishSliceKey, TABLE } from '../keys.js';
import { type Item, isConditionFailure } from './items.js';

/** A full publish job's state, as `tidings status` shows it and its workers move it on. */
export interface JobState {
  job: string;
  status: 'running' | 'done' | 'cancelled';
  /** The phase under way (0-based), and the slices of each phase. */
  phase: number;
  phases: number[];
  /** Slices done in every phase so far. */
  slicesDone: number;
  startedAt: string;
  /** When a slice was last done (or the job started). */
  updatedAt: string;
  endedAt?: string;
  /** The render version the job renders with. */
  renderVersion: number;
  /** The render version of the last job that completed: what the site's pages are rendered with. */
  renderedVersion?: number;
  written: number;
  unchanged: number;
  removed: number;
}

/** What a slice wrote, added to its job's totals. */
export interface SliceFigures {
  written: number;
  unchanged: number;
  removed: number;
}

export interface PublishJobs {
  get(): Promise<JobState | undefined>;
  /** Starts a job unless one is running; false when one is. */
  start(job: string, phases: number[], renderVersion: number, at: string): Promise<boolean>;
  /**
   * Counts slice `slice` (of phase `phase`) of a running job done, once: a slice run twice (a
   * message delivered twice) is counted the first time. The job's state after, and whether this
   * was the phase's last slice; undefined when it was counted before, or the job is not running.
   */
  sliceDone(
    job: string,
    slice: number,
    phase: number,
    figures: SliceFigures,
    at: string,
  ): Promise<{ state: JobState; phaseDone: boolean } | undefined>;
  /** Moves a running job from `phase` to the next; one caller wins. */
  advance(job: string, phase: number): Promise<boolean>;
  /** Ends a running job: its pages now have its render version. */
  finish(job: string, at: string): Promise<boolean>;
  /** Cancels the running job; the state it was in, or undefined when none was running. */
  cancel(at: string): Promise<JobState | undefined>;
  /** The slices of a job counted done. */
  slicesDone(job: string): Promise<Set<number>>;
}

/** Slices done are kept this long (seconds) after the job: `tidings status` and a resume read them. */
const SLICE_RECORD_TTL_S = 14 * 86_400;

const num = (item: Item, field: string): number =>
  typeof item[field] === 'number' ? (item[field] as number) : 0;

const fromItem = (item: Item | undefined): JobState | undefined => {
  if (!item || typeof item.job !== 'string' || !Array.isArray(item.phases)) return undefined;
  const status = item.status === 'done' || item.status === 'cancelled' ? item.status : 'running';
  return {
    job: item.job,
    status,
    phase: num(item, 'phase'),
    phases: (item.phases as unknown[]).map((n) => (typeof n === 'number' ? n : 0)),
    slicesDone: num(item, 'slicesDone'),
    startedAt: String(item.startedAt ?? ''),
    updatedAt: String(item.updatedAt ?? item.startedAt ?? ''),
    ...(typeof item.endedAt === 'string' ? { endedAt: item.endedAt } : {}),
    renderVersion: num(item, 'renderVersion'),
    ...(typeof item.renderedVersion === 'number' ? { renderedVersion: item.renderedVersion } : {}),
    written: num(item, 'written'),
    unchanged: num(item, 'unchanged'),
    removed: num(item, 'removed'),
  };
};

/** Slices done before the job's current phase, and in it: a phase's slices are done when these reach its end. */
export const slicesThrough = (state: Pick<JobState, 'phases'>, phase: number): number =>
  state.phases.slice(0, phase + 1).reduce((sum, n) => sum + n, 0);

/**
 * The job item `JOB#publish` (one job at a time; a new one replaces the last's progress and keeps
 * the render version the site was last rendered with) and one item per slice done,
 * `JOB#publish#<job>`, written once: what makes a slice delivered twice count once.
 */
export const makePublishJobs = (db: DynamoDBDocumentClient, tableName: string): PublishJobs => {
  const key = publishJobKey();
  const get = async (): Promise<JobState | undefined> =>
    fromItem((await db.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item);
  const conditional = async (send: () => Promise<unknown>): Promise<boolean> => {
    try {
      await send();
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  };
  return {
    get,
    start: (job, phases, renderVersion, at) =>
      conditional(() =>
        db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression:
              'SET job = :job, #status = :running, phase = :zero, phases = :phases, slicesDone = :zero, ' +
              'startedAt = :at, updatedAt = :at, renderVersion = :version, written = :zero, ' +
              'unchanged = :zero, removed = :zero REMOVE endedAt',
            ConditionExpression: 'attribute_not_exists(PK) OR #status <> :running',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':job': job,
              ':running': 'running',
              ':zero': 0,
              ':phases': phases,
              ':at': at,
              ':version': renderVersion,
            },
          }),
        ),
      ),
    async sliceDone(job, slice, phase, figures, at) {
      const first = await conditional(() =>
        db.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...publishSliceKey(job, String(slice).padStart(6, '0')),
              slice,
              phase,
              at,
              ...figures,
              [TABLE.ttlAttribute]: Math.ceil(Date.parse(at) / 1000) + SLICE_RECORD_TTL_S,
            },
            ConditionExpression: 'attribute_not_exists(PK)',
          }),
        ),
      );
      if (!first) return undefined;
      try {
        const { Attributes } = await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression:
              'SET updatedAt = :at ADD slicesDone :one, written :written, unchanged :unchanged, removed :removed',
            ConditionExpression: 'job = :job AND #status = :running',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':job': job,
              ':running': 'running',
              ':at': at,
              ':one': 1,
              ':written': figures.written,
              ':unchanged': figures.unchanged,
              ':removed': figures.removed,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        const state = fromItem(Attributes) as JobState;
        return { state, phaseDone: state.phase === phase && state.slicesDone >= slicesThrough(state, phase) };
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
    },
    advance: (job, phase) =>
      conditional(() =>
        db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'SET phase = :next',
            ConditionExpression: 'job = :job AND #status = :running AND phase = :phase',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':job': job,
              ':running': 'running',
              ':phase': phase,
              ':next': phase + 1,
            },
          }),
        ),
      ),
    finish: (job, at) =>
      conditional(() =>
        db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression:
              'SET #status = :done, endedAt = :at, updatedAt = :at, renderedVersion = renderVersion',
            ConditionExpression: 'job = :job AND #status = :running',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':job': job, ':running': 'running', ':done': 'done', ':at': at },
          }),
        ),
      ),
    async cancel(at) {
      try {
        const { Attributes } = await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'SET #status = :cancelled, endedAt = :at, updatedAt = :at',
            ConditionExpression: '#status = :running',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':running': 'running', ':cancelled': 'cancelled', ':at': at },
            ReturnValues: 'ALL_OLD',
          }),
        );
        return fromItem(Attributes);
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
    },
    async slicesDone(job) {
      const done = new Set<number>();
      let start: Item | undefined;
      do {
        const page = await db.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'PK = :pk',
            ExpressionAttributeValues: { ':pk': publishSliceKey(job, '').PK },
            ProjectionExpression: 'slice',
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of page.Items ?? []) if (typeof item.slice === 'number') done.add(item.slice);
        start = page.LastEvaluatedKey;
      } while (start);
      return done;
    },
  };
};
