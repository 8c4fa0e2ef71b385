import { Duration } from 'aws-cdk-lib';
import { SqsEventSource, type SqsEventSourceProps } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { TidingsFunction } from './tidings-function.js';

export interface WorkQueueProps {
  /** The timeout of the worker that consumes the queue. */
  workerTimeout: Duration;
  /** How long a message waits unreceived before SQS drops it. */
  retention: Duration;
  /** How long a received message stays hidden; by default six times the worker's timeout. */
  visibilityTimeout?: Duration;
  /** Receives before a message is parked in the dead-letter queue; by default 5. */
  maxReceiveCount?: number;
}

/**
 * A work queue and its dead-letter queue, created in `scope` as `Work` and `DeadLetters` (the
 * logical ids the alarms and runbooks name). SSE-SQS, so SNS can deliver to it without a customer
 * key policy; messages that fail five receives (unless told otherwise) are parked for 14 days.
 */
export const workQueue = (scope: Construct, props: WorkQueueProps) => {
  const deadLetterQueue = new Queue(scope, 'DeadLetters', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new Queue(scope, 'Work', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    // Lambda's guidance: at least six times the function timeout, so retries are not doubled.
    visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(props.workerTimeout.toSeconds() * 6),
    retentionPeriod: props.retention,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
  });
  return { queue, deadLetterQueue };
};

/**
 * Makes `worker` the consumer of `queue`, reporting failures per message; it may also send to the
 * queue, since every worker here puts its own continuations, retries or delayed looks back on it.
 */
export const consumeQueue = (
  queue: Queue,
  worker: TidingsFunction,
  source: Omit<SqsEventSourceProps, 'reportBatchItemFailures'>,
) => {
  queue.grantSendMessages(worker);
  worker.addEventSource(new SqsEventSource(queue, { ...source, reportBatchItemFailures: true }));
};
