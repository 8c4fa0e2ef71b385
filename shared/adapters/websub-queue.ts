import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { HubQueue } from '../services/websub.js';
import type { SqsSendClient } from './sqs.js';

const SEND_BATCH_MAX = 10;
const ATTEMPTS = 5;
/** SQS delays a message at most 15 minutes: the retry schedule is made of delays no longer. */
export const MAX_DELAY_SECONDS = 900;

/** The hub's queue in AWS: batches of 10, entries SQS refused retried, then an error. */
export const makeSqsHubQueue = (client: SqsSendClient, queueUrl: string): HubQueue => ({
  async send(entries) {
    for (let i = 0; i < entries.length; i += SEND_BATCH_MAX) {
      let pending = entries.slice(i, i + SEND_BATCH_MAX);
      for (let attempt = 1; pending.length > 0; attempt++) {
        const out = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: pending.map((entry, id) => ({
              Id: String(id),
              MessageBody: JSON.stringify(entry.message),
              ...(entry.delaySeconds
                ? { DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(entry.delaySeconds))) }
                : {}),
            })),
          }),
        );
        const failed = new Set((out.Failed ?? []).map((f) => Number(f.Id)));
        pending = pending.filter((_, id) => failed.has(id));
        if (pending.length > 0 && attempt >= ATTEMPTS) {
          throw new Error(
            `SQS refused ${pending.length} hub messages: ${out.Failed?.[0]?.Message ?? 'no reason'}`,
          );
        }
        if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
  },
});
