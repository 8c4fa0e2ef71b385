import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { AlertLook, AlertQueue } from '../services/alerts.js';
import type { SqsSendClient } from './sqs.js';

/** SQS holds a message back 15 minutes at most; a look due later arrives early and is put back. */
export const SQS_MAX_DELAY_SECONDS = 900;
const SEND_BATCH_MAX = 10;
const ATTEMPTS = 5;

/** A look as it travels on the alert queue (beside the change messages SNS delivers raw). */
export interface LookMessage {
  kind: 'look';
  subscriber: string;
  at: string;
}

/** The alert queue in AWS: each look a message delayed until it is due, 10 a call, refusals retried. */
export const makeSqsAlertQueue = (
  client: SqsSendClient,
  queueUrl: string,
  now: () => number,
): AlertQueue => ({
  async schedule(looks) {
    for (let i = 0; i < looks.length; i += SEND_BATCH_MAX) {
      let pending: AlertLook[] = looks.slice(i, i + SEND_BATCH_MAX);
      for (let attempt = 1; pending.length > 0; attempt++) {
        const at = now();
        const out = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: pending.map((look, id) => ({
              Id: String(id),
              MessageBody: JSON.stringify({
                kind: 'look',
                subscriber: look.subscriber,
                at: look.at,
              } satisfies LookMessage),
              DelaySeconds: Math.min(
                SQS_MAX_DELAY_SECONDS,
                Math.max(0, Math.ceil((Date.parse(look.at) - at) / 1000)),
              ),
            })),
          }),
        );
        const failed = new Set((out.Failed ?? []).map((f) => Number(f.Id)));
        pending = pending.filter((_, id) => failed.has(id));
        if (pending.length > 0 && attempt >= ATTEMPTS) {
          throw new Error(
            `SQS refused ${pending.length} alert looks: ${out.Failed?.[0]?.Message ?? 'no reason'}`,
          );
        }
        if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
  },
});
