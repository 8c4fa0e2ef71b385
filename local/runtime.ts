import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { makeHandler as authorizeRequest } from '../functions/authorize-request.js';
import { makeHandler as confirmSubscription } from '../functions/confirm-subscription.js';
import { makeHandler as createSubscription } from '../functions/create-subscription.js';
import { makeHandler as createWebhook } from '../functions/create-webhook.js';
import { makeHandler as deleteEvent } from '../functions/delete-event.js';
import { makeHandler as deleteWebhook } from '../functions/delete-webhook.js';
import { makeHandler as getEvent } from '../functions/get-event.js';
import { makeHandler as getOpenApi } from '../functions/get-openapi.js';
import { makeHandler as getSubscriberFeed } from '../functions/get-subscriber-feed.js';
import { makeHandler as listEvents } from '../functions/list-events.js';
import { makeHandler as listTags } from '../functions/list-tags.js';
import { makeHandler as listWebhooks } from '../functions/list-webhooks.js';
import { makeHandler as manageSubscription } from '../functions/manage-subscription.js';
import { makeHandler as postEvent } from '../functions/post-event.js';
import { makeHandler as postEventsBatch } from '../functions/post-events-batch.js';
import { makeHandler as processChanges } from '../functions/process-changes.js';
import { makeHandler as putEvent } from '../functions/put-event.js';
import { parseAlertMessage } from '../functions/send-alerts.js';
import { makeHandler as unsubscribe } from '../functions/unsubscribe.js';
import { makeHandler as websubHub } from '../functions/websub-hub.js';
import { makeAlertStore } from '../shared/adapters/alert-store.js';
import { type ApiKeyStore, makeApiKeyStore } from '../shared/adapters/api-keys.js';
import { makeDigestStore } from '../shared/adapters/digest-store.js';
import { createDocumentClient, createLowLevelClient } from '../shared/adapters/dynamodb.js';
import type { Lookup } from '../shared/adapters/endpoint-guard.js';
import {
  type EventStore,
  type ListingStore,
  makeEventStore,
  type PublishStore,
} from '../shared/adapters/event-store.js';
import type { Mailer } from '../shared/adapters/mailer.js';
import { makeSignupLimits } from '../shared/adapters/signup-limits.js';
import type { ChangeTopic } from '../shared/adapters/sns.js';
import { makeSubscriptionStore } from '../shared/adapters/subscription-store.js';
import { linkKeysOf, newTokenSecret, type TokenSecret } from '../shared/adapters/token-secret.js';
import { makeTopicLabelStore } from '../shared/adapters/topic-labels.js';
import { makeWebhookOwnerStore } from '../shared/adapters/webhook-owners.js';
import { makeCallbackClient } from '../shared/adapters/websub-http.js';
import { makeWebSubStore } from '../shared/adapters/websub-store.js';
import { ENV, optionalEnv } from '../shared/config.js';
import { ALERT_FILTER_POLICY } from '../shared/domain/alerts.js';
import { formatApiKey, hashApiKey } from '../shared/domain/api-key.js';
import { matchesFilterPolicy } from '../shared/domain/filter-policy.js';
import { DEFAULT_CONFIRMATIONS_PER_HOUR, SIGNUP_POLICY, type SignupPolicy } from '../shared/domain/signup.js';
import { defaultSiteConfig, HOME_PAGE } from '../shared/domain/site.js';
import type { DigestCadence } from '../shared/domain/subscription.js';
import { parseExternalHubs } from '../shared/domain/websub.js';
import { noMetrics } from '../shared/metrics.js';
import { RENDER_VERSION } from '../shared/render/version.js';
import { API_ROUTES } from '../shared/routes.js';
import { alertComposer } from '../shared/services/alert-email.js';
import { alertSettingsFromEnv } from '../shared/services/alert-settings.js';
import type { AlertDeps, AlertReport, ChangeNotice } from '../shared/services/alerts.js';
import { digestComposer } from '../shared/services/digest-email.js';
import { digestScheduleFromEnv } from '../shared/services/digest-settings.js';
import {
  type DigestDeps,
  type DigestReport,
  handleDigestMessage,
  startDigestRun,
} from '../shared/services/digests.js';
import { postEvents } from '../shared/services/events.js';
import {
  emptyPublishReport,
  type PublishDeps,
  type PublishReport,
  publishAll,
  publishMarked,
} from '../shared/services/publish.js';
import { confirmationsPerHourFromEnv } from '../shared/services/subscription-deps.js';
import {
  DEFAULT_WEBHOOKS_PER_KEY,
  parseWebhooksPerKey,
  type WebhookDeps,
} from '../shared/services/webhooks.js';
import {
  feedsChanged,
  type HubLimits,
  type HubWorkerDeps,
  handleHubMessage,
  watchFeedWrites,
} from '../shared/services/websub.js';
import { hubLimitsFromEnv } from '../shared/services/websub-deps.js';
import { type LocalAdmin, makeLocalAdmin, newAdminToken, serveAdmin, writePrivateFile } from './admin.js';
import { LocalAlertQueue } from './alert-queue.js';
import { ChangeCapture } from './change-capture.js';
import { LocalDigestQueue } from './digest-queue.js';
import { ensureTable, freePort, type LocalDynamo, startDynalite } from './dynamodb.js';
import { makeOutboxMailer, serveOutbox } from './outbox.js';
import { type PoolReport, publishWithWorkers } from './publish-workers.js';
import { createLocalServer, type LocalApiHandler, type LocalRoute } from './server.js';
import { makeFolderObjectStore } from './site-folder.js';
import { serveNotFoundPage, serveSiteFolder } from './static-site.js';
import { LocalTopic, localWebhooks } from './topic.js';
import { LocalHubQueue } from './websub-queue.js';

export const LOCAL_TABLE = 'tidings';

/** TIDINGS_PUBLISH_WORKERS: worker processes of a local full publish, when set (a whole number from 1). */
const workersFromEnv = (): number | undefined => {
  const raw = process.env.TIDINGS_PUBLISH_WORKERS;
  if (raw === undefined || raw === '') return undefined;
  const workers = Number(raw);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new Error(`TIDINGS_PUBLISH_WORKERS must be a whole number from 1 to 64 (got ${raw})`);
  return workers;
};
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
  /** How often marked pages and feeds are rebuilt; 0 turns the schedule off (default 10 s). */
  publishIntervalMs?: number;
  /**
   * Worker processes of a full publish (default: one per core, or TIDINGS_PUBLISH_WORKERS); 1 does
   * its slices in this process.
   */
  publishWorkers?: number;
  /** Node options of the full publish's worker processes (the benchmark gives them Lambda's heap limits). */
  publishWorkerFlags?: string[];
  /** Told of a full publish's slices as they are done (the CLI's progress bar). */
  publishProgress?: (done: number, total: number, label: string) => void;
  /**
   * A store already running, which the runtime uses instead of starting dynalite under `dataDir`
   * and leaves running when it stops (the publish benchmark shares one between processes).
   */
  dynamodbEndpoint?: string;
  /**
   * Sign-up limits other than the product's (tests of other behaviour sign up far more than ten
   * times an hour from one address). The hourly confirmation budget is CONFIRMATIONS_PER_HOUR.
   */
  signupPolicy?: Partial<SignupPolicy>;
  /** Most webhooks per API key (default WEBHOOKS_PER_KEY, else 50). */
  webhooksPerKey?: number;
  /** How often due instant alerts are looked at; 0 turns the schedule off (default 1 s). */
  alertIntervalMs?: number;
  /** The WebSub hub's caps (default WEBSUB_PER_HOST and WEBSUB_PER_FEED, else 100 and 10,000). */
  websubLimits?: Partial<HubLimits>;
  /** External WebSub hubs the feeds name and the hub pings (default WEBSUB_HUBS, else none). */
  websubHubs?: readonly string[];
  /** How webhook host names are resolved when checked and called (default `dns.lookup`). */
  webhookLookup?: Lookup;
}

export interface Runtime {
  url: string;
  /** The same server as `url`, by address: what the local commands talk to. */
  loopbackUrl: string;
  apiKey: string;
  dataDir: string;
  dynamodbEndpoint: string;
  store: EventStore & ListingStore & PublishStore;
  capture: ChangeCapture;
  topic: LocalTopic;
  /** True when this start created the table (and loaded the samples). */
  fresh: boolean;
  samplesLoaded: number;
  /** The folder the site and feeds are published to, served at the runtime's URL. */
  siteDir: string;
  /** Where email goes locally: `.eml` files in `outboxDir`, listed at `<url>/local/outbox`. */
  mailer: Mailer;
  outboxDir: string;
  /** Signs subscriber links and derives subscriber ids; generated on first start into `<data>/token-secret`. */
  tokenSecret: string;
  /** One publish run now: what is marked, or everything; its report is kept in `<data>/last-publish.json`. */
  publish(full?: boolean): Promise<PublishReport>;
  /** The last full publish's worker processes and slices, when it had workers (the benchmark reads them). */
  fullPublishFigures(): Pick<PoolReport, 'workers' | 'slices' | 'planSeconds'> | undefined;
  /** What `tidings` does to the data folder (reached from other processes at `/local/admin/<op>`). */
  admin: LocalAdmin;
  /**
   * One digest run of a cadence, planned and sent to the outbox before it returns: each window ends
   * at its subscriber's latest delivery time (theirs, or DIGEST_HOUR and DIGEST_WEEKDAY in
   * DEFAULT_TIME_ZONE), or now with `now: true`.
   */
  digest(cadence: DigestCadence, options?: { now?: boolean }): Promise<DigestReport>;
  /**
   * Instant alerts now: the changes captured so far queued for their followers, and every look due
   * by the runtime's clock handled (sent to the outbox). The schedule does the same every second.
   */
  alerts(): Promise<AlertReport>;
  /** Where alert looks wait until due (by the runtime's clock). */
  alertQueue: LocalAlertQueue;
  /** The WebSub hub's queue (verifications, distributions, deliveries), worked through every second. */
  hub: { queue: LocalHubQueue; deps: HubWorkerDeps; drain(): Promise<number> };
  stop(): Promise<void>;
}

/** Owner-only: the data folder holds the API key, the link-signing secret and subscribers' addresses. */
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** What the runtime keeps at the top of the data folder, tightened at start when older runs left them open. */
const DATA_FILES = [
  'api-key',
  'api-key.sha256',
  'token-secret',
  'subscriptions.json',
  'topic.log',
  'changes.ndjson',
  'dead-letter.ndjson',
  'admin-token',
  'server.json',
  'last-publish.json',
];

/**
 * What a running server records in the data folder so that `tidings` finds it whatever its port
 * (cli/local/target.ts): removed again on a clean stop.
 */
export interface ServerRecord {
  url: string;
  port: number;
  pid: number;
  startedAt: string;
}
export const SERVER_FILE = 'server.json';
export const ADMIN_TOKEN_FILE = 'admin-token';
export const LAST_PUBLISH_FILE = 'last-publish.json';
/**
 * The render version the site folder was last published with in full (`RENDER_VERSION`): the
 * publish schedule starts a full publish when it differs, as the deployed publisher does.
 */
export const RENDERED_VERSION_FILE = 'rendered-version';

/** Records that the site folder is rendered with this code's `RENDER_VERSION`. */
const recordRenderedVersion = (dataDir: string): void =>
  writePrivateFile(join(dataDir, RENDERED_VERSION_FILE), `${RENDER_VERSION}\n`);

const readRenderedVersion = (dataDir: string): number | undefined => {
  try {
    const version = Number(readFileSync(join(dataDir, RENDERED_VERSION_FILE), 'utf8').trim());
    return Number.isInteger(version) ? version : undefined;
  } catch {
    return undefined;
  }
};

/** `<data>/last-publish.json`: the last publish run's report, for `tidings status`. */
export interface LastPublish extends PublishReport {
  at: string;
  full: boolean;
  seconds: number;
}

/** Creates the folder owner-only, or takes group and other access away from one that exists. */
export const privateDir = (dir: string): void => {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, PRIVATE_DIR);
};

const tightenDataFiles = (dataDir: string): void => {
  for (const name of DATA_FILES) {
    const file = join(dataDir, name);
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, PRIVATE_FILE);
  }
};

const localApiKey = (dataDir: string, given: string | undefined): string => {
  const file = join(dataDir, 'api-key');
  if (given) return given;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = formatApiKey(randomBytes(32));
  writeFileSync(file, `${key}\n`, { mode: PRIVATE_FILE });
  return key;
};

/**
 * Registers the runtime's key and revokes the one it replaces: the key named by the hash kept in
 * `api-key.sha256` at the last start, and the key in `api-key` when another one was given (that file
 * is removed, so no local command picks a dead key). Without this, a key replaced through
 * TIDINGS_API_KEY, for example because it leaked, would go on working.
 */
const registerLocalKey = async (keys: ApiKeyStore, dataDir: string, apiKey: string, at: string) => {
  const hash = hashApiKey(apiKey);
  // Its creation date stays what it was: `tidings keys list` shows when the key was made.
  const known = await keys.findApiKey(hash);
  if (!known || known.revoked)
    await keys.putApiKey(hash, { name: 'local', createdAt: known?.createdAt ?? at, revoked: false });
  const hashFile = join(dataDir, 'api-key.sha256');
  const keyFile = join(dataDir, 'api-key');
  const previous = new Set<string>();
  if (existsSync(hashFile)) previous.add(readFileSync(hashFile, 'utf8').trim());
  if (existsSync(keyFile)) {
    const stored = readFileSync(keyFile, 'utf8').trim();
    if (stored !== apiKey) {
      previous.add(hashApiKey(stored));
      rmSync(keyFile);
    }
  }
  previous.delete(hash);
  for (const old of previous) {
    const record = /^[0-9a-f]{64}$/.test(old) ? await keys.findApiKey(old) : undefined;
    if (record && !record.revoked) await keys.putApiKey(old, { ...record, revoked: true });
  }
  writeFileSync(hashFile, `${hash}\n`, { mode: PRIVATE_FILE });
};

/** Sender of the local runtime's emails unless FROM_ADDRESS says otherwise. */
export const LOCAL_FROM_ADDRESS = 'Tidings <tidings@localhost>';

/** The token secret (Secrets Manager in AWS): made on first start, kept, never changed after. */
const localTokenSecret = (dataDir: string): string => {
  const file = join(dataDir, 'token-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = newTokenSecret();
  writeFileSync(file, `${secret}\n`, { mode: PRIVATE_FILE, flag: 'wx' });
  return secret;
};

/** Starts Tidings on one machine: dynalite, change capture, the API's handlers behind a local server. */
export const startRuntime = async (options: RuntimeOptions): Promise<Runtime> => {
  const dataDir = resolve(options.dataDir);
  privateDir(dataDir);
  privateDir(join(dataDir, 'dynamodb'));
  tightenDataFiles(dataDir);
  const dynamo: LocalDynamo = options.dynamodbEndpoint
    ? { endpoint: options.dynamodbEndpoint, close: async () => undefined }
    : await startDynalite(join(dataDir, 'dynamodb'));
  // What has been started so far, stopped again if the start fails half-way.
  const started: (() => unknown)[] = [() => dynamo.close()];
  try {
    return await startOn(dynamo, dataDir, options, started);
  } catch (error) {
    for (const stop of started.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    throw error;
  }
};

const startOn = async (
  dynamo: LocalDynamo,
  dataDir: string,
  options: RuntimeOptions,
  started: (() => unknown)[],
): Promise<Runtime> => {
  const now = options.now ?? (() => new Date().toISOString());
  const log = options.log ?? (() => undefined);
  const db = createDocumentClient({ endpoint: dynamo.endpoint });
  started.push(() => db.destroy());
  const claims = createLowLevelClient({ endpoint: dynamo.endpoint });
  started.push(() => claims.destroy());
  const fresh = await ensureTable(db, LOCAL_TABLE);
  const baseStore = makeEventStore(db, LOCAL_TABLE);

  const port = options.port === 0 ? await freePort() : (options.port ?? 3000);
  const url = `http://localhost:${port}`;
  const loopbackUrl = `http://127.0.0.1:${port}`;
  const topic = new LocalTopic({
    configPath: join(dataDir, 'subscriptions.json'),
    ...(options.webhookLookup ? { lookup: options.webhookLookup } : {}),
    log,
    record: (line) => appendFileSync(join(dataDir, 'topic.log'), `${line}\n`, { mode: PRIVATE_FILE }),
    now,
  });
  // The alert queue's subscription to the topic of changes, with the stack's filter policy.
  const alertQueue = new LocalAlertQueue(() => Date.parse(now()));
  const fanOut: ChangeTopic = {
    async publishBatch(messages) {
      const outcome = await topic.publishBatch(messages);
      const refused = new Set(outcome.failed);
      alertQueue.deliver(
        messages
          .filter((m, i) => !refused.has(i) && matchesFilterPolicy(ALERT_FILTER_POLICY, m.attributes))
          .map((m) => parseAlertMessage(m.body) as ChangeNotice),
      );
      return outcome;
    },
  };
  const handleChanges = processChanges({
    store: baseStore,
    now,
    topic: fanOut,
    siteUrl: url,
    topicLabels: makeTopicLabelStore(db, LOCAL_TABLE),
  });
  const capture = new ChangeCapture({
    journalPath: join(dataDir, 'changes.ndjson'),
    deadLetterPath: join(dataDir, 'dead-letter.ndjson'),
    tableName: LOCAL_TABLE,
    handler: handleChanges,
    log,
  });
  const store = capture.wrap(baseStore);
  const replayed = await capture.recover((id) => baseStore.getEvent(id));
  if (replayed > 0) log(`replaying ${replayed} changes captured before the last stop`);
  capture.start();
  started.push(() => capture.stop());

  const keys = makeApiKeyStore(db, LOCAL_TABLE);
  let apiKey = localApiKey(dataDir, options.apiKey);
  if (!options.apiKey && (await keys.findApiKey(hashApiKey(apiKey)))?.revoked) {
    // The operator revoked the stored key (`tidings keys revoke local`): this start makes a new one.
    apiKey = formatApiKey(randomBytes(32));
    writePrivateFile(join(dataDir, 'api-key'), `${apiKey}\n`);
  }
  await registerLocalKey(keys, dataDir, apiKey, now());

  const outboxDir = join(dataDir, 'outbox');
  const mailer = makeOutboxMailer(outboxDir);
  const tokenSecret = localTokenSecret(dataDir);
  // Read at start, replaced by `tidings links rotate`: every signer and verifier asks for it each time.
  let linkKeys = linkKeysOf(tokenSecret);
  const currentLinkKeys: TokenSecret = () => Promise.resolve(linkKeys);
  const subscriptions = {
    store: makeSubscriptionStore(db, LOCAL_TABLE),
    tokenSecret: currentLinkKeys,
    mailer,
    site: defaultSiteConfig(url),
    from: process.env[ENV.fromAddress] || LOCAL_FROM_ADDRESS,
    now,
    delivery: digestScheduleFromEnv(),
  };
  const signups = {
    ...subscriptions,
    limits: makeSignupLimits(db, LOCAL_TABLE, subscriptions.tokenSecret, {
      ...SIGNUP_POLICY,
      ...options.signupPolicy,
    }),
    metrics: noMetrics,
    confirmationsPerHour: confirmationsPerHourFromEnv(process.env, DEFAULT_CONFIRMATIONS_PER_HOUR),
  };

  const digestQueue = new LocalDigestQueue();
  const digesting: DigestDeps = {
    store: makeDigestStore(db, LOCAL_TABLE, claims),
    queue: digestQueue,
    mailer,
    compose: digestComposer({
      site: subscriptions.site,
      from: subscriptions.from,
      tokenSecret: subscriptions.tokenSecret,
      now: () => Date.parse(now()),
      timeZone: subscriptions.delivery.timeZone,
    }),
    schedule: subscriptions.delivery,
    // The outbox takes mail as fast as it comes; the change capture is drained before each run.
    sendRate: 0,
    now: () => Date.parse(now()),
    tuning: { settleMs: 0 },
  };
  let digestRunning: Promise<unknown> = Promise.resolve();
  const digest = (cadence: DigestCadence, options: { now?: boolean } = {}): Promise<DigestReport> => {
    const run = digestRunning
      .catch(() => undefined)
      .then(async () => {
        await capture.idle();
        await startDigestRun(digesting, cadence, { manual: options.now === true });
        return digestQueue.drain((message) => handleDigestMessage(digesting, message));
      });
    digestRunning = run;
    return run;
  };

  const alerting: AlertDeps = {
    store: makeAlertStore(db, LOCAL_TABLE, claims),
    queue: alertQueue,
    mailer,
    compose: alertComposer({
      site: subscriptions.site,
      from: subscriptions.from,
      tokenSecret: subscriptions.tokenSecret,
      now: () => Date.parse(now()),
    }),
    settings: alertSettingsFromEnv(),
    sendRate: 0,
    now: () => Date.parse(now()),
  };
  // One drain at a time; digests and alerts share the outbox mailer (and so its pace).
  let alertsRunning: Promise<AlertReport | undefined> = Promise.resolve(undefined);
  const alerts = (): Promise<AlertReport> => {
    const run = alertsRunning
      .catch(() => undefined)
      .then(async () => {
        await capture.idle();
        return alertQueue.drain(alerting);
      });
    alertsRunning = run;
    return run;
  };
  const alertInterval = options.alertIntervalMs ?? 1_000;
  const alertTimer =
    alertInterval > 0
      ? setInterval(() => {
          alerts().then(
            (report) => report.sent > 0 && log(`alerts: ${JSON.stringify(report)}`),
            (error: Error) => log(`alerts failed: ${error.message}`),
          );
        }, alertInterval)
      : undefined;
  started.push(() => alertTimer && clearInterval(alertTimer));

  const deps = { store, now };
  const webhooks: WebhookDeps = {
    webhooks: localWebhooks(topic),
    owners: makeWebhookOwnerStore(db, LOCAL_TABLE),
    perKey:
      options.webhooksPerKey ??
      parseWebhooksPerKey(optionalEnv(ENV.webhooksPerKey) ?? String(DEFAULT_WEBHOOKS_PER_KEY)),
    // Local integrators listen on http://localhost; link-local and metadata addresses are refused.
    httpsOnly: false,
    now,
  };
  const handlers: Record<string, LocalApiHandler> = {
    'post-event': postEvent(deps),
    'post-events-batch': postEventsBatch(deps),
    'put-event': putEvent(deps),
    'delete-event': deleteEvent(deps),
    'get-event': getEvent(deps),
    'list-events': listEvents(deps),
    'list-tags': listTags(deps),
    'get-openapi': getOpenApi(),
    'create-webhook': createWebhook(webhooks),
    'list-webhooks': listWebhooks(webhooks),
    'delete-webhook': deleteWebhook(webhooks),
    'create-subscription': createSubscription(signups),
    'confirm-subscription': confirmSubscription(subscriptions),
    unsubscribe: unsubscribe(subscriptions),
    'manage-subscription': manageSubscription(subscriptions),
    'get-subscriber-feed': getSubscriberFeed({ ...subscriptions, changes: makeDigestStore(db, LOCAL_TABLE) }),
  };
  // The WebSub hub: callbacks only on this machine, the same code as in AWS on a local queue.
  const siteDir = join(dataDir, 'site');
  const siteObjects = makeFolderObjectStore(siteDir);
  const hubQueue = new LocalHubQueue(() => Date.parse(now()));
  const externalHubs = parseExternalHubs(
    options.websubHubs ?? optionalEnv(ENV.websubHubs),
    options.websubHubs ? 'websubHubs' : ENV.websubHubs,
    'local',
  );
  // The publisher and the hub's worker know the external hubs: feeds name them, changes ping them.
  const feedSite = { ...defaultSiteConfig(url), ...(externalHubs.length > 0 ? { hubs: externalHubs } : {}) };
  const hubStore = makeWebSubStore(db, LOCAL_TABLE);
  const hubCallbacks = makeCallbackClient('local');
  const hubWorker: HubWorkerDeps = {
    store: hubStore,
    queue: hubQueue,
    callbacks: hubCallbacks,
    objects: siteObjects,
    site: feedSite,
    now,
  };
  let hubDraining: Promise<number> = Promise.resolve(0);
  const drainHub = (): Promise<number> => {
    hubDraining = hubDraining
      .catch(() => 0)
      .then(() =>
        hubQueue.drain(async (message) => {
          const outcome = await handleHubMessage(hubWorker, message);
          if (outcome.kind === 'dropped')
            log(`websub: gave up a delivery after ${outcome.attempts} attempts`);
        }),
      );
    return hubDraining;
  };
  handlers['websub-hub'] = websubHub({
    store: hubStore,
    queue: hubQueue,
    site: defaultSiteConfig(url),
    policy: 'local',
    limits: { ...hubLimitsFromEnv(), ...options.websubLimits },
    callbacks: hubCallbacks,
    feedExists: async (path) => (await siteObjects.get(path)) !== undefined,
    now,
  });
  const routes: LocalRoute[] = API_ROUTES.map((route) => {
    const handler = handlers[route.fn];
    if (!handler) throw new Error(`no local handler for ${route.fn}`);
    return { ...route, handler };
  });
  const publishing: PublishDeps = {
    store: baseStore,
    objects: siteObjects,
    site: feedSite,
  };
  const publishWorkers = options.publishWorkers ?? workersFromEnv() ?? availableParallelism();
  /** The full publish: its slices on worker processes, or here with one worker. */
  const publishFull = async (
    run: PublishDeps,
    feedChanged: (path: string) => void,
  ): Promise<PublishReport> => {
    const progress = options.publishProgress;
    if (publishWorkers <= 1) return publishAll(run, progress ? { progress } : {});
    const { workers, slices, planSeconds, ...report } = await publishWithWorkers(publishing, {
      endpoint: dynamo.endpoint,
      tableName: LOCAL_TABLE,
      siteDir,
      site: feedSite,
      workers: publishWorkers,
      feedChanged,
      ...(options.publishWorkerFlags ? { nodeFlags: options.publishWorkerFlags } : {}),
      ...(progress ? { progress } : {}),
    });
    lastWorkers = { workers, slices, planSeconds };
    return report;
  };
  let lastWorkers: Pick<PoolReport, 'workers' | 'slices' | 'planSeconds'> | undefined;
  // One run at a time; a request while one runs waits for it and then runs again.
  let running: Promise<PublishReport> = Promise.resolve(emptyPublishReport());
  const publish = (full = false, scheduled = false): Promise<PublishReport> => {
    running = running
      .catch(() => undefined)
      .then(async () => {
        const startedAt = performance.now();
        const changed = new Set<string>();
        const run = {
          ...publishing,
          objects: watchFeedWrites(publishing.objects, (path) => changed.add(path)),
        };
        const report = await (full ? publishFull(run, (path) => changed.add(path)) : publishMarked(run));
        await feedsChanged(hubQueue, changed);
        void drainHub().catch((error: Error) => log(`websub: ${error.message}`));
        const seconds = Math.round((performance.now() - startedAt) / 100) / 10;
        // The schedule runs every few seconds: only its runs that found work are worth keeping.
        const idle =
          report.written + report.unchanged + report.removed + report.marksCleared + report.failed === 0;
        if (!scheduled || !idle) {
          const record: LastPublish = { at: now(), full, seconds, ...report };
          writePrivateFile(join(dataDir, LAST_PUBLISH_FILE), `${JSON.stringify(record)}\n`);
        }
        if (full && report.failed === 0) recordRenderedVersion(dataDir);
        return report;
      });
    return running;
  };

  const admin = makeLocalAdmin({
    db,
    tableName: LOCAL_TABLE,
    dataDir,
    keys,
    publish: (full) => publish(full),
    digest,
    handleChanges,
    topic,
    linkKeys: () => linkKeys,
    replaceTokenSecret: (raw) => {
      linkKeys = linkKeysOf(raw);
    },
    now,
  });
  const adminToken = newAdminToken();
  writePrivateFile(join(dataDir, ADMIN_TOKEN_FILE), `${adminToken}\n`);
  const serveAdminOps = serveAdmin(admin, () => adminToken);

  const authorize = authorizeRequest({ keys });
  const serveSite = serveSiteFolder(siteDir);
  const serveMail = serveOutbox(outboxDir);
  const server: Server = createLocalServer({
    routes,
    authorize,
    log,
    notFound: serveNotFoundPage(siteDir),
    fallback: async (req, res) => {
      // Local only: `tidings` administers the data folder through the process that holds it.
      if (await serveAdminOps(req, res)) return true;
      return (await serveMail(req, res)) || serveSite(req, res);
    },
  });

  let samplesLoaded = 0;
  if (fresh && options.loadSamples !== false) {
    const samples = JSON.parse(readFileSync(SAMPLE_EVENTS, 'utf8')) as unknown[];
    for (let i = 0; i < samples.length; i += 100) {
      const results = await postEvents(deps, samples.slice(i, i + 100));
      samplesLoaded += results.filter((r) => r.status === 201).length;
    }
    await capture.idle();
    await publish();
  }
  const interval = options.publishIntervalMs ?? 10_000;
  // A site published before by code that renders differently is published again in full by the
  // schedule's next run; a site never published is rendered by this code from its first run.
  const renderedOther = readRenderedVersion(dataDir) !== RENDER_VERSION;
  let renderChanged = renderedOther && existsSync(join(siteDir, HOME_PAGE));
  if (renderedOther && !renderChanged) recordRenderedVersion(dataDir);
  const timer =
    interval > 0
      ? setInterval(() => {
          // Taken by one run at a time: the ticks while it runs publish what is marked.
          const full = renderChanged;
          renderChanged = false;
          if (full) log('the site was published by code that renders differently: a full publish starts');
          publish(full, true).then(
            (report) => {
              if (full && report.failed > 0) renderChanged = true;
              if (report.written + report.removed > 0) log(`published: ${JSON.stringify(report)}`);
            },
            (error: Error) => {
              if (full) renderChanged = true;
              log(`publish failed: ${error.message}`);
            },
          );
        }, interval)
      : undefined;
  started.push(() => timer && clearInterval(timer));
  // Delayed retries and verifications come due on their own: the queue is looked at every second.
  const hubTimer = setInterval(() => {
    if (hubQueue.size > 0) void drainHub().catch((error: Error) => log(`websub: ${error.message}`));
  }, 1000);
  hubTimer.unref();
  started.push(() => clearInterval(hubTimer));

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });
  const serverFile = join(dataDir, SERVER_FILE);
  const record: ServerRecord = { url: loopbackUrl, port, pid: process.pid, startedAt: now() };
  writePrivateFile(serverFile, `${JSON.stringify(record)}\n`);
  /** Another runtime may have started on this folder since (sharing a store): its record stays. */
  const forgetServer = () => {
    try {
      const current = JSON.parse(readFileSync(serverFile, 'utf8')) as ServerRecord;
      if (current.pid === record.pid && current.port === record.port) rmSync(serverFile);
    } catch {
      // gone already, or unreadable: nothing of ours to remove
    }
  };

  return {
    url,
    loopbackUrl,
    topic,
    apiKey,
    dataDir,
    dynamodbEndpoint: dynamo.endpoint,
    store,
    capture,
    fresh,
    samplesLoaded,
    siteDir,
    mailer,
    outboxDir,
    tokenSecret,
    publish: (full?: boolean) => publish(full),
    fullPublishFigures: () => lastWorkers,
    digest,
    alerts,
    alertQueue,
    admin,
    hub: { queue: hubQueue, deps: hubWorker, drain: drainHub },
    async stop() {
      forgetServer();
      if (timer) clearInterval(timer);
      if (alertTimer) clearInterval(alertTimer);
      await alertsRunning.catch(() => undefined);
      clearInterval(hubTimer);
      await hubDraining.catch(() => undefined);
      await running.catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      // Changes not yet projected stay in the journal and are replayed on the next start.
      await capture.stop();
      db.destroy();
      await dynamo.close();
    },
  };
};
