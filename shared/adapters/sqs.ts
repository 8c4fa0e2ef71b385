import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DigestMessage, DigestQueue } from '../services/digests.js';
import { traced } from '../tracing.js';

/** SQS SendMessageBatch takes up to 10 messages per call. */
const SEND_BATCH_MAX = 10;
const ATTEMPTS = 5;

export interface SqsSendClient {
  send(command: SendMessageBatchCommand): Promise<{ Failed?: { Id?: string; Message?: string }[] }>;
}

/** The digest queue in AWS: batches of 10, entries SQS refused retried, then an error. */
export const makeSqsDigestQueue = (client: SqsSendClient, queueUrl: string): DigestQueue => ({
  async send(messages) {
    for (let i = 0; i < messages.length; i += SEND_BATCH_MAX) {
      let pending: DigestMessage[] = messages.slice(i, i + SEND_BATCH_MAX);
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
          throw new Error(
            `SQS refused ${pending.length} digest messages: ${out.Failed?.[0]?.Message ?? 'no reason'}`,
          );
        }
        if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
  },
});

export const createSqsClient = (): SQSClient => traced(new SQSClient({}));
