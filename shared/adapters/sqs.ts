import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DigestMessage, DigestQueue } from '../services/digests.js';
import type { SliceQueue } from '../services/publish-job.js';
import { traced } from '../tracing.js';

/** SQS SendMessageBatch takes up to 10 messages per call. */
const SEND_BATCH_MAX = 10;
const ATTEMPTS = 5;

export interface SqsSendClient {
  send(command: SendMessageBatchCommand): Promise<{ Failed?: { Id?: string; Message?: string }[] }>;
}

/** Sends messages as JSON in batches of 10, retrying entries SQS refused, then fails naming `what`. */
const sendAll = async (
  client: SqsSendClient,
  queueUrl: string,
  messages: readonly unknown[],
  what: string,
): Promise<void> => {
  for (let i = 0; i < messages.length; i += SEND_BATCH_MAX) {
    let pending = messages.slice(i, i + SEND_BATCH_MAX);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: pending.map((message, id) => ({ Id: String(id), MessageBody: JSON.stringify(message) })),
        }),
      );
      const failed = new Set((out.Failed ?? []).map((f) => Number(f.Id)));
      pending = pending.filter((_, id) => failed.has(id));
      if (pending.length > 0 && attempt >= ATTEMPTS) {
        throw new Error(`SQS refused ${pending.length} ${what}: ${out.Failed?.[0]?.Message ?? 'no reason'}`);
      }
      if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
};

/** The digest queue in AWS: batches of 10, entries SQS refused retried, then an error. */
export const makeSqsDigestQueue = (client: SqsSendClient, queueUrl: string): DigestQueue => ({
  send: (messages: DigestMessage[]) => sendAll(client, queueUrl, messages, 'digest messages'),
});

/** The queue of a full publish's slices in AWS, sent as the digest queue's messages are. */
export const makeSqsSliceQueue = (client: SqsSendClient, queueUrl: string): SliceQueue => ({
  send: (messages) => sendAll(client, queueUrl, messages, 'publish slices'),
});

export const createSqsClient = (): SQSClient => traced(new SQSClient({}));
