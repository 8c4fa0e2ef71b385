import { Duration } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { CfnBucket, IBucket } from 'aws-cdk-lib/aws-s3';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { acknowledgeWildcard } from '../nag.js';
import type { EventsTable } from './events-table.js';
import { TidingsFunction } from './tidings-function.js';
import { consumeQueue, workQueue } from './worker-queue.js';

export interface WebSubProps {
  table: EventsTable;
  /** The site bucket: the hub checks that a topic is published, the worker delivers the feed's bytes. */
  bucket: IBucket;
  siteUrl: string;
  /** The API's `websub-hub` function, told where the queue is and granted to send to it. */
  hubFunction: TidingsFunction;
  /**
   * The publisher's functions (publish-site, the full publish's slice workers), which name the
   * external hubs in every feed and hand the feeds they changed to the queue.
   */
  publishers: readonly TidingsFunction[];
  perHost: number;
  perFeed: number;
  /** External hubs (`websubHubs`): the publisher names them in every feed, the worker pings them. */
  externalHubs: readonly string[];
  logRetention: RetentionDays;
}

const WORKER_TIMEOUT = Duration.minutes(2);

/**
 * The WebSub hub's back end: one queue of work (verifications, distributions of changed feeds,
 * deliveries and their delayed retries), a worker on it, and a dead-letter queue for messages that
 * fail five receives. Retries of a delivery are new delayed messages (7 attempts over 66 minutes),
 * so the receive count only catches a worker that fails on the store or the queue.
 */
export class WebSub extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly worker: TidingsFunction;

  constructor(scope: Construct, id: string, props: WebSubProps) {
    super(scope, id);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = workQueue(this, {
      workerTimeout: WORKER_TIMEOUT,
      retention: Duration.days(1),
    }));
    const site = {
      ...(props.externalHubs.length > 0 ? { [ENV.websubHubs]: props.externalHubs.join(',') } : {}),
      [ENV.siteUrl]: props.siteUrl,
      [ENV.siteBucket]: props.bucket.bucketName,
      [ENV.hubQueueUrl]: this.queue.queueUrl,
    };
    // Feeds only: neither function reads any other object of the site.
    const readFeeds = (fn: TidingsFunction) => {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [props.bucket.arnForObjects('feeds/*')],
        }),
      );
      // Without it a feed not published is a 403, not the 404 the hub answers as "not a topic".
      fn.addToRolePolicy(
        new PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.bucket.bucketArn] }),
      );
      acknowledgeWildcard(
        fn,
        { element: props.bucket.node.defaultChild as CfnBucket, attribute: 'Arn', suffix: '/feeds/*' },
        'Feeds are the hub topics; their keys (a feed per tag) are known only at run time',
      );
    };

    this.worker = new TidingsFunction(this, 'Worker', {
      name: 'websub-worker',
      environment: { [ENV.tableName]: props.table.tableName, ...site },
      logRetention: props.logRetention,
      timeout: WORKER_TIMEOUT,
    });
    props.table.grantFunction(this.worker);
    readFeeds(this.worker);
    // Fans distributions out into deliveries and queues its own retries.
    consumeQueue(this.queue, this.worker, { batchSize: 5, maxConcurrency: 5 });

    for (const [name, value] of Object.entries({
      ...site,
      [ENV.websubPerHost]: String(props.perHost),
      [ENV.websubPerFeed]: String(props.perFeed),
    }))
      props.hubFunction.addEnvironment(name, value);
    readFeeds(props.hubFunction);
    this.queue.grantSendMessages(props.hubFunction);

    for (const publisher of props.publishers) {
      publisher.addEnvironment(ENV.hubQueueUrl, this.queue.queueUrl);
      if (props.externalHubs.length > 0)
        publisher.addEnvironment(ENV.websubHubs, props.externalHubs.join(','));
      this.queue.grantSendMessages(publisher);
    }
  }
}
