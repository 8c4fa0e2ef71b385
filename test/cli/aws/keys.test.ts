import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../../../cli/errors.js';
import { makeApiKeyStore } from '../../../shared/adapters/api-keys.js';
import { apiKeyIdOf, hashApiKey } from '../../../shared/domain/api-key.js';
import { type FakeStack, fakeStack } from './fake-stack.js';

let stack: FakeStack;
beforeAll(async () => {
  stack = await fakeStack();
});
afterAll(() => stack.close());

describe('keys against a deployed stack (its table in dynalite)', () => {
  it('create prints the key once and stores only its hash, as the authorizer looks it up', async () => {
    const created = await stack.backend.keys.create('ingest');
    expect(created.key).toMatch(/^tdg_[A-Za-z0-9_-]{43}$/);
    const hash = hashApiKey(created.key);
    expect(created).toMatchObject({ name: 'ingest', id: apiKeyIdOf(hash), revoked: false });
    const stored = await makeApiKeyStore(stack.table.db, stack.table.tableName).findApiKey(hash);
    expect(stored).toEqual({ name: 'ingest', createdAt: created.createdAt, revoked: false });
    const scan = await stack.table.db.send(new ScanCommand({ TableName: stack.table.tableName }));
    expect(JSON.stringify(scan.Items)).not.toContain(created.key);
  });

  it('refuses a second live key of the same name, and a name it cannot show', async () => {
    await expect(stack.backend.keys.create('ingest')).rejects.toThrow('a key named ingest exists');
    const bad = await stack.backend.keys.create('').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CliError);
    expect((bad as CliError).exitCode).toBe(2);
  });

  it('lists keys without their secrets', async () => {
    await stack.backend.keys.create('backfill');
    const list = await stack.backend.keys.list();
    expect(list.map((k) => k.name).sort()).toEqual(['backfill', 'ingest']);
    for (const key of list) expect(Object.keys(key).sort()).toEqual(['createdAt', 'id', 'name', 'revoked']);
  });

  it('revokes by name, says the authorizer may accept it for 5 more minutes, and the store sees it revoked', async () => {
    const [key] = (await stack.backend.keys.list()).filter((k) => k.name === 'backfill');
    const revoked = await stack.backend.keys.revoke('backfill');
    expect(revoked).toMatchObject({
      name: 'backfill',
      id: key?.id,
      revoked: true,
      refusedWithinSeconds: 300,
    });
    expect((await stack.backend.keys.list()).find((k) => k.id === key?.id)?.revoked).toBe(true);
    // Again: the same answer, nothing else changes.
    expect(await stack.backend.keys.revoke(key?.id ?? '')).toMatchObject({ revoked: true });
  });

  it('revokes by id, and says when nothing or several match', async () => {
    const other = await stack.backend.keys.create('twin');
    await stack.backend.keys.revoke(other.id);
    await stack.backend.keys.create('twin');
    await expect(stack.backend.keys.revoke('nobody')).rejects.toThrow(
      'no API key is named nobody or has that id (see tidings keys list)',
    );
    // One twin is revoked: the name means the live one.
    expect((await stack.backend.keys.revoke('twin')).revoked).toBe(true);
    await expect(stack.backend.keys.revoke('twin')).rejects.toThrow(
      /2 keys are named twin: revoke one by id/,
    );
  });
});
