import { describe, expect, it } from 'vitest';
import {
  CONFIRMATION_RESEND_SECONDS,
  isLapsed,
  planConfirm,
  planLeave,
  planLeaveAll,
  planManage,
  planRequest,
  planSignOut,
  receivesDigests,
  type SubscriberRecord,
} from '../../../shared/domain/subscriber-changes.js';
import { MAX_TAGS, MAX_TOPICS, type TagRef, type TopicRef } from '../../../shared/domain/subscription.js';
import type { TokenClaims } from '../../../shared/domain/tokens.js';

const T0 = '2026-03-01T10:00:00.000Z';
const at = (seconds: number): string => new Date(Date.parse(T0) + seconds * 1000).toISOString();
const epoch = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

const syria: TagRef = { slug: 'syria', name: 'Syria' };
const russia: TagRef = { slug: 'russia', name: 'Russia' };
const iran: TagRef = { slug: 'iran', name: 'Iran' };
const politics: TopicRef = { slug: 'politics-and-elections', name: 'Politics and elections' };
const conflicts: TopicRef = { slug: 'armed-conflicts-and-attacks', name: 'Armed conflicts and attacks' };
/** A request of tags alone. */
const tagsOnly = (...tags: TagRef[]) => ({ tags, topics: [] });

const request = {
  id: 'a'.repeat(32),
  email: 'reader@example.org',
  tags: [syria],
  topics: [] as TopicRef[],
  cadence: 'daily' as const,
  nonce: 'first-nonce',
};

const confirmed = (overrides: Partial<SubscriberRecord> = {}): SubscriberRecord => ({
  ...request,
  tags: [syria, russia],
  status: 'confirmed',
  createdAt: T0,
  confirmedAt: at(60),
  cursor: at(60),
  tokenVersion: 0,
  changedAt: at(60),
  revision: 2,
  ...overrides,
});

const confirmClaims = (
  iat: number,
  topics = ['iran'],
  cadence: 'daily' | 'weekly' = 'weekly',
): TokenClaims => ({
  sub: request.id,
  purpose: 'confirm',
  v: 0,
  exp: iat + 48 * 3600,
  topics,
  cadence,
  iat,
});

describe('planRequest', () => {
  it('creates a pending subscriber that lapses with its confirmation link', () => {
    const plan = planRequest(undefined, request, false, T0);
    expect(plan).toEqual({
      kind: 'create',
      next: {
        ...request,
        status: 'pending',
        createdAt: T0,
        tokenVersion: 0,
        changedAt: T0,
        expiresAt: epoch(T0) + 48 * 3600,
        confirmationSentAt: T0,
        revision: 1,
      },
    });
  });

  it('sends nothing to a suppressed address, whatever is stored', () => {
    expect(planRequest(undefined, request, true, T0)).toEqual({ kind: 'none' });
    expect(planRequest(confirmed(), request, true, T0)).toEqual({ kind: 'none' });
  });

  it('replaces a lapsed record with a new generation of links', () => {
    const lapsed = planRequest(undefined, request, false, T0);
    if (lapsed.kind !== 'create') throw new Error('expected create');
    const later = at(48 * 3600);
    const plan = planRequest(
      { ...lapsed.next, tokenVersion: 4, revision: 7 },
      { ...request, nonce: 'second-nonce' },
      false,
      later,
    );
    expect(plan.kind).toBe('create');
    if (plan.kind !== 'create') return;
    expect(plan.replacing?.revision).toBe(7);
    expect(plan.next).toMatchObject({
      status: 'pending',
      tokenVersion: 5,
      revision: 8,
      createdAt: later,
      nonce: 'second-nonce',
    });
  });

  it('sends one confirmation per address per resend interval', () => {
    const first = planRequest(undefined, request, false, T0);
    if (first.kind !== 'create') throw new Error('expected create');
    expect(planRequest(first.next, request, false, at(CONFIRMATION_RESEND_SECONDS - 1))).toEqual({
      kind: 'none',
    });
    const again = planRequest(
      first.next,
      { ...request, tags: [russia], topics: [politics], cadence: 'weekly' },
      false,
      at(CONFIRMATION_RESEND_SECONDS),
    );
    expect(again.kind).toBe('update');
    if (again.kind !== 'update') return;
    // Still pending: the stored request follows the newest one, and so does the expiry.
    expect(again.next).toMatchObject({
      tags: [russia],
      topics: [politics],
      cadence: 'weekly',
      confirmationSentAt: at(CONFIRMATION_RESEND_SECONDS),
      expiresAt: epoch(at(CONFIRMATION_RESEND_SECONDS)) + 48 * 3600,
    });
  });

  it('leaves a confirmed subscription as it is until the new link is opened', () => {
    const stored = confirmed();
    const plan = planRequest(stored, { ...request, tags: [iran], cadence: 'weekly' }, false, at(3600));
    expect(plan).toEqual({
      kind: 'update',
      next: { ...stored, confirmationSentAt: at(3600) },
      previous: stored,
    });
  });
});

describe('planConfirm', () => {
  it('confirms a pending subscriber with the requested tags and labels and starts the digest cursor there', () => {
    const first = planRequest(undefined, request, false, T0);
    if (first.kind !== 'create') throw new Error('expected create');
    const plan = planConfirm(
      first.next,
      confirmClaims(epoch(T0), ['syria'], 'daily'),
      { tags: [syria], topics: [politics] },
      at(300),
    );
    expect(plan.kind).toBe('update');
    if (plan.kind !== 'update') return;
    expect(plan.next).toMatchObject({
      status: 'confirmed',
      confirmedAt: at(300),
      cursor: at(300),
      tags: [syria],
      topics: [politics],
    });
    expect(plan.next.expiresAt).toBeUndefined();
    expect(receivesDigests(plan.next)).toBe(true);
  });

  it('adds the requested tags and labels to a confirmed subscriber and takes the requested cadence', () => {
    const stored = confirmed({ topics: [politics] });
    const plan = planConfirm(
      stored,
      confirmClaims(epoch(at(3600))),
      { tags: [iran, syria], topics: [conflicts, politics] },
      at(3700),
    );
    expect(plan).toEqual({
      kind: 'update',
      next: {
        ...stored,
        tags: [syria, russia, iran],
        topics: [politics, conflicts],
        cadence: 'weekly',
        changedAt: at(3700),
      },
    });
  });

  it('never moves an existing cursor back, and dates a re-confirmation after leaving', () => {
    const left = confirmed({
      status: 'unsubscribed',
      cursor: at(9000),
      tokenVersion: 1,
      unsubscribedAt: at(9000),
    });
    const plan = planConfirm(
      left,
      { ...confirmClaims(epoch(at(10_000)), ['iran']), v: 1 },
      tagsOnly(iran),
      at(10_100),
    );
    expect(plan.kind).toBe('update');
    if (plan.kind !== 'update') return;
    expect(plan.next).toMatchObject({
      status: 'confirmed',
      tags: [iran],
      cursor: at(9000),
      confirmedAt: at(10_100),
    });
    expect(plan.next.unsubscribedAt).toBeUndefined();
  });

  it('changes nothing when opened again, or after a later change on the manage page', () => {
    const stored = confirmed();
    const claims = confirmClaims(epoch(at(3600)));
    const first = planConfirm(stored, claims, tagsOnly(iran), at(3700));
    if (first.kind !== 'update') throw new Error('expected update');
    expect(planConfirm(first.next, claims, tagsOnly(iran), at(3800))).toEqual({ kind: 'unchanged' });
    const managed = planManage(first.next, tagsOnly(syria), 'daily', at(3900));
    if (managed.kind !== 'update') throw new Error('expected update');
    expect(planConfirm(managed.next, claims, tagsOnly(iran), at(4000))).toEqual({ kind: 'unchanged' });
  });

  it('keeps at most MAX_TAGS tags and MAX_TOPICS labels', () => {
    const many = Array.from({ length: MAX_TAGS }, (_, i) => ({ slug: `t${i}`, name: `T${i}` }));
    const labels = Array.from({ length: MAX_TOPICS }, (_, i) => ({ slug: `l${i}`, name: `L${i}` }));
    const plan = planConfirm(
      confirmed({ tags: many, topics: labels }),
      confirmClaims(epoch(at(3600))),
      { tags: [iran], topics: [politics] },
      at(3700),
    );
    expect(plan.kind === 'update' ? plan.next.tags : []).toHaveLength(MAX_TAGS);
    expect(plan.kind === 'update' ? plan.next.topics : []).toHaveLength(MAX_TOPICS);
  });
});

describe('delivery preferences', () => {
  const berlin = { timeZone: 'Europe/Berlin', deliveryHour: 6, deliveryWeekday: 0 };

  it('takes the requested time on a new or pending record, and keeps a confirmed one until its link is opened', () => {
    const created = planRequest(undefined, { ...request, preferences: berlin }, false, T0);
    expect(created.kind === 'create' && created.next).toMatchObject(berlin);
    const waiting = planRequest(
      confirmed({ confirmationSentAt: T0 }),
      { ...request, preferences: berlin },
      false,
      at(CONFIRMATION_RESEND_SECONDS + 1),
    );
    expect(waiting.kind === 'update' && waiting.next.timeZone).toBeUndefined();
  });

  it('applies the time a confirmation link carries, and a link without one keeps the stored time', () => {
    const stored = confirmed({ ...berlin, quietHours: { from: 22, to: 6 } });
    const claims = { ...confirmClaims(epoch(at(3600))), pref: { tz: 'Asia/Tokyo', h: 8, wd: 1 } };
    const plan = planConfirm(stored, claims, tagsOnly(iran), at(3700));
    expect(plan.kind === 'update' && plan.next).toMatchObject({
      timeZone: 'Asia/Tokyo',
      deliveryHour: 8,
      deliveryWeekday: 1,
    });
    // The request chose no quiet hours: the link's request replaces them all.
    expect(plan.kind === 'update' && plan.next.quietHours).toBeUndefined();
    const kept = planConfirm(stored, confirmClaims(epoch(at(3600))), tagsOnly(iran), at(3700));
    expect(kept.kind === 'update' && kept.next).toMatchObject({ ...berlin, quietHours: { from: 22, to: 6 } });
  });

  it('counts a change of time alone as a change on the manage page, and the same time as none', () => {
    const stored = confirmed(berlin);
    expect(planManage(stored, stored, 'daily', at(3600), berlin)).toEqual({ kind: 'unchanged' });
    const moved = planManage(stored, stored, 'daily', at(3600), { ...berlin, deliveryHour: 9 });
    expect(moved.kind === 'update' && moved.next.deliveryHour).toBe(9);
    const quiet = planManage(stored, stored, 'instant', at(3600), {
      ...berlin,
      quietHours: { from: 23, to: 7 },
    });
    expect(quiet.kind === 'update' && quiet.next).toMatchObject({
      cadence: 'instant',
      quietHours: { from: 23, to: 7 },
    });
  });
});

describe('leaving', () => {
  it('leaves one tag, then the last one (no more digests, links still valid)', () => {
    const one = planLeave(confirmed(), { kind: 'tag', slug: 'syria' }, at(100));
    if (one.kind !== 'update') throw new Error('expected update');
    expect(one.next.tags).toEqual([russia]);
    expect(receivesDigests(one.next)).toBe(true);
    const none = planLeave(one.next, { kind: 'tag', slug: 'russia' }, at(200));
    if (none.kind !== 'update') throw new Error('expected update');
    expect(none.next).toMatchObject({ status: 'confirmed', tags: [], tokenVersion: 0 });
    expect(receivesDigests(none.next)).toBe(false);
    expect(planLeave(none.next, { kind: 'tag', slug: 'russia' }, at(300))).toEqual({ kind: 'unchanged' });
  });

  it('leaves one topic label, keeping the tag of the same slug; a subscriber with labels only gets digests', () => {
    const stored = confirmed({ tags: [{ slug: politics.slug, name: 'Politics tag' }], topics: [politics] });
    const plan = planLeave(stored, { kind: 'topic', slug: politics.slug }, at(100));
    if (plan.kind !== 'update') throw new Error('expected update');
    expect(plan.next).toMatchObject({ tags: stored.tags, topics: [] });
    expect(receivesDigests(confirmed({ tags: [], topics: [conflicts] }))).toBe(true);
  });

  it('leaves everything once: the status changes and every earlier link is voided', () => {
    const plan = planLeaveAll(confirmed(), at(100));
    if (plan.kind !== 'update') throw new Error('expected update');
    expect(plan.next).toMatchObject({ status: 'unsubscribed', tokenVersion: 1, unsubscribedAt: at(100) });
    expect(receivesDigests(plan.next)).toBe(false);
    expect(planLeaveAll(plan.next, at(200))).toEqual({ kind: 'unchanged' });
  });

  it('signs out every link: the link generation moves on, the unsubscribe version and follows stay', () => {
    const once = planSignOut(confirmed());
    if (once.kind !== 'update') throw new Error('expected update');
    expect(once.next).toMatchObject({ linkGeneration: 1, tokenVersion: 0, status: 'confirmed' });
    const twice = planSignOut(once.next);
    expect(twice.kind === 'update' && twice.next.linkGeneration).toBe(2);
  });
});

describe('receivesDigests and isLapsed', () => {
  it('are false for suppressed subscribers and true for lapsed pending ones at their expiry', () => {
    expect(receivesDigests(confirmed({ suppressedAt: at(10) }))).toBe(false);
    expect(receivesDigests(confirmed({ status: 'pending' }))).toBe(false);
    const pending = confirmed({ status: 'pending', expiresAt: epoch(at(100)) });
    expect(isLapsed(pending, epoch(at(99)))).toBe(false);
    expect(isLapsed(pending, epoch(at(100)))).toBe(true);
    expect(isLapsed(confirmed(), epoch(at(1e9)))).toBe(false);
  });
});
