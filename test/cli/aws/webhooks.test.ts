import {
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeWebhookOwnerStore } from '../../../shared/adapters/webhook-owners.js';
import { type FakeStack, fakeStack, outputsOf } from './fake-stack.js';

let stack: FakeStack;
const outputs = outputsOf('');
const arn = (id: string) => `${outputs.TopicArn}:${id}`;

beforeAll(async () => {
  stack = await fakeStack();
  const f = stack.fakes.sns;
  f.on(ListSubscriptionsByTopicCommand, { TopicArn: outputs.TopicArn })
    .resolvesOnce({
      Subscriptions: [
        {
          SubscriptionArn: arn('1111-aaaa'),
          Protocol: 'https',
          Endpoint: 'https://hooks.example.com/in?token=SECRET',
          Owner: '123456789012',
          TopicArn: outputs.TopicArn,
        },
        // An integrator's own queue on the topic: not a webhook.
        { SubscriptionArn: arn('2222-bbbb'), Protocol: 'sqs', Endpoint: 'arn:aws:sqs:eu-west-1:1:q' },
      ],
      NextToken: 'page-2',
    })
    .resolves({
      Subscriptions: [
        { SubscriptionArn: 'PendingConfirmation', Protocol: 'http', Endpoint: 'http://new.example.com/' },
      ],
    });
  f.on(GetSubscriptionAttributesCommand, { SubscriptionArn: arn('1111-aaaa') }).resolves({
    Attributes: { PendingConfirmation: 'false', FilterPolicy: '{"tags":["russia"]}' },
  });
  f.on(UnsubscribeCommand).resolves({});
  await makeWebhookOwnerStore(stack.table.db, stack.table.tableName).putOwner({
    id: '1111-aaaa',
    keyId: '0123456789abcdef',
    keyName: 'ingest',
    createdAt: '2026-12-01T00:00:00.000Z',
  });
});
afterAll(() => stack.close());

describe('webhooks against a deployed stack', () => {
  it('list: the topic’s HTTP(S) subscriptions, every page, without query strings, with who created them', async () => {
    expect(await stack.backend.webhooks.list()).toEqual([
      {
        id: '1111-aaaa',
        url: 'https://hooks.example.com/in',
        status: 'confirmed',
        filterPolicy: { tags: ['russia'] },
        owner: { keyId: '0123456789abcdef', keyName: 'ingest' },
      },
      { id: '', url: 'http://new.example.com/', status: 'pending confirmation' },
    ]);
  });

  it('delete: unsubscribes and removes the owner record; an unknown id is an error', async () => {
    stack.fakes.sns.on(ListSubscriptionsByTopicCommand).resolves({
      Subscriptions: [{ SubscriptionArn: arn('1111-aaaa'), Protocol: 'https', Endpoint: 'https://h/' }],
    });
    await stack.backend.webhooks.delete('1111-aaaa');
    expect(stack.fakes.sns.commandCalls(UnsubscribeCommand).map((c) => c.args[0].input)).toEqual([
      { SubscriptionArn: arn('1111-aaaa') },
    ]);
    const owners = makeWebhookOwnerStore(stack.table.db, stack.table.tableName);
    expect(await owners.isOwner('0123456789abcdef', '1111-aaaa')).toBe(false);
    stack.fakes.sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });
    await expect(stack.backend.webhooks.delete('1111-aaaa')).rejects.toThrow(
      'no webhook 1111-aaaa (see tidings webhooks list)',
    );
  });
});
