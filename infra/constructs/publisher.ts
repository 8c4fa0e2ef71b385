import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { CfnBucket, IBucket } from 'aws-cdk-lib/aws-s3';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, SLICE_WORKER_NODE_FLAGS } from '../../shared/config.js';
import { acknowledgeWildcard } from '../nag.js';
import type { EventsTable } from './events-table.js';
import { TidingsFunction } from './tidings-function.js';
import { consumeQueue, workQueue } from './worker-queue.js';

export interface PublisherProps {
  table: EventsTable;
  /** The site bucket it writes pages and feeds to. */
  bucket: IBucket;
  siteUrl: string;
  feedSize: number;
  /** Minutes between incremental publish runs. */
  publishEveryMinutes: number;
  /** Slice workers of a full publish at once (the slice queue's maximum concurrency). */
  workers: number;
  logRetention: RetentionDays;
}

/**
 * A slice worker's timeout: twice the longest slice the job is planned for (5 minutes), so a slice
 * slowed by a cold index or a throttled request still finishes rather than running again.
 */
export const SLICE_TIMEOUT = Duration.minutes(10);

/**
 * A slice worker's memory: 1,769 MB is where Lambda gives a function one whole vCPU, the size the
 * benchmark's AWS model scales a slice's CPU time to; a slice's own memory is bounded far below it
 * (the slice and the archive's compact index).
 */
export const SLICE_MEMORY_MB = 1769;

/**
 * A slice that fails this many receives goes to the dead-letter queue and the job stalls there
 * until `tidings publish --resume`: a slice that failed three times fails for a reason to look at.
 */
export const SLICE_RECEIVES = 3;

/**
 * The publisher: a scheduled function (publish-site) that rebuilds what changed into the site
 * bucket, or, asked for a full publish, plans it as a job and puts its first slices on a queue;
 * slice workers (publish-slice) render a slice each, and the one that finishes a phase's last
 * slice puts the next phase's. A slice that fails is retried alone, three times, then parked.
 */
export class Publisher extends Construct {
  readonly handler: TidingsFunction;
  readonly sliceWorker: TidingsFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: PublisherProps) {
    super(scope, id);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = workQueue(this, {
      workerTimeout: SLICE_TIMEOUT,
      // Twice the worker's timeout, not Lambda's six times: the event source's maximum concurrency
      // keeps the poller from taking slices no worker can run, and a slice a worker failed is
      // tried again after this long, which is what a job waiting on its last slice waits.
      visibilityTimeout: Duration.seconds(SLICE_TIMEOUT.toSeconds() * 2),
      // The longest SQS keeps anything: a slice is never dropped unseen, which would stall its job
      // with nothing in the dead-letter queue to say so.
      retention: Duration.days(14),
      maxReceiveCount: SLICE_RECEIVES,
    }));
    const environment = {
      [ENV.tableName]: props.table.tableName,
      [ENV.siteBucket]: props.bucket.bucketName,
      [ENV.siteUrl]: props.siteUrl,
      [ENV.feedSize]: String(props.feedSize),
      [ENV.publishQueueUrl]: this.queue.queueUrl,
    };

    this.handler = new TidingsFunction(this, 'PublishSite', {
      name: 'publish-site',
      environment,
      logRetention: props.logRetention,
      timeout: Duration.minutes(15),
      memorySize: 1024,
    });
    // A full publish is planned here, and its first slices sent.
    this.queue.grantSendMessages(this.handler);

    this.sliceWorker = new TidingsFunction(this, 'PublishSlice', {
      name: 'publish-slice',
      // Its heap bounded (SLICE_WORKER_NODE_FLAGS): the memory is there for the vCPU.
      environment: {
        ...environment,
        NODE_OPTIONS: ['--enable-source-maps', ...SLICE_WORKER_NODE_FLAGS].join(' '),
      },
      logRetention: props.logRetention,
      timeout: SLICE_TIMEOUT,
      memorySize: SLICE_MEMORY_MB,
    });
    // One slice per invocation: a failed slice is retried alone, and a slice's memory is its own.
    // The worker that finishes a phase sends the next phase's slices.
    consumeQueue(this.queue, this.sliceWorker, { batchSize: 1, maxConcurrency: props.workers });

    for (const fn of [this.handler, this.sliceWorker]) {
      // Reads events and listings, clears marks (conditional deletes), keeps the job's progress.
      props.table.grantFunction(fn);
      this.grantSite(fn, props.bucket);
    }

    this.schedule = new Rule(this, 'Schedule', {
      description: 'Rebuild the pages and feeds that changed',
      schedule: Schedule.rate(Duration.minutes(props.publishEveryMinutes)),
      // A failed run leaves its marks; the next run retries them.
      targets: [new LambdaFunction(this.handler, { retryAttempts: 0 })],
    });
  }

  /** Every function that publishes writes the same site. */
  get functions(): TidingsFunction[] {
    return [this.handler, this.sliceWorker];
  }

  private grantSite(fn: TidingsFunction, bucket: IBucket): void {
    // Compares, writes and removes pages: HeadObject (s3:GetObject), PutObject, DeleteObject.
    // ListBucket makes HeadObject of a page not yet written a 404 rather than a 403.
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [bucket.arnForObjects('*')],
      }),
    );
    fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
    acknowledgeWildcard(
      fn,
      { element: bucket.node.defaultChild as CfnBucket, attribute: 'Arn', suffix: '/*' },
      'The publisher owns every object in the site bucket; page and feed keys are known only at run time',
    );
  }
}
