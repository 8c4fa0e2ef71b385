import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import type { ChangeMessage } from '../domain/change-message.js';
import { traced } from '../tracing.js';

export interface PublishOutcome {
  /** Indexes (into the entries given) that SNS did not accept. */
  failed: number[];
}

/** The topic of changes: up to 10 messages per call, as SNS PublishBatch takes them. */
export interface ChangeTopic {
  publishBatch(messages: readonly ChangeMessage[]): Promise<PublishOutcome>;
}

/** SNS PublishBatch limits: 10 entries and 256 KiB of payload per call. */
export const PUBLISH_BATCH_MAX = 10;
export const PUBLISH_BATCH_BYTES = 256 * 1024;

export const makeSnsTopic = (client: SNSClient, topicArn: string): ChangeTopic => ({
  async publishBatch(messages) {
    const out = await client.send(
      new PublishBatchCommand({
        TopicArn: topicArn,
        PublishBatchRequestEntries: messages.map((m, i) => ({
          Id: String(i),
          Message: m.body,
          MessageAttributes: m.attributes,
        })),
      }),
    );
    return { failed: (out.Failed ?? []).map((f) => Number(f.Id)) };
  },
});

export const createSnsClient = (): SNSClient => traced(new SNSClient({}));
