import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { makeHandler as authorizeRequest } from '../functions/authorize-request.js';
import { makeHandler as createWebhook } from '../functions/create-webhook.js';
import { makeHandler as deleteEvent } from '../functions/delete-event.js';
import { makeHandler as deleteWebhook } from '../functions/delete-webhook.js';
import { makeHandler as getEvent } from '../functions/get-event.js';
import { makeHandler as listEvents } from '../functions/list-events.js';
import { makeHandler as listTags } from '../functions/list-tags.js';
import { makeHandler as listWebhooks } from '../functions/list-webhooks.js';
import { makeHandler as postEvent } from '../functions/post-event.js';
import { makeHandler as postEventsBatch } from '../functions/post-events-batch.js';
import { makeHandler as processChanges } from '../functions/process-changes.js';
import { makeHandler as putEvent } from '../functions/put-event.js';
import { makeApiKeyStore } from '../shared/adapters/api-keys.js';
import { createDocumentClient } from '../shared/adapters/dynamodb.js';
import { type EventStore, type ListingStore, makeEventStore } from '../shared/adapters/event-store.js';
import { formatApiKey, hashApiKey } from '../shared/domain/api-key.js';
import { API_ROUTES } from '../shared/routes.js';
import { postEvents } from '../shared/services/events.js';
import { ChangeCapture } from './change-capture.js';
import { ensureTable, freePort, startDynalite } from './dynamodb.js';
import { createLocalServer, type LocalApiHandler, type LocalRoute } from './server.js';
import { LocalTopic, localWebhooks } from './topic.js';

export const LOCAL_TABLE = 'tidings';
export const SAMPLE_EVENTS = resolve(import.meta.dirname, 'sample-events.json');

export interface RuntimeOptions {
  /** Everything the runtime keeps: the DynamoDB files, the change journal, the API key. */
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Use this API key instead of the stored or generated one. */
  apiKey?: string;
  /** Load the sample events when the table is new (default true). */
  loadSamples?: boolean;
  now?: () => string;
  log?: (line: string) => void;
}

export interface Runtime {
  url: string;
  apiKey: string;
  dataDir: string;
  dynamodbEndpoint: string;
  store: EventStore & ListingStore;
  capture: ChangeCapture;
  topic: LocalTopic;
  /** True when this start created the table (and loaded the samples). */
  fresh: boolean;
  samplesLoaded: number;
  stop(): Promise<void>;
}

const localApiKey = (dataDir: string, given: string | undefined): string => {
  const file = join(dataDir, 'api-key');
  if (given) return given;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = formatApiKey(randomBytes(32));
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
};

/** Starts Tidings on one machine: dynalite, change capture, the API's handlers behind a local server. */
export const startRuntime = async (options: RuntimeOptions): Promise<Runtime> => {
  const dataDir = resolve(options.dataDir);
  mkdirSync(join(dataDir, 'dynamodb'), { recursive: true });
  const now = options.now ?? (() => new Date().toISOString());
  const log = options.log ?? (() => undefined);

  const dynamo = await startDynalite(join(dataDir, 'dynamodb'));
  const db = createDocumentClient({ endpoint: dynamo.endpoint });
  const fresh = await ensureTable(db, LOCAL_TABLE);
  const baseStore = makeEventStore(db, LOCAL_TABLE);

  const port = options.port === 0 ? await freePort() : (options.port ?? 3000);
  const url = `http://localhost:${port}`;
  const topic = new LocalTopic({
    configPath: join(dataDir, 'subscriptions.json'),
    log,
    record: (line) => appendFileSync(join(dataDir, 'topic.log'), `${line}\n`),
    now,
  });
  const capture = new ChangeCapture({
    journalPath: join(dataDir, 'changes.ndjson'),
    deadLetterPath: join(dataDir, 'dead-letter.ndjson'),
    tableName: LOCAL_TABLE,
    handler: processChanges({ store: baseStore, now, topic, siteUrl: url }),
    log,
  });
  const store = capture.wrap(baseStore);
  const replayed = await capture.recover((id) => baseStore.getEvent(id));
  if (replayed > 0) log(`replaying ${replayed} changes captured before the last stop`);
  capture.start();

  const apiKey = localApiKey(dataDir, options.apiKey);
  const keys = makeApiKeyStore(db, LOCAL_TABLE);
  await keys.putApiKey(hashApiKey(apiKey), { name: 'local', createdAt: now(), revoked: false });

  const deps = { store, now };
  const handlers: Record<string, LocalApiHandler> = {
    'post-event': postEvent(deps),
    'post-events-batch': postEventsBatch(deps),
    'put-event': putEvent(deps),
    'delete-event': deleteEvent(deps),
    'get-event': getEvent(deps),
    'list-events': listEvents(deps),
    'list-tags': listTags(deps),
    'create-webhook': createWebhook({ webhooks: localWebhooks(topic) }),
    'list-webhooks': listWebhooks({ webhooks: localWebhooks(topic) }),
    'delete-webhook': deleteWebhook({ webhooks: localWebhooks(topic) }),
  };
  const routes: LocalRoute[] = API_ROUTES.map((route) => {
    const handler = handlers[route.fn];
    if (!handler) throw new Error(`no local handler for ${route.fn}`);
    return { ...route, handler };
  });
  const server: Server = createLocalServer({ routes, authorize: authorizeRequest({ keys }), log });

  let samplesLoaded = 0;
  if (fresh && options.loadSamples !== false) {
    const samples = JSON.parse(readFileSync(SAMPLE_EVENTS, 'utf8')) as unknown[];
    for (let i = 0; i < samples.length; i += 100) {
      const results = await postEvents(deps, samples.slice(i, i + 100));
      samplesLoaded += results.filter((r) => r.status === 201).length;
    }
    await capture.idle();
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });

  return {
    url,
    topic,
    apiKey,
    dataDir,
    dynamodbEndpoint: dynamo.endpoint,
    store,
    capture,
    fresh,
    samplesLoaded,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      // Changes not yet projected stay in the journal and are replayed on the next start.
      await capture.stop();
      db.destroy();
      await dynamo.close();
    },
  };
};
