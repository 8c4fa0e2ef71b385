import {
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  type SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';

/** An integrator's HTTP(S) endpoint subscribed to the topic of changes. */
export interface Webhook {
  id: string;
  url: string;
  /** The SNS filter policy (MessageAttributes scope), absent when everything is delivered. */
  filterPolicy?: Record<string, unknown>;
  /** SNS first sends a SubscriptionConfirmation the endpoint must answer by visiting SubscribeURL. */
  status: 'pending-confirmation' | 'confirmed';
}

export interface WebhookRegistry {
  /** Throws `EndpointRefusedError` when the registry will not deliver to the URL. */
  add(url: string, filterPolicy?: Record<string, unknown>): Promise<Webhook>;
  /** Every HTTP(S) subscription of the topic, whoever made it. */
  list(): Promise<Webhook[]>;
  /** One subscription; undefined when it is gone (unsubscribed by its endpoint, or never confirmed). */
  get(id: string): Promise<Webhook | undefined>;
  /** False when no such webhook exists. */
  remove(id: string): Promise<boolean>;
}

export class FilterPolicyLimitError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FilterPolicyLimitError';
  }
}

/** The registry will not deliver to this endpoint; the message is the rule it broke. */
export class EndpointRefusedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EndpointRefusedError';
  }
}

const idOf = (arn: string) => arn.split(':').at(-1) ?? arn;

/** Webhooks as SNS HTTP(S) subscriptions of the topic of changes. */
export const makeSnsWebhooks = (client: SNSClient, topicArn: string): WebhookRegistry => ({
  async add(url, filterPolicy) {
    try {
      const out = await client.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: new URL(url).protocol === 'https:' ? 'https' : 'http',
          Endpoint: url,
          ReturnSubscriptionArn: true,
          Attributes: filterPolicy
            ? { FilterPolicy: JSON.stringify(filterPolicy), FilterPolicyScope: 'MessageAttributes' }
            : {},
        }),
      );
      const arn = out.SubscriptionArn ?? '';
      return {
        id: idOf(arn),
        url,
        ...(filterPolicy ? { filterPolicy } : {}),
        status: 'pending-confirmation',
      };
    } catch (error) {
      if ((error as Error).name === 'FilterPolicyLimitExceededException') {
        throw new FilterPolicyLimitError('the topic already has 200 filter policies (an SNS quota)', {
          cause: error,
        });
      }
      throw error;
    }
  },

  async list() {
    const webhooks: Webhook[] = [];
    let next: string | undefined;
    do {
      const out = await client.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: next }),
      );
      for (const sub of out.Subscriptions ?? []) {
        if (sub.Protocol !== 'http' && sub.Protocol !== 'https') continue;
        const arn = sub.SubscriptionArn ?? '';
        if (arn === 'PendingConfirmation' || !arn.startsWith('arn:')) {
          webhooks.push({ id: 'pending', url: sub.Endpoint ?? '', status: 'pending-confirmation' });
          continue;
        }
        const attrs = await client.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: arn }));
        const policy = attrs.Attributes?.FilterPolicy;
        webhooks.push({
          id: idOf(arn),
          url: sub.Endpoint ?? '',
          ...(policy ? { filterPolicy: JSON.parse(policy) as Record<string, unknown> } : {}),
          status: attrs.Attributes?.PendingConfirmation === 'true' ? 'pending-confirmation' : 'confirmed',
        });
      }
      next = out.NextToken;
    } while (next);
    return webhooks;
  },

  async get(id) {
    try {
      const { Attributes: attrs = {} } = await client.send(
        new GetSubscriptionAttributesCommand({ SubscriptionArn: `${topicArn}:${id}` }),
      );
      if (attrs.Protocol !== 'http' && attrs.Protocol !== 'https') return undefined;
      return {
        id,
        url: attrs.Endpoint ?? '',
        ...(attrs.FilterPolicy
          ? { filterPolicy: JSON.parse(attrs.FilterPolicy) as Record<string, unknown> }
          : {}),
        status: attrs.PendingConfirmation === 'true' ? 'pending-confirmation' : 'confirmed',
      };
    } catch (error) {
      if ((error as Error).name === 'NotFoundException') return undefined;
      throw error;
    }
  },

  async remove(id) {
    try {
      await client.send(new UnsubscribeCommand({ SubscriptionArn: `${topicArn}:${id}` }));
      return true;
    } catch (error) {
      if ((error as Error).name === 'NotFoundException') return false;
      throw error;
    }
  },
});
