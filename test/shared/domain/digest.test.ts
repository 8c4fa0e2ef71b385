import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildDigest,
  cadenceMs,
  DIGEST_EVENT_LIMIT,
  type DigestChange,
  digestWindow,
  indexChanges,
  latestBoundary,
} from '../../../shared/domain/digest.js';
import { topicSlug } from '../../../shared/domain/slug.js';
import type { Subscriber, TagRef } from '../../../shared/domain/subscription.js';
import { makeNewsEvent } from '../../helpers/builders.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const schedule = { hour: 7, weekday: 1 }; // Mondays, 07:00 UTC

describe('latestBoundary', () => {
  it('is today at the hour once the hour has come, else yesterday', () => {
    expect(iso(latestBoundary('daily', schedule, at('2026-11-28T07:00:00.000Z')))).toBe(
      '2026-11-28T07:00:00.000Z',
    );
    expect(iso(latestBoundary('daily', schedule, at('2026-11-28T23:59:59.999Z')))).toBe(
      '2026-11-28T07:00:00.000Z',
    );
    expect(iso(latestBoundary('daily', schedule, at('2026-11-28T06:59:59.999Z')))).toBe(
      '2026-11-27T07:00:00.000Z',
    );
  });

  it('crosses month and year ends', () => {
    expect(iso(latestBoundary('daily', schedule, at('2027-01-01T03:00:00.000Z')))).toBe(
      '2026-12-31T07:00:00.000Z',
    );
    expect(iso(latestBoundary('daily', { hour: 0, weekday: 0 }, at('2028-03-01T00:00:00.000Z')))).toBe(
      '2028-03-01T00:00:00.000Z',
    );
  });

  it('is the last configured weekday at the hour for weekly digests', () => {
    // 2026-11-28 is a Saturday; the Monday before is the 23rd.
    expect(iso(latestBoundary('weekly', schedule, at('2026-11-28T12:00:00.000Z')))).toBe(
      '2026-11-23T07:00:00.000Z',
    );
    expect(iso(latestBoundary('weekly', schedule, at('2026-11-30T07:00:00.000Z')))).toBe(
      '2026-11-30T07:00:00.000Z',
    );
    expect(iso(latestBoundary('weekly', schedule, at('2026-11-30T06:59:00.000Z')))).toBe(
      '2026-11-23T07:00:00.000Z',
    );
    expect(iso(latestBoundary('weekly', { hour: 7, weekday: 6 }, at('2026-11-28T08:00:00.000Z')))).toBe(
      '2026-11-28T07:00:00.000Z',
    );
  });

  it('is never after now, on the configured hour and weekday, and less than one cadence ago', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: at('2000-01-01T00:00:00Z'), max: at('2100-01-01T00:00:00Z') }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom('daily' as const, 'weekly' as const),
        (now, hour, weekday, cadence) => {
          const boundary = latestBoundary(cadence, { hour, weekday }, now);
          const date = new Date(boundary);
          expect(boundary).toBeLessThanOrEqual(now);
          expect(now - boundary).toBeLessThan(cadenceMs(cadence));
          expect(date.getUTCHours()).toBe(hour);
          expect(date.getUTCMinutes() + date.getUTCSeconds() + date.getUTCMilliseconds()).toBe(0);
          if (cadence === 'weekly') expect(date.getUTCDay()).toBe(weekday);
        },
      ),
    );
  });
});

describe('digestWindow', () => {
  const end = '2026-11-28T07:00:00.000Z';

  it('starts at the cursor: the end of the last digest', () => {
    const window = digestWindow(
      { confirmedAt: '2026-10-01T00:00:00.000Z', cursor: '2026-11-27T07:00:00.000Z' },
      'daily',
      end,
    );
    expect(window).toEqual({ start: '2026-11-27T07:00:00.000Z', end });
  });

  it('covers everything since the last digest, even after missed runs', () => {
    const window = digestWindow(
      { confirmedAt: '2026-10-01T00:00:00.000Z', cursor: '2026-11-20T07:00:00.000Z' },
      'daily',
      end,
    );
    expect(window?.start).toBe('2026-11-20T07:00:00.000Z');
  });

  it('gives a first digest since confirming when that is within one window', () => {
    const confirmedAt = '2026-11-27T20:15:00.000Z';
    expect(digestWindow({ confirmedAt, cursor: confirmedAt }, 'daily', end)).toEqual({
      start: confirmedAt,
      end,
    });
  });

  it('never gives a first digest the backlog: one cadence window at most', () => {
    const confirmedAt = '2026-09-01T00:00:00.000Z';
    expect(digestWindow({ confirmedAt, cursor: confirmedAt }, 'daily', end)?.start).toBe(
      '2026-11-27T07:00:00.000Z',
    );
    expect(digestWindow({ confirmedAt, cursor: confirmedAt }, 'weekly', end)?.start).toBe(
      '2026-11-21T07:00:00.000Z',
    );
    expect(digestWindow({ confirmedAt }, 'weekly', end)?.start).toBe('2026-11-21T07:00:00.000Z');
  });

  it('is undefined when nothing is due or the subscriber never confirmed', () => {
    expect(
      digestWindow({ confirmedAt: '2026-10-01T00:00:00.000Z', cursor: end }, 'daily', end),
    ).toBeUndefined();
    expect(
      digestWindow(
        { confirmedAt: '2026-10-01T00:00:00.000Z', cursor: '2026-11-28T08:00:00.000Z' },
        'daily',
        end,
      ),
    ).toBeUndefined();
    expect(digestWindow({}, 'daily', end)).toBeUndefined();
  });
});

const event = makeNewsEvent;

/** A subscriber of these tags (by name) and these topic labels (by name). */
const subscriber = (tags: string[], labels: string[] = []): Subscriber => ({
  id: 'sub-1',
  email: 'reader@example.org',
  tags: tags.map((name) => ({ name, slug: name.toLowerCase() })),
  topics: labels.map((name) => ({ name, slug: topicSlug(name) })),
  cadence: 'daily',
  status: 'confirmed',
  createdAt: '2026-10-01T00:00:00.000Z',
  confirmedAt: '2026-10-01T00:00:00.000Z',
  cursor: '2026-11-27T07:00:00.000Z',
  tokenVersion: 0,
});

const window = { start: '2026-11-27T07:00:00.000Z', end: '2026-11-28T07:00:00.000Z' };

/** Changes indexed by tag and label, as a digest run indexes the window it read. */
const changesBy = (changes: DigestChange[]) => indexChanges(changes);

/** A section's key in the tests: `tag:russia`, `topic:politics`. */
const keyOf = (s: { kind: string; ref: TagRef }) => `${s.kind}:${s.ref.slug}`;

/**
 * The digest as specified, computed the plain way (every change of every tag and label gathered,
 * all sorted): the indexed build must give the same digest.
 */
const plainDigest = (
  sub: Subscriber,
  window: { start: string; end: string },
  changes: DigestChange[],
  limit = DIGEST_EVENT_LIMIT,
) => {
  const follows = [
    ...sub.tags.map((ref) => ({ kind: 'tag', ref })),
    ...sub.topics.map((ref) => ({ kind: 'topic', ref })),
  ];
  const carries = (change: DigestChange, follow: (typeof follows)[number]) =>
    follow.kind === 'tag'
      ? change.event.tags.some((t) => t.slug === follow.ref.slug)
      : change.event.topic !== undefined && topicSlug(change.event.topic) === follow.ref.slug;
  const found = new Map<string, { change: DigestChange; follows: typeof follows }>();
  for (const follow of follows) {
    for (const change of changes) {
      if (!carries(change, follow)) continue;
      if (change.changedAt <= window.start || change.changedAt > window.end) continue;
      const seen = found.get(change.event.id);
      if (!seen) found.set(change.event.id, { change, follows: [follow] });
      else seen.follows.push(follow);
    }
  }
  const newestFirst = [...found.values()].sort(
    (a, b) =>
      b.change.changedAt.localeCompare(a.change.changedAt) ||
      a.change.event.id.localeCompare(b.change.event.id),
  );
  const sections = follows.map((follow) => ({
    key: keyOf(follow),
    items: [] as { id: string; matched: string[] }[],
    omitted: 0,
  }));
  newestFirst.forEach(({ change, follows: matched }, rank) => {
    const byKey = (key: string) => sections.find((s) => s.key === key) as (typeof sections)[0];
    if (rank >= limit) {
      for (const follow of matched) byKey(keyOf(follow)).omitted++;
      return;
    }
    byKey(keyOf(matched[0] as (typeof follows)[number])).items.push({
      id: change.event.id,
      matched: matched.map(keyOf),
    });
  });
  return {
    total: newestFirst.length,
    sections: sections.filter((s) => s.items.length > 0 || s.omitted > 0),
  };
};

describe('buildDigest', () => {
  it('shows an event once, under its first tag, with every tag it matches', () => {
    const shared = event(1, ['Russia', 'Syria', 'Weather']);
    const changes = [
      { event: shared, changedAt: '2026-11-27T10:00:00.000Z' },
      { event: event(2, ['Syria']), changedAt: '2026-11-27T11:00:00.000Z' },
    ];
    const digest = buildDigest(subscriber(['Russia', 'Syria']), 'daily', window, changesBy(changes));
    expect(digest.total).toBe(2);
    expect(digest.shown).toBe(2);
    expect(digest.sections.map((s) => [keyOf(s), s.items.map((i) => i.event.id)])).toEqual([
      ['tag:russia', ['2026/11/27/event-1']],
      ['tag:syria', ['2026/11/27/event-2']],
    ]);
    expect(digest.sections[0]?.items[0]?.tags.map((t) => t.slug)).toEqual(['russia', 'syria']);
  });

  it('takes followed tags and topic labels together, each event once (under its first tag, else its label)', () => {
    const label = 'Armed conflicts and attacks';
    const changes = [
      // Matched by a followed tag and by the followed label: once, under the tag, with both.
      { event: event(1, ['Syria'], { topic: label }), changedAt: '2026-11-27T10:00:00.000Z' },
      // Matched by the label alone.
      { event: event(2, ['Weather'], { topic: label }), changedAt: '2026-11-27T11:00:00.000Z' },
      // Another label: not followed.
      { event: event(3, ['Weather'], { topic: 'Sports' }), changedAt: '2026-11-27T12:00:00.000Z' },
    ];
    const digest = buildDigest(subscriber(['Syria'], [label]), 'daily', window, changesBy(changes));
    expect(digest.total).toBe(2);
    expect(digest.sections.map((s) => [keyOf(s), s.items.map((i) => i.event.id)])).toEqual([
      ['tag:syria', ['2026/11/27/event-1']],
      ['topic:armed-conflicts-and-attacks', ['2026/11/27/event-2']],
    ]);
    const first = digest.sections[0]?.items[0];
    expect(first?.tags.map((t) => t.slug)).toEqual(['syria']);
    expect(first?.topics.map((t) => t.name)).toEqual([label]);
  });

  it('leaves out changes outside the window: (start, end]', () => {
    const changes = [
      { event: event(1, ['Russia']), changedAt: window.start },
      { event: event(2, ['Russia']), changedAt: window.end },
      { event: event(3, ['Russia']), changedAt: '2026-11-28T07:00:00.001Z' },
    ];
    const digest = buildDigest(subscriber(['Russia']), 'daily', window, changesBy(changes));
    expect(digest.sections.flatMap((s) => s.items.map((i) => i.event.id))).toEqual(['2026/11/27/event-2']);
  });

  it('marks corrections of events published before the window as updated, and nothing else', () => {
    const changes = [
      {
        event: event(1, ['Russia'], { publishedAt: '2026-11-20T10:00:00.000Z', revision: 2 }),
        changedAt: '2026-11-27T12:00:00.000Z',
      },
      // Published and corrected inside the window: new to this reader.
      { event: event(2, ['Russia'], { revision: 3 }), changedAt: '2026-11-27T13:00:00.000Z' },
      // Published just before the window, first projected just after it: not a correction.
      {
        event: event(3, ['Russia'], { publishedAt: '2026-11-27T06:59:59.000Z' }),
        changedAt: '2026-11-27T07:00:01.000Z',
      },
    ];
    const digest = buildDigest(subscriber(['Russia']), 'daily', window, changesBy(changes));
    const updated = Object.fromEntries(digest.sections[0]?.items.map((i) => [i.event.id, i.updated]) ?? []);
    expect(updated).toEqual({
      '2026/11/27/event-1': true,
      '2026/11/27/event-2': false,
      '2026/11/27/event-3': false,
    });
  });

  it('lists the newest changes first and caps the digest, counting what each topic left out', () => {
    const changes = Array.from({ length: DIGEST_EVENT_LIMIT + 7 }, (_, i) => ({
      event: event(i, i % 2 === 0 ? ['Russia'] : ['Russia', 'Syria']),
      changedAt: iso(at('2026-11-27T08:00:00.000Z') + i * 60_000),
    }));
    const digest = buildDigest(subscriber(['Syria', 'Russia']), 'daily', window, changesBy(changes));
    expect(digest.total).toBe(DIGEST_EVENT_LIMIT + 7);
    expect(digest.shown).toBe(DIGEST_EVENT_LIMIT);
    const shown = digest.sections.flatMap((s) => s.items);
    expect(shown).toHaveLength(DIGEST_EVENT_LIMIT);
    expect(shown.map((i) => i.event.id)).not.toContain('2026/11/27/event-0');
    const syria = digest.sections.find((s) => s.ref.slug === 'syria');
    const russia = digest.sections.find((s) => s.ref.slug === 'russia');
    // The 7 oldest (0..6): 3 odd ones carry Syria and Russia, 4 even ones Russia only.
    expect(syria?.omitted).toBe(3);
    expect(russia?.omitted).toBe(7);
    const newestFirst = syria?.items.map((i) => i.event.id) ?? [];
    expect(newestFirst[0]).toBe(`2026/11/27/event-${DIGEST_EVENT_LIMIT + 5}`);
  });

  it('is empty when nothing changed in the window', () => {
    const digest = buildDigest(subscriber(['Russia'], ['Politics']), 'daily', window, indexChanges([]));
    expect(digest).toMatchObject({ total: 0, shown: 0, sections: [] });
  });

  it('gives the digest the plain way would: windows, ties, the cap, one index for many digests (property)', () => {
    const minute = (n: number) => iso(at('2026-11-27T07:00:00.000Z') + n * 60_000);
    fc.assert(
      fc.property(
        // Events: tags, a label or none, the minute of their change (many share one), corrected or not.
        fc.array(
          fc.record({
            tags: fc.subarray(['A', 'B', 'C', 'D', 'E', 'F'], { minLength: 1 }),
            label: fc.constantFrom(undefined, 'P', 'Q', 'R'),
            at: fc.integer({ min: 0, max: 30 }),
            corrected: fc.boolean(),
          }),
          { maxLength: 60 },
        ),
        fc.array(
          fc.record({
            tags: fc.shuffledSubarray(['A', 'B', 'C', 'D', 'E', 'F']),
            labels: fc.shuffledSubarray(['P', 'Q', 'R']),
            start: fc.integer({ min: -2, max: 30 }),
            length: fc.integer({ min: 0, max: 32 }),
            limit: fc.integer({ min: 1, max: 12 }),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        (events, readers) => {
          const changes = events.map((e, i) => ({
            event: event(i, e.tags, {
              ...(e.corrected ? { revision: 2, publishedAt: minute(-60) } : {}),
              ...(e.label ? { topic: e.label } : {}),
            }),
            changedAt: minute(e.at),
          }));
          const index = indexChanges(changes);
          for (const reader of readers) {
            const sub = subscriber(reader.tags, reader.labels);
            const win = { start: minute(reader.start), end: minute(reader.start + reader.length) };
            const digest = buildDigest(sub, 'daily', win, index, reader.limit);
            const plain = plainDigest(sub, win, changes, reader.limit);
            expect(digest.total).toBe(plain.total);
            expect(digest.shown).toBe(Math.min(reader.limit, plain.total));
            expect(
              digest.sections.map((s) => ({
                key: keyOf(s),
                items: s.items.map((i) => ({
                  id: i.event.id,
                  matched: [
                    ...i.tags.map((ref) => keyOf({ kind: 'tag', ref })),
                    ...i.topics.map((ref) => keyOf({ kind: 'topic', ref })),
                  ],
                })),
                omitted: s.omitted,
              })),
            ).toEqual(plain.sections);
            for (const item of digest.sections.flatMap((s) => s.items)) {
              expect(item.updated).toBe(item.event.revision > 1 && item.event.publishedAt <= win.start);
            }
          }
          // Building left the index as it was: nothing carried over to the next digest.
          expect(index.marks.every((m) => m === 0)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never shows an event twice, whatever the topics (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.subarray(['A', 'B', 'C', 'D', 'E'], { minLength: 1 }), { maxLength: 80 }),
        fc.subarray(['A', 'B', 'C', 'D', 'E'], { minLength: 1 }),
        (eventTags, topics) => {
          const changes = eventTags.map((tags, i) => ({
            event: event(i, tags),
            changedAt: iso(at('2026-11-27T08:00:00.000Z') + i * 1000),
          }));
          const digest = buildDigest(subscriber(topics), 'daily', window, changesBy(changes));
          const ids = digest.sections.flatMap((s) => s.items.map((i) => i.event.id));
          expect(new Set(ids).size).toBe(ids.length);
          const matching = changes.filter((c) => c.event.tags.some((t) => topics.includes(t.name)));
          expect(digest.total).toBe(matching.length);
          expect(ids.length).toBe(Math.min(DIGEST_EVENT_LIMIT, matching.length));
          for (const item of digest.sections.flatMap((s) => s.items)) {
            expect(item.tags.map((t) => t.name).sort()).toEqual(
              item.event.tags
                .map((t) => t.name)
                .filter((n) => topics.includes(n))
                .sort(),
            );
          }
        },
      ),
    );
  });
});
