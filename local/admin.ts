import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { BatchWriteCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type {
  ApiKeyInfo,
  CreatedApiKey,
  ForgetReport,
  SubscriberExport,
  WebhookInfo,
  WebSubView,
} from '../cli/backend.js';
import { CliError } from '../cli/errors.js';
import type { ApiKeyAdminStore } from '../shared/adapters/api-keys.js';
import { queryAll } from '../shared/adapters/items.js';
import { followedSlugsOf } from '../shared/adapters/subscription-store.js';
import { parseTokenSecret } from '../shared/adapters/token-secret.js';
import type { WebhookOwner } from '../shared/adapters/webhook-owners.js';
import { operatorWebSubView } from '../shared/adapters/websub-store.js';
import { apiKeyIdOf, formatApiKey, hashApiKey } from '../shared/domain/api-key.js';
import { DIGEST_CADENCES, type DigestCadence } from '../shared/domain/subscription.js';
import { type LinkKeys, subscriberIdOf } from '../shared/domain/tokens.js';
import { EVENT_SK, PARTITION_PREFIX, SUBSCRIBER_SK, TAGS_PARTITION } from '../shared/keys.js';
import type { DigestReport } from '../shared/services/digests.js';
import type { PublishReport } from '../shared/services/publish.js';
import type { StreamHandler } from './change-capture.js';
import { lambdaContext } from './lambda-context.js';
import type { LocalTopic } from './topic.js';

/**
 * What `tidings` does to the local data folder, run inside the process that holds it: the running
 * `npm start` (through `POST /local/admin/<op>`, authorised by `<data>/admin-token`), or a runtime
 * the command starts itself when none runs. dynalite's store admits one process at a time, so the
 * operations live here, beside the store, rather than in the command.
 */
export interface LocalAdmin {
  'keys.create'(name: string): Promise<CreatedApiKey>;
  'keys.list'(): Promise<ApiKeyInfo[]>;
  'keys.revoke'(nameOrId: string): Promise<ApiKeyInfo>;
  publish(full: boolean): Promise<PublishReport>;
  digest(cadence: DigestCadence, now: boolean): Promise<DigestReport>;
  counts(): Promise<{ events: number; tags: number; subscribers: number }>;
  redrive(): Promise<{ redriven: number; failed: number }>;
  'subscribers.count'(): Promise<{ total: number; byStatus: Record<string, number> }>;
  'subscribers.export'(): Promise<SubscriberExport[]>;
  'subscribers.forget'(email: string): Promise<ForgetReport>;
  'webhooks.list'(): Promise<WebhookInfo[]>;
  'webhooks.delete'(id: string): Promise<void>;
  'websub.view'(): Promise<WebSubView>;
  'links.rotate'(retireOld: boolean): Promise<{ current: string; accepted: string[] }>;
}

export type AdminOp = keyof LocalAdmin;
export const ADMIN_OPS: readonly AdminOp[] = [
  'keys.create',
  'keys.list',
  'keys.revoke',
  'publish',
  'digest',
  'counts',
  'redrive',
  'subscribers.count',
  'subscribers.export',
  'subscribers.forget',
  'webhooks.list',
  'webhooks.delete',
  'websub.view',
  'links.rotate',
];

export interface LocalAdminDeps {
  db: DynamoDBDocumentClient;
  tableName: string;
  dataDir: string;
  keys: ApiKeyAdminStore;
  publish(full: boolean): Promise<PublishReport>;
  digest(cadence: DigestCadence, options: { now: boolean }): Promise<DigestReport>;
  /** The stream handler the change capture feeds: `redrive` feeds it the parked records again. */
  handleChanges: StreamHandler;
  topic: LocalTopic;
  linkKeys(): LinkKeys;
  /** Stores a new token secret (the file's text) and makes the running process sign and verify with it. */
  replaceTokenSecret(raw: string): void;
  now: () => string;
}

const PRIVATE_FILE = 0o600;

/** Writes the file whole or not at all: a crash never leaves half a secret or half a dead-letter list. */
export const writePrivateFile = (path: string, text: string): void => {
  writeFileSync(`${path}.tmp`, text, { mode: PRIVATE_FILE });
  renameSync(`${path}.tmp`, path);
};

/** Every item of the table the filter keeps (local tables are small; only the operator scans). */
const scanAll = async (
  db: DynamoDBDocumentClient,
  tableName: string,
  filter: string,
  values: Record<string, unknown>,
  names?: Record<string, string>,
): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await db.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: filter,
        ExpressionAttributeValues: values,
        ...(names ? { ExpressionAttributeNames: names } : {}),
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }),
    );
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
};

const subscriberItems = (db: DynamoDBDocumentClient, tableName: string) =>
  scanAll(db, tableName, 'begins_with(PK, :prefix) AND SK = :sk', {
    ':prefix': PARTITION_PREFIX.subscriber,
    ':sk': SUBSCRIBER_SK,
  });

const keyInfo = (k: { hash: string; name: string; createdAt: string; revoked: boolean }): ApiKeyInfo => ({
  name: k.name,
  id: apiKeyIdOf(k.hash),
  createdAt: k.createdAt,
  revoked: k.revoked,
});

/** The next key id after `k1`, `k2`…: one more than the highest number in use. */
const nextKid = (kids: readonly string[]): string => {
  const numbers = kids.map((kid) => /^k(\d+)$/.exec(kid)?.[1]).map((n) => (n ? Number(n) : 0));
  return `k${Math.max(1, ...numbers) + 1}`;
};

/**
 * A rotation step on the stored token secret (either format; the result is always JSON). Without
 * `retireOld`: a new signing key becomes current and every older one still verifies. With it: only
 * the current key is kept, and links without a key id stop verifying. The id root never changes.
 */
export const rotateTokenSecret = (raw: string, retireOld: boolean, newSecret: string): string => {
  const spec = parseTokenSecret(raw);
  const signing = retireOld
    ? [spec.signing[0]]
    : [{ kid: nextKid(spec.signing.map((s) => s.kid)), secret: newSecret }, ...spec.signing];
  return `${JSON.stringify({
    id: spec.id,
    ...(spec.legacyIds ? { legacyIds: true } : {}),
    ...(spec.legacyLinks && !retireOld ? { legacyLinks: true } : {}),
    signing,
  })}\n`;
};

export const makeLocalAdmin = (deps: LocalAdminDeps): LocalAdmin => {
  const { db, tableName, keys } = deps;
  const deadLetterPath = join(deps.dataDir, 'dead-letter.ndjson');

  const findKey = async (nameOrId: string) => {
    const all = await keys.listApiKeys();
    const matches = all.filter((k) => k.name === nameOrId || apiKeyIdOf(k.hash) === nameOrId);
    // A name used by several keys (one revoked, one live) means the live one.
    const live = matches.filter((k) => !k.revoked);
    const chosen = live.length > 0 ? live : matches;
    if (chosen.length === 0) throw new CliError(`no API key named or with id "${nameOrId}"`);
    if (chosen.length > 1) {
      throw new CliError(
        `${chosen.length} keys are named "${nameOrId}": revoke one by its id (${chosen.map((k) => apiKeyIdOf(k.hash)).join(', ')})`,
      );
    }
    return chosen[0] as (typeof all)[number];
  };

  return {
    async 'keys.create'(name) {
      if (!/^[\w.@-]{1,64}$/.test(name)) {
        throw new CliError('--name must be 1 to 64 letters, digits, ".", "@", "_" or "-"', { usage: true });
      }
      const existing = await keys.listApiKeys();
      if (existing.some((k) => k.name === name && !k.revoked)) {
        throw new CliError(`a key named "${name}" exists: revoke it first, or choose another name`);
      }
      const key = formatApiKey(randomBytes(32));
      const hash = hashApiKey(key);
      const record = { name, createdAt: deps.now(), revoked: false };
      await keys.putApiKey(hash, record);
      return { ...keyInfo({ hash, ...record }), key };
    },
    async 'keys.list'() {
      return (await keys.listApiKeys()).map(keyInfo);
    },
    async 'keys.revoke'(nameOrId) {
      const key = await findKey(nameOrId);
      if (!key.revoked) await keys.revokeApiKey(key.hash);
      return keyInfo({ ...key, revoked: true });
    },

    publish: (full) => deps.publish(full === true),
    async digest(cadence, now) {
      if (!DIGEST_CADENCES.includes(cadence)) {
        throw new CliError(`--cadence must be ${DIGEST_CADENCES.join(' or ')} (got ${String(cadence)})`, {
          usage: true,
        });
      }
      return deps.digest(cadence, { now: now === true });
    },

    async counts() {
      const events = await scanAll(
        db,
        tableName,
        'begins_with(PK, :prefix) AND SK = :sk AND attribute_not_exists(deleted)',
        { ':prefix': PARTITION_PREFIX.event, ':sk': EVENT_SK },
      );
      const { count: tags } = await queryAll(db, {
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': TAGS_PARTITION },
        Select: 'COUNT',
      });
      const subscribers = await subscriberItems(db, tableName);
      return { events: events.length, tags, subscribers: subscribers.length };
    },

    async redrive() {
      if (!existsSync(deadLetterPath)) return { redriven: 0, failed: 0 };
      const lines = readFileSync(deadLetterPath, 'utf8')
        .split('\n')
        .filter((l) => l.trim());
      const done = new Set<string>();
      let failed = 0;
      for (const line of lines) {
        let record: DynamoDBRecord;
        try {
          record = (JSON.parse(line) as { record: DynamoDBRecord }).record;
        } catch {
          failed += 1; // unreadable: left for the operator to look at
          continue;
        }
        let ok = false;
        try {
          const response = await deps.handleChanges({ Records: [record] }, lambdaContext('process-changes'));
          ok = (response?.batchItemFailures ?? []).length === 0;
        } catch {
          ok = false;
        }
        if (ok) done.add(line);
        else failed += 1;
      }
      // Read again: the change capture may have parked more while these were replayed.
      const now = readFileSync(deadLetterPath, 'utf8')
        .split('\n')
        .filter((l) => l.trim());
      const left = now.filter((l) => !done.has(l));
      writePrivateFile(deadLetterPath, left.map((l) => `${l}\n`).join(''));
      return { redriven: done.size, failed };
    },

    async 'subscribers.count'() {
      const items = await subscriberItems(db, tableName);
      const byStatus: Record<string, number> = {};
      for (const item of items) {
        const status = item.suppressedAt ? 'suppressed' : String(item.status);
        byStatus[status] = (byStatus[status] ?? 0) + 1;
      }
      return { total: items.length, byStatus };
    },
    async 'subscribers.export'() {
      const items = await subscriberItems(db, tableName);
      return items
        .map((item) => ({
          email: String(item.email),
          status: item.suppressedAt ? 'suppressed' : String(item.status),
          ...followedSlugsOf(item),
          cadence: String(item.cadence),
          ...(typeof item.createdAt === 'string' ? { createdAt: item.createdAt } : {}),
          ...(typeof item.confirmedAt === 'string' ? { confirmedAt: item.confirmedAt } : {}),
        }))
        .sort((a, b) => a.email.localeCompare(b.email));
    },
    async 'subscribers.forget'(email) {
      if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) {
        throw new CliError(`"${email}" is not an email address`, { usage: true });
      }
      const id = subscriberIdOf(deps.linkKeys(), email);
      const { items: found } = await queryAll(db, {
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': `${PARTITION_PREFIX.subscriber}${id}` },
        ProjectionExpression: 'PK, SK',
        ConsistentRead: true,
      });
      const items = found.map((item) => ({ PK: String(item.PK), SK: String(item.SK) }));
      // The suppression is keyed by the id (an HMAC of the address) and holds no address: it keeps
      // a complaining or bouncing address from being mailed again if it signs up again.
      const doomed = items.filter((i) => i.SK !== 'SUPPRESSED');
      const suppressed = items.length > doomed.length;
      if (doomed.length === 0 && !suppressed) throw new CliError('no subscriber has this address');
      for (let i = 0; i < doomed.length; i += 25) {
        let requests: Record<string, unknown[]> | undefined = {
          [tableName]: doomed.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } })),
        };
        while (requests && Object.keys(requests).length > 0) {
          const out = await db.send(new BatchWriteCommand({ RequestItems: requests as never }));
          requests = out.UnprocessedItems as Record<string, unknown[]> | undefined;
        }
      }
      return {
        deleted: doomed.length,
        kept: [
          ...(suppressed ? [`suppression (${PARTITION_PREFIX.subscriber}${id})`] : []),
          `rate-limit records (${PARTITION_PREFIX.limit}…, keyed by a hash of the address; they expire)`,
        ],
      };
    },

    async 'webhooks.list'() {
      const owners = new Map<string, WebhookOwner>();
      const ownerItems = await scanAll(db, tableName, 'begins_with(PK, :prefix)', {
        ':prefix': PARTITION_PREFIX.webhook,
      });
      for (const item of ownerItems) owners.set(String(item.id), item as unknown as WebhookOwner);
      return deps.topic
        .list()
        .filter((s) => s.protocol !== 'log')
        .map((s) => {
          const owner = owners.get(s.id);
          const url = s.endpoint ? new URL(s.endpoint) : undefined;
          return {
            id: s.id,
            url: url ? `${url.origin}${url.pathname}` : '',
            status: 'confirmed',
            ...(s.filterPolicy ? { filterPolicy: s.filterPolicy as Record<string, unknown> } : {}),
            ...(owner ? { owner: { keyId: owner.keyId, keyName: owner.keyName } } : {}),
          };
        });
    },
    'websub.view'() {
      return operatorWebSubView(db, tableName, Math.floor(Date.parse(deps.now()) / 1000));
    },
    async 'webhooks.delete'(id) {
      const ownerItems = await scanAll(db, tableName, 'begins_with(PK, :prefix) AND SK = :id', {
        ':prefix': PARTITION_PREFIX.webhook,
        ':id': id,
      });
      const known = deps.topic.list().some((s) => s.id === id && s.protocol !== 'log');
      if (!known && ownerItems.length === 0) throw new CliError(`no webhook with id "${id}"`);
      if (known) deps.topic.unsubscribe(id);
      for (let i = 0; i < ownerItems.length; i += 25) {
        await db.send(
          new BatchWriteCommand({
            RequestItems: {
              [tableName]: ownerItems
                .slice(i, i + 25)
                .map((item) => ({ DeleteRequest: { Key: { PK: item.PK, SK: item.SK } } })),
            },
          }),
        );
      }
    },

    async 'links.rotate'(retireOld) {
      const file = join(deps.dataDir, 'token-secret');
      const raw = readFileSync(file, 'utf8');
      const next = rotateTokenSecret(raw, retireOld, randomBytes(32).toString('base64url'));
      // Checked before it is stored: the running process must never read a secret it refuses.
      const spec = parseTokenSecret(next);
      writePrivateFile(file, next);
      deps.replaceTokenSecret(next);
      return { current: spec.signing[0].kid, accepted: spec.signing.map((s) => s.kid) };
    },
  };
};

/** A fresh admin token per start, owner-only: whoever can read the data folder may administer it. */
export const newAdminToken = (): string => randomBytes(32).toString('base64url');

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export const sameToken = (given: string, expected: string): boolean =>
  timingSafeEqual(digest(given), digest(expected));

const ADMIN_PATH = '/local/admin/';
/** Arguments are names, an email address, a few flags: anything larger is not a command's. */
const MAX_ADMIN_BODY = 64 * 1024;

const readJson = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_ADMIN_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_ADMIN_BODY) return reject(new Error('request body too large'));
      try {
        resolve(chunks.length === 0 ? [] : JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new Error('request body is not JSON'));
      }
    });
    req.on('error', reject);
  });

const answer = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

/**
 * `GET /local/admin/ping` and `POST /local/admin/<op>` (body: the arguments as a JSON array), for
 * `tidings` on this machine: `authorization: Bearer <the admin token>`, never the API key, so the
 * API's callers cannot administer it. Failures the operator can act on answer 400 with
 * `{"error": message}`; others 500.
 */
export const serveAdmin =
  (admin: LocalAdmin, token: () => string) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (!path.startsWith(ADMIN_PATH)) return false;
    const given = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (!sameToken(given, token())) {
      req.resume();
      answer(res, 403, { error: 'Forbidden: the admin token is in the data folder' });
      return true;
    }
    const op = path.slice(ADMIN_PATH.length);
    if (op === 'ping' && req.method === 'GET') {
      answer(res, 200, { pid: process.pid });
      return true;
    }
    if (req.method !== 'POST' || !ADMIN_OPS.includes(op as AdminOp)) {
      req.resume();
      answer(res, 404, { error: `no admin operation ${req.method} ${op}` });
      return true;
    }
    try {
      const args = await readJson(req);
      if (!Array.isArray(args)) throw new CliError('the arguments must be a JSON array', { usage: true });
      const fn = admin[op as AdminOp] as (...a: unknown[]) => Promise<unknown>;
      const result = await fn(...args);
      answer(res, 200, { result: result ?? null });
    } catch (error) {
      if (error instanceof CliError) answer(res, 400, { error: error.message, usage: error.exitCode === 2 });
      else answer(res, 500, { error: (error as Error).message });
    }
    return true;
  };
