import { describe, expect, it } from 'vitest';
import type { WebhookOwner, WebhookOwnerStore } from '../../../shared/adapters/webhook-owners.js';
import type { Webhook, WebhookRegistry } from '../../../shared/adapters/webhooks.js';
import { ConflictError } from '../../../shared/errors.js';
import { addWebhook, type WebhookDeps } from '../../../shared/services/webhooks.js';

const caller = { keyName: 'racer', keyId: 'k1' };

/**
 * An owner store whose listings after the racers' first look wait until every racer's record is in: the interleaving in
 * which each create finds the key over its cap, however unlikely on one machine.
 */
const racingStore = (racers: number) => {
  const owners = new Map<string, WebhookOwner>();
  let puts = 0;
  let lists = 0;
  let release: () => void = () => undefined;
  const everyoneIn = new Promise<void>((resolve) => {
    release = resolve;
  });
  const store: WebhookOwnerStore = {
    async putOwner(owner) {
      owners.set(owner.id, owner);
      if (++puts === racers) release();
    },
    async isOwner(_keyId, id) {
      return owners.has(id);
    },
    async listOwned() {
      // The racers' first look (before their records) finds room; every later one waits for all.
      if (++lists > racers) await everyoneIn;
      return [...owners.values()];
    },
    async removeOwner(_keyId, id) {
      owners.delete(id);
    },
  };
  return { store, owners };
};

const registry = (): WebhookRegistry => {
  const hooks = new Map<string, Webhook>();
  let n = 0;
  return {
    async add(url) {
      const hook = { id: `hook-${++n}`, url } as Webhook;
      hooks.set(hook.id, hook);
      return hook;
    },
    async list() {
      return [...hooks.values()];
    },
    async get(id) {
      return hooks.get(id);
    },
    async remove(id) {
      return hooks.delete(id);
    },
  };
};

describe('the per-key cap under racing creates', () => {
  it('still creates some when every racer first finds the key over its cap, and never more than the cap', async () => {
    const racers = 12;
    const { store, owners } = racingStore(racers);
    const deps: WebhookDeps = {
      webhooks: registry(),
      owners: store,
      perKey: 3,
      httpsOnly: true,
      now: () => '2026-12-06T00:00:00.000Z',
      sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms / 10)),
    };
    const answers = await Promise.allSettled(
      Array.from({ length: racers }, (_, i) =>
        addWebhook(deps, caller, { url: `https://hooks.example.org/race/${i}` }),
      ),
    );
    const created = answers.filter((a) => a.status === 'fulfilled').length;
    for (const a of answers) if (a.status === 'rejected') expect(a.reason).toBeInstanceOf(ConflictError);
    expect(created).toBeGreaterThanOrEqual(1);
    expect(created).toBeLessThanOrEqual(3);
    expect(owners.size).toBe(created);
  });
});
