import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { listOutbox, type OutboxMessage } from '../../local/outbox.js';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { makeSubscriptionStore, type SubscriptionStore } from '../../shared/adapters/subscription-store.js';
import { linkKeysOf } from '../../shared/adapters/token-secret.js';
import { subscriberIdOf } from '../../shared/domain/tokens.js';
import { subscriberKey } from '../../shared/keys.js';
import { makeEventInput } from './builders.js';
import type { TestRuntime } from './runtime.js';

/** A clock the test moves by hand, for the runtime's `now`. */
export const manualClock = (start: string) => {
  let t = Date.parse(start);
  return {
    now: () => new Date(t).toISOString(),
    advance(seconds: number) {
      t += seconds * 1000;
    },
  };
};

/** Events carrying the tags the subscription tests follow, posted and projected into tag summaries. */
export const seedTopics = async (rt: TestRuntime): Promise<void> => {
  const events = [
    makeEventInput({ headline: 'Aid convoy reaches Aleppo', tags: ['Syria', 'Russia'] }),
    makeEventInput({ headline: 'Talks resume in Geneva', tags: ['Syria', 'Iran'] }),
    makeEventInput({ headline: 'Putin signs the order', tags: ['Russia', 'Vladimir Putin'] }),
  ];
  const res = await rt.write('POST', '/api/events/batch', { events });
  if (res.status !== 200) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
  await rt.capture.idle();
};

/** The runtime's subscribers, read from its table. */
export const subscriptionsOf = (rt: TestRuntime) => {
  const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
  const store: SubscriptionStore = makeSubscriptionStore(db, LOCAL_TABLE);
  const keys = linkKeysOf(rt.tokenSecret);
  return {
    keys,
    store,
    idOf: (email: string) => subscriberIdOf(keys, email),
    subscriber: (email: string) => store.getSubscriber(subscriberIdOf(keys, email)),
    rawItem: async (email: string) =>
      (
        await db.send(
          new GetCommand({
            TableName: LOCAL_TABLE,
            Key: subscriberKey(subscriberIdOf(keys, email)),
          }),
        )
      ).Item,
    close: () => db.destroy(),
  };
};

/** The outbox's messages to one address, oldest first. */
export const mailTo = async (rt: TestRuntime, address: string): Promise<OutboxMessage[]> =>
  (await listOutbox(rt.outboxDir))
    .filter((m) => {
      const to = m.to.toLowerCase();
      const wanted = address.toLowerCase();
      return to === wanted || to.endsWith(`<${wanted}>`);
    })
    .reverse();

/** The first link to an API path in an email's plain-text part (every URL is spelled out there). */
export const linkIn = (message: OutboxMessage, path: string): string => {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`https?://[^\\s<>"]+${escaped}\\?token=[A-Za-z0-9_.-]+`).exec(message.text);
  if (!match) throw new Error(`no ${path} link in "${message.subject}"`);
  return match[0];
};

/** `http://localhost:1234/api/…?token=…` → `/api/…?token=…`, for `rt.request`. */
export const pathOf = (url: string): string => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};
