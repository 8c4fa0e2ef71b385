import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ChangeTopic, PublishOutcome } from '../shared/adapters/sns.js';
import type { Webhook, WebhookRegistry } from '../shared/adapters/webhooks.js';
import type { ChangeMessage } from '../shared/domain/change-message.js';
import {
  type FilterPolicy,
  matchesFilterPolicy,
  validateFilterPolicy,
} from '../shared/domain/filter-policy.js';
import { shownUrl } from '../shared/services/webhooks.js';
import { checkEndpoint, ForbiddenEndpointError, guardedLookup, type Lookup } from './endpoint-guard.js';

/**
 * A webhook's URL as logged: without its query, which may carry the integrator's secret, as
 * listings show it; a URL that does not parse is cut at its `?` or `#`.
 */
const loggedEndpoint = (endpoint: string | undefined): string => {
  if (endpoint === undefined) return '(no endpoint)';
  try {
    return shownUrl(endpoint);
  } catch {
    return endpoint.replace(/[?#].*$/s, '');
  }
};

export const LOCAL_TOPIC_ARN = 'arn:aws:sns:local:000000000000:tidings-changes';

export interface LocalSubscription {
  id: string;
  protocol: 'http' | 'https' | 'log';
  /** The webhook URL; absent for `log`. */
  endpoint?: string;
  filterPolicy?: FilterPolicy;
  /** Declared in the config file, or registered through POST /api/webhooks. */
  source: 'config' | 'api';
  createdAt: string;
}

export interface Delivery {
  subscriptionId: string;
  messageId: string;
  key: string;
  status: 'delivered' | 'failed';
  attempts: number;
}

export interface LocalTopicOptions {
  /** JSON file `{"subscriptions": [{"protocol", "endpoint", "filterPolicy"}]}`, re-read on start, updated by the API. */
  configPath: string;
  /** Warnings about the config file and deliveries that gave up. */
  log: (line: string) => void;
  /** Where `log` subscriptions write: one SNS envelope (JSON) per line. */
  record: (line: string) => void;
  /** Delivery attempts per webhook message, with exponential backoff (SNS retries too). */
  maxAttempts?: number;
  baseDelayMs?: number;
  now?: () => string;
  /** Resolves webhook host names (dns.lookup); tests stand in their own. */
  lookup?: Lookup;
}

interface ConfigFile {
  subscriptions?: Partial<LocalSubscription>[];
}

/** The SNS notification envelope an HTTP(S) subscriber receives. */
export const snsEnvelope = (
  message: ChangeMessage,
  messageId: string,
  subscriptionId: string,
  timestamp: string,
) => ({
  Type: 'Notification',
  MessageId: messageId,
  TopicArn: LOCAL_TOPIC_ARN,
  Message: message.body,
  Timestamp: timestamp,
  SignatureVersion: '1',
  // Local deliveries are not signed; in AWS, verify Signature against SigningCertURL.
  Signature: '',
  SigningCertURL: '',
  UnsubscribeURL: `local:unsubscribe:${subscriptionId}`,
  MessageAttributes: Object.fromEntries(
    Object.entries(message.attributes).map(([name, a]) => [name, { Type: a.DataType, Value: a.StringValue }]),
  ),
});

/**
 * SNS stand-in for the local runtime: filter policies with SNS semantics, HTTP(S) webhooks with
 * the SNS envelope and headers, retried with backoff, and a log subscriber.
 */
export class LocalTopic implements ChangeTopic {
  private subscriptions: LocalSubscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** The most recent deliveries (bounded), for tests and the benchmark. */
  readonly deliveries: Delivery[] = [];

  constructor(private readonly options: LocalTopicOptions) {
    this.load();
  }

  private now(): string {
    return this.options.now?.() ?? new Date().toISOString();
  }

  /** Reads the config file; invalid entries are reported and skipped. */
  load(): void {
    const { configPath } = this.options;
    if (!existsSync(configPath)) {
      this.subscriptions = [];
      return;
    }
    let file: ConfigFile;
    try {
      file = JSON.parse(readFileSync(configPath, 'utf8')) as ConfigFile;
    } catch (error) {
      this.options.log(`${configPath}: not valid JSON (${(error as Error).message}); no subscribers loaded`);
      file = {};
    }
    this.subscriptions = [];
    if (file.subscriptions !== undefined && !Array.isArray(file.subscriptions)) {
      this.options.log(`${configPath}: subscriptions must be an array; no subscribers loaded`);
      return;
    }
    for (const [index, entry] of (file.subscriptions ?? []).entries()) {
      if (typeof entry !== 'object' || entry === null) {
        this.options.log(`${configPath}: subscriptions[${index}] must be an object; skipped`);
        continue;
      }
      const protocol = entry.protocol;
      if (protocol !== 'http' && protocol !== 'https' && protocol !== 'log') {
        this.options.log(
          `${configPath}: subscriptions[${index}].protocol must be http, https or log; skipped`,
        );
        continue;
      }
      if (protocol !== 'log' && !entry.endpoint) {
        this.options.log(
          `${configPath}: subscriptions[${index}].endpoint is required for ${protocol}; skipped`,
        );
        continue;
      }
      let filterPolicy: FilterPolicy | undefined;
      if (entry.filterPolicy !== undefined) {
        const checked = validateFilterPolicy(entry.filterPolicy);
        if (!checked.ok) {
          this.options.log(
            `${configPath}: subscriptions[${index}].filterPolicy: ${checked.issues.map((i) => `${i.path}: ${i.rule}`).join('; ')}; skipped`,
          );
          continue;
        }
        filterPolicy = checked.policy;
      }
      this.subscriptions.push({
        id: entry.id ?? randomUUID(),
        protocol,
        ...(entry.endpoint ? { endpoint: entry.endpoint } : {}),
        ...(filterPolicy ? { filterPolicy } : {}),
        source: entry.source === 'api' ? 'api' : 'config',
        createdAt: entry.createdAt ?? this.now(),
      });
    }
  }

  private save(): void {
    const { configPath } = this.options;
    // Owner-only: webhook URLs often carry a secret in their query string.
    const text = `${JSON.stringify({ subscriptions: this.subscriptions }, null, 2)}\n`;
    writeFileSync(`${configPath}.tmp`, text, { mode: 0o600 });
    renameSync(`${configPath}.tmp`, configPath);
  }

  /** Throws `ForbiddenEndpointError` when the URL leads to a link-local or metadata address. */
  checkEndpoint(url: URL): Promise<void> {
    return checkEndpoint(url, this.options.lookup);
  }

  list(): LocalSubscription[] {
    return [...this.subscriptions];
  }

  subscribe(protocol: 'http' | 'https', endpoint: string, filterPolicy?: FilterPolicy): LocalSubscription {
    const subscription: LocalSubscription = {
      id: randomUUID(),
      protocol,
      endpoint,
      ...(filterPolicy ? { filterPolicy } : {}),
      source: 'api',
      createdAt: this.now(),
    };
    this.subscriptions.push(subscription);
    this.save();
    return subscription;
  }

  unsubscribe(id: string): boolean {
    const before = this.subscriptions.length;
    this.subscriptions = this.subscriptions.filter((s) => s.id !== id);
    if (this.subscriptions.length === before) return false;
    this.save();
    return true;
  }

  async publishBatch(messages: readonly ChangeMessage[]): Promise<PublishOutcome> {
    for (const message of messages) {
      const messageId = randomUUID();
      for (const subscription of this.subscriptions) {
        if (subscription.filterPolicy && !matchesFilterPolicy(subscription.filterPolicy, message.attributes))
          continue;
        const delivery = this.deliver(subscription, message, messageId).finally(() =>
          this.inFlight.delete(delivery),
        );
        this.inFlight.add(delivery);
      }
    }
    return { failed: [] };
  }

  private remember(delivery: Delivery): void {
    this.deliveries.push(delivery);
    if (this.deliveries.length > 10_000) this.deliveries.splice(0, this.deliveries.length - 10_000);
  }

  /** Resolves when every delivery started so far has succeeded or given up. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async deliver(
    subscription: LocalSubscription,
    message: ChangeMessage,
    messageId: string,
  ): Promise<void> {
    const timestamp = this.now();
    const envelope = snsEnvelope(message, messageId, subscription.id, timestamp);
    if (subscription.protocol === 'log') {
      this.options.record(JSON.stringify(envelope));
      this.remember({
        subscriptionId: subscription.id,
        messageId,
        key: message.key,
        status: 'delivered',
        attempts: 1,
      });
      return;
    }
    const { maxAttempts = 5, baseDelayMs = 200 } = this.options;
    const failed = (attempts: number) =>
      this.remember({
        subscriptionId: subscription.id,
        messageId,
        key: message.key,
        status: 'failed',
        attempts,
      });
    for (let attempt = 1; ; attempt++) {
      try {
        const status = await this.post(
          subscription.endpoint ?? '',
          {
            'content-type': 'text/plain; charset=UTF-8',
            'x-amz-sns-message-type': 'Notification',
            'x-amz-sns-message-id': messageId,
            'x-amz-sns-topic-arn': LOCAL_TOPIC_ARN,
            'x-amz-sns-subscription-arn': `${LOCAL_TOPIC_ARN}:${subscription.id}`,
          },
          JSON.stringify(envelope),
        );
        // A redirect is not followed (it could lead anywhere, the addresses refused below included):
        // like any other answer outside 2xx, it is a failed attempt.
        if (status >= 200 && status < 300) {
          this.remember({
            subscriptionId: subscription.id,
            messageId,
            key: message.key,
            status: 'delivered',
            attempts: attempt,
          });
          return;
        }
      } catch (error) {
        if (error instanceof ForbiddenEndpointError) {
          // Where the endpoint leads will not change by retrying: given up at once.
          this.options.log(`webhook ${loggedEndpoint(subscription.endpoint)} refused: ${error.message}`);
          return failed(attempt);
        }
        // Connection refused, reset or timed out: retried like a 5xx.
      }
      if (attempt >= maxAttempts) {
        this.options.log(
          `webhook ${loggedEndpoint(subscription.endpoint)} gave up on ${message.key} after ${attempt} attempts`,
        );
        return failed(attempt);
      }
      await new Promise((r) => setTimeout(r, baseDelayMs * 2 ** (attempt - 1)));
    }
  }

  /**
   * One POST to a webhook, answering its status. `http.request` follows no redirect, and its
   * `lookup` refuses link-local and metadata addresses as the connection is made.
   */
  private async post(endpoint: string, headers: Record<string, string>, body: string): Promise<number> {
    const url = new URL(endpoint);
    await this.checkEndpoint(url);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          lookup: guardedLookup(this.options.lookup),
          signal: AbortSignal.timeout(15_000),
        },
        (res) => {
          res.on('error', reject);
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.resume();
        },
      );
      req.on('error', (error) => reject(error.cause instanceof ForbiddenEndpointError ? error.cause : error));
      req.end(body);
    });
  }
}

/** POST /api/webhooks locally: subscriptions of the local topic, kept in its config file, confirmed at once. */
export const localWebhooks = (topic: LocalTopic): WebhookRegistry => {
  const toWebhook = (s: LocalSubscription): Webhook => ({
    id: s.id,
    url: s.endpoint ?? '',
    ...(s.filterPolicy ? { filterPolicy: s.filterPolicy as Record<string, unknown> } : {}),
    status: 'confirmed',
  });
  // Only webhooks: a `log` subscriber from the config file is not the API's.
  const webhooks = () => topic.list().filter((s) => s.protocol !== 'log');
  return {
    async add(url, filterPolicy) {
      const checked = filterPolicy ? validateFilterPolicy(filterPolicy) : undefined;
      if (checked && !checked.ok) throw new Error(`invalid filter policy: ${JSON.stringify(checked.issues)}`);
      await topic.checkEndpoint(new URL(url));
      const sub = topic.subscribe(
        new URL(url).protocol === 'https:' ? 'https' : 'http',
        url,
        checked?.policy,
      );
      return { id: sub.id, url, ...(filterPolicy ? { filterPolicy } : {}), status: 'confirmed' };
    },
    async list() {
      return webhooks().map(toWebhook);
    },
    async get(id) {
      const found = webhooks().find((s) => s.id === id);
      return found && toWebhook(found);
    },
    async remove(id) {
      if (!webhooks().some((s) => s.id === id)) return false;
      return topic.unsubscribe(id);
    },
  };
};
