import {
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  type Subscription,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { PARTITION_PREFIX, webhookOwnerKey } from '../../shared/keys.js';
import type { WebhookInfo } from '../backend.js';
import { CliError } from '../errors.js';
import type { AwsContext } from './context.js';
import { scanTable } from './scan.js';

interface Owner {
  keyId: string;
  keyName: string;
}

/** The API's owner records (`WEBHOOK#<keyId>` / `<subscription id>`), by subscription id. */
const owners = async (ctx: AwsContext): Promise<Map<string, Owner>> => {
  const found = new Map<string, Owner>();
  await scanTable(
    ctx,
    {
      FilterExpression: 'begins_with(PK, :w)',
      ExpressionAttributeValues: { ':w': PARTITION_PREFIX.webhook },
    },
    (items) => {
      for (const item of items) {
        if (typeof item.keyId === 'string' && typeof item.SK === 'string') {
          found.set(item.SK, {
            keyId: item.keyId,
            keyName: typeof item.keyName === 'string' ? item.keyName : '',
          });
        }
      }
    },
  );
  return found;
};

/** The topic's HTTP(S) subscriptions, page by page. */
const subscriptions = async (ctx: AwsContext): Promise<Subscription[]> => {
  const found: Subscription[] = [];
  let token: string | undefined;
  do {
    const out = await ctx.clients.sns.send(
      new ListSubscriptionsByTopicCommand({
        TopicArn: ctx.outputs.get('TopicArn'),
        ...(token ? { NextToken: token } : {}),
      }),
    );
    found.push(...(out.Subscriptions ?? []).filter((s) => s.Protocol === 'http' || s.Protocol === 'https'));
    token = out.NextToken;
  } while (token);
  return found;
};

const isArn = (arn: string | undefined): arn is string => arn?.startsWith('arn:') === true;
/** The subscription id: the last part of its ARN (what the API calls a webhook's id). */
const idOf = (arn: string): string => arn.slice(arn.lastIndexOf(':') + 1);
/** Integrators put secrets in query strings: never shown. */
const withoutQuery = (url: string): string => url.replace(/[?#].*$/, '');

export const listWebhooks = async (ctx: AwsContext): Promise<WebhookInfo[]> => {
  const [subs, owned] = await Promise.all([subscriptions(ctx), owners(ctx)]);
  return Promise.all(
    subs.map(async (s): Promise<WebhookInfo> => {
      const url = withoutQuery(s.Endpoint ?? '');
      if (!isArn(s.SubscriptionArn)) {
        // Not confirmed yet: SNS gives no ARN, so no id to delete it by (it lapses after 3 days).
        return { id: '', url, status: 'pending confirmation' };
      }
      const id = idOf(s.SubscriptionArn);
      const { Attributes } = await ctx.clients.sns.send(
        new GetSubscriptionAttributesCommand({ SubscriptionArn: s.SubscriptionArn }),
      );
      const owner = owned.get(id);
      return {
        id,
        url,
        status: Attributes?.PendingConfirmation === 'true' ? 'pending confirmation' : 'confirmed',
        ...(Attributes?.FilterPolicy ? { filterPolicy: JSON.parse(Attributes.FilterPolicy) } : {}),
        ...(owner ? { owner } : {}),
      };
    }),
  );
};

/** Unsubscribes the webhook and removes the API's record of who created it. */
export const deleteWebhook = async (ctx: AwsContext, id: string): Promise<void> => {
  const [subs, owned] = await Promise.all([subscriptions(ctx), owners(ctx)]);
  const sub = subs.find((s) => isArn(s.SubscriptionArn) && idOf(s.SubscriptionArn) === id);
  const owner = owned.get(id);
  if (!sub && !owner) throw new CliError(`no webhook ${id} (see tidings webhooks list)`);
  if (sub?.SubscriptionArn) {
    await ctx.clients.sns.send(new UnsubscribeCommand({ SubscriptionArn: sub.SubscriptionArn }));
  }
  if (owner) {
    await ctx.clients.db.send(
      new DeleteCommand({ TableName: ctx.outputs.get('TableName'), Key: webhookOwnerKey(owner.keyId, id) }),
    );
  }
};
