import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../../../cli/errors.js';
import { linkKeysOf } from '../../../shared/adapters/token-secret.js';
import { subscriberIdOf } from '../../../shared/domain/tokens.js';
import { digestCursorKey, ledgerKey, limitKey, subscriberKey, suppressionKey } from '../../../shared/keys.js';
import { type FakeStack, fakeStack, outputsOf, recordingProgress } from './fake-stack.js';

// The table is dynalite; the token secret comes from a faked Secrets Manager.

let stack: FakeStack;
const outputs = outputsOf('');
/** A stack deployed before key ids holds a plain string. */
const SECRET = 'p1ainStringSecretOfAtLeastThirtyTwoCharacters';
const idOf = (email: string) => subscriberIdOf(linkKeysOf(SECRET), email);

const put = (Item: Record<string, unknown>) =>
  stack.table.db.send(new PutCommand({ TableName: stack.table.tableName, Item }));
const subscriber = (email: string, status: string, extra: Record<string, unknown> = {}) =>
  put({
    ...subscriberKey(idOf(email)),
    id: idOf(email),
    email,
    status,
    cadence: 'daily',
    topics: [{ slug: 'russia', name: 'Russia' }],
    createdAt: '2026-11-01T00:00:00.000Z',
    tokenVersion: 1,
    ...extra,
  });

beforeAll(async () => {
  stack = await fakeStack();
  stack.fakes.secrets
    .on(GetSecretValueCommand, { SecretId: outputs.TokenSecretArn })
    .resolves({ SecretString: SECRET, VersionId: 'v1', CreatedDate: new Date('2026-01-01T00:00:00Z') });
  await subscriber('ada@example.org', 'confirmed', { confirmedAt: '2026-11-01T00:05:00.000Z' });
  await subscriber('bob@example.org', 'pending');
  await subscriber('cy@example.org', 'unsubscribed');
  const ada = idOf('ada@example.org');
  await put({ ...digestCursorKey(ada), cursor: '2026-12-05T07:00:00.000Z' });
  await put({ ...ledgerKey(ada, 'daily', '2026-12-04T07:00:00.000Z'), state: 'sent' });
  await put({ ...suppressionKey(ada), reason: 'complaint', at: '2026-12-05T08:00:00.000Z' });
  await put({ ...limitKey('mailbox', 'mac-of-ada'), t0: 1 });
});
afterAll(() => stack.close());

describe('subscribers against a deployed stack', () => {
  it('count: by status, with one Scan', async () => {
    expect(await stack.backend.subscribers.count()).toEqual({
      total: 3,
      byStatus: { confirmed: 1, pending: 1, unsubscribed: 1 },
    });
  });

  it('export: every subscriber, by address, with progress over the table', async () => {
    const { progress, seen } = recordingProgress();
    const rows = await stack.backend.subscribers.export(progress);
    expect(rows).toEqual([
      {
        email: 'ada@example.org',
        status: 'confirmed',
        // Stored before labels could be followed: its `topics` are tags.
        tags: ['russia'],
        topics: [],
        cadence: 'daily',
        createdAt: '2026-11-01T00:00:00.000Z',
        confirmedAt: '2026-11-01T00:05:00.000Z',
      },
      expect.objectContaining({ email: 'bob@example.org', status: 'pending' }),
      expect.objectContaining({ email: 'cy@example.org', status: 'unsubscribed' }),
    ]);
    expect(seen.started?.[1]).toBe('items scanned');
    expect(seen.stopped).toBe(true);
  });

  it('forget: deletes record, cursor and ledger, keeps the suppression and the sign-up limits', async () => {
    const ada = idOf('ada@example.org');
    // Found however the operator types the address.
    const report = await stack.backend.subscribers.forget('  Ada@Example.org ');
    expect(report.deleted).toBe(3);
    expect(report.kept).toEqual([
      `suppression (SUBSCRIBER#${ada} / SUPPRESSED)`,
      expect.stringMatching(/^sign-up limits/),
    ]);
    const { Items = [] } = await stack.table.db.send(new ScanCommand({ TableName: stack.table.tableName }));
    const keys = Items.map((i) => `${i.PK} ${i.SK}`);
    expect(keys.filter((k) => k.includes(ada))).toEqual([`SUBSCRIBER#${ada} SUPPRESSED`]);
    expect(keys).toContain('LIMIT#mailbox#mac-of-ada LIMIT');
    expect(JSON.stringify(Items)).not.toContain('ada@example.org');
    // Again: nothing left to delete.
    expect((await stack.backend.subscribers.forget('ada@example.org')).deleted).toBe(0);
    expect((await stack.backend.subscribers.count()).total).toBe(2);
  });

  it('forget: refuses what is not an address (a usage error)', async () => {
    const error = await stack.backend.subscribers.forget('nobody').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
  });
});
