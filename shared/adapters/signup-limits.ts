import { createHmac, hkdfSync } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SIGNUP_POLICY, type SignupPolicy } from '../domain/signup.js';
import type { LinkKeys } from '../domain/tokens.js';
import { CONFIRMATIONS_CONTROL, controlKey, limitKey, TABLE } from '../keys.js';
import { isConditionFailure } from './items.js';
import type { TokenSecret } from './token-secret.js';

/** A mailbox's confirmation slot, taken before sending; given back if nothing went out. */
export interface MailboxSlot {
  mailbox: string;
  at: number;
  /** The slots as they were before this one was taken. */
  previous: number[];
}

/**
 * The sign-up limits, kept in the table: each check is one conditional UpdateItem that counts and
 * refuses in the same step (no read first), so concurrent requests cannot both slip under a limit.
 * Times are epoch seconds; the items carry their times, since DynamoDB's TTL deletes late (and
 * dynalite never).
 */
export interface SignupLimits {
  /** Counts a sign-up from a client; false (and nothing counted) when it made `clientPerHour` in the last hour. */
  admitClient(client: string, now: number): Promise<boolean>;
  /**
   * Takes the mailbox's slot for a confirmation; undefined when one was taken within
   * `mailboxSpacingSeconds` or `mailboxPerDay` within 24 hours.
   */
  takeMailboxSlot(mailbox: string, now: number): Promise<MailboxSlot | undefined>;
  /** Undoes `takeMailboxSlot` when nothing was sent after all (unless another slot was taken since). */
  giveBackMailboxSlot(slot: MailboxSlot): Promise<void>;
  /** Spends one confirmation of the clock hour's budget; false when `perHour` are spent. */
  spendConfirmation(now: number, perHour: number): Promise<boolean>;
  /** Whether confirmation sending is paused (SES reputation); read at most once a minute per container. */
  confirmationsPaused(now: number): Promise<boolean>;
}

const DAY = 86_400;
const HOUR = 3_600;
/** How long a container trusts what it read of the pause switch. */
export const PAUSE_CACHE_SECONDS = 60;

/**
 * The last `slots` times something was counted, newest first, as attributes `t0`…: one write
 * shifts them along and refuses when the oldest is still inside the window, which is exactly
 * "at most `slots` in any `window` seconds" in a bounded item.
 */
const slide = (slots: number) => {
  const names = Array.from({ length: slots }, (_, i) => `t${i}`);
  const shifts = names.slice(1).map((name, i) => `${name} = if_not_exists(${names[i]}, :never)`);
  return {
    update: `SET ${[...shifts.reverse(), 't0 = :now', `${TABLE.ttlAttribute} = :expires`].join(', ')}`,
    oldest: names.at(-1) as string,
    names,
  };
};

export const makeSignupLimits = (
  db: DynamoDBDocumentClient,
  tableName: string,
  secret: TokenSecret,
  policy: SignupPolicy = SIGNUP_POLICY,
): SignupLimits => {
  // A key of its own, derived from the subscriber-id key (which never rotates, so a limit outlives
  // a rotation of the signing keys): limit keys cannot be matched to subscriber ids.
  let keyFor: { keys: LinkKeys; key: Buffer } | undefined;
  const macOf = async (kind: string, value: string): Promise<string> => {
    const keys = await secret();
    if (keyFor?.keys !== keys) {
      keyFor = {
        keys,
        key: Buffer.from(hkdfSync('sha256', keys.id, Buffer.alloc(0), 'tidings/signup-limits', 32)),
      };
    }
    return createHmac('sha256', keyFor.key).update(`${kind}\0${value}`).digest('hex').slice(0, 32);
  };
  const client = slide(policy.clientPerHour);
  const mailbox = slide(policy.mailboxPerDay);
  let paused: { value: boolean; until: number } | undefined;

  const counted = async (run: () => Promise<unknown>): Promise<boolean> => {
    try {
      await run();
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  };

  return {
    async admitClient(address, now) {
      const key = limitKey('client', await macOf('client', address));
      return counted(() =>
        db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: client.update,
            ConditionExpression: `attribute_not_exists(${client.oldest}) OR ${client.oldest} <= :cut`,
            ExpressionAttributeValues: {
              ':never': 0,
              ':now': now,
              ':cut': now - HOUR,
              ':expires': now + HOUR,
            },
          }),
        ),
      );
    },

    async takeMailboxSlot(address, now) {
      const key = limitKey('mailbox', await macOf('mailbox', address));
      try {
        const out = await db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: mailbox.update,
            ConditionExpression: `attribute_not_exists(t0) OR (t0 <= :spaced AND ${mailbox.oldest} <= :cut)`,
            ExpressionAttributeValues: {
              ':never': 0,
              ':now': now,
              ':spaced': now - policy.mailboxSpacingSeconds,
              ':cut': now - DAY,
              ':expires': now + DAY,
            },
            ReturnValues: 'ALL_OLD',
          }),
        );
        const old = out.Attributes ?? {};
        const previous = mailbox.names.map((name) => (typeof old[name] === 'number' ? old[name] : 0));
        return { mailbox: address, at: now, previous };
      } catch (error) {
        if (isConditionFailure(error)) return undefined;
        throw error;
      }
    },

    async giveBackMailboxSlot(slot) {
      const key = limitKey('mailbox', await macOf('mailbox', slot.mailbox));
      const values: Record<string, number> = { ':mine': slot.at };
      mailbox.names.forEach((_, i) => {
        values[`:p${i}`] = slot.previous[i] ?? 0;
      });
      await counted(() =>
        db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: `SET ${mailbox.names.map((name, i) => `${name} = :p${i}`).join(', ')}`,
            ConditionExpression: 't0 = :mine',
            ExpressionAttributeValues: values,
          }),
        ),
      );
    },

    async spendConfirmation(now, perHour) {
      const hour = Math.floor(now / HOUR) * HOUR;
      const key = limitKey('confirmations', new Date(hour * 1000).toISOString().slice(0, 13));
      return counted(() =>
        db.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: `ADD sent :one SET ${TABLE.ttlAttribute} = :expires`,
            ConditionExpression: 'attribute_not_exists(sent) OR sent < :max',
            ExpressionAttributeValues: { ':one': 1, ':max': perHour, ':expires': hour + 2 * HOUR },
          }),
        ),
      );
    },

    async confirmationsPaused(now) {
      if (paused && now < paused.until) return paused.value;
      const out = await db.send(
        new GetCommand({ TableName: tableName, Key: controlKey(CONFIRMATIONS_CONTROL) }),
      );
      paused = { value: out.Item?.paused === true, until: now + PAUSE_CACHE_SECONDS };
      return paused.value;
    },
  };
};
