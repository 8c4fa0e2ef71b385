import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createdEvent, type NewsEvent, parseEventDraft } from '../../../shared/domain/event.js';
import { newestFirst, relatedEvents } from '../../../shared/domain/related.js';
import { tagSlug } from '../../../shared/domain/slug.js';

/** A stored event with just what relatedness looks at. */
const ev = (id: string, date: string, tags: string[], publishedAt = `${date}T12:00:00.000Z`): NewsEvent => ({
  id: `${date.replaceAll('-', '/')}/${id}`,
  date,
  headline: `Headline ${id}`,
  body: '',
  tags: tags.map((name) => ({ slug: tagSlug(name), name })),
  sources: [],
  publishedAt,
  updatedAt: publishedAt,
  revision: 1,
});

const slugOf = (e: NewsEvent): string => e.id.slice(11);

const subject = ev('subject', '2016-11-16', ['Russia', 'Russian President', 'Syria', 'Vladimir Putin']);

interface Case {
  name: string;
  event?: NewsEvent;
  candidates: NewsEvent[];
  limit?: number;
  /** Expected as `slug: shared tag names`. */
  expected: string[];
}

const cases: Case[] = [
  {
    name: 'more shared tags rank first, whatever the dates',
    candidates: [
      ev('one', '2020-01-01', ['Russia']),
      ev('three', '2010-01-01', ['Syria', 'Russia', 'Vladimir Putin']),
      ev('two', '2015-01-01', ['Vladimir Putin', 'Syria']),
    ],
    expected: ['three: Russia, Syria, Vladimir Putin', 'two: Syria, Vladimir Putin', 'one: Russia'],
  },
  {
    name: 'ties go to the later date',
    candidates: [
      ev('older', '2016-01-01', ['Russia']),
      ev('newer', '2016-06-01', ['Syria']),
      ev('middle', '2016-03-01', ['Vladimir Putin']),
    ],
    expected: ['newer: Syria', 'middle: Vladimir Putin', 'older: Russia'],
  },
  {
    name: 'on the same date, the later publication',
    candidates: [
      ev('early', '2016-01-01', ['Russia'], '2016-01-01T08:00:00.000Z'),
      ev('late', '2016-01-01', ['Russia'], '2016-01-01T20:00:00.000Z'),
    ],
    expected: ['late: Russia', 'early: Russia'],
  },
  {
    name: 'same date and publication: the id decides, descending, so the order never depends on input order',
    candidates: [
      ev('aaa', '2016-01-01', ['Russia'], '2016-01-01T08:00:00.000Z'),
      ev('ccc', '2016-01-01', ['Russia'], '2016-01-01T08:00:00.000Z'),
      ev('bbb', '2016-01-01', ['Russia'], '2016-01-01T08:00:00.000Z'),
    ],
    expected: ['ccc: Russia', 'bbb: Russia', 'aaa: Russia'],
  },
  {
    name: 'the event itself and events sharing no tag are left out',
    candidates: [subject, ev('none', '2016-01-01', ['Brazil']), ev('one', '2016-01-01', ['Syria'])],
    expected: ['one: Syria'],
  },
  {
    name: 'shared tags follow the event’s tag order and names, matched by slug',
    candidates: [ev('renamed', '2016-01-01', ['VLADIMIR PUTIN', 'syria', 'Russia'])],
    expected: ['renamed: Russia, Syria, Vladimir Putin'],
  },
  {
    name: 'five by default',
    candidates: Array.from({ length: 8 }, (_, i) => ev(`e${i}`, `2016-01-0${i + 1}`, ['Russia'])),
    expected: ['e7', 'e6', 'e5', 'e4', 'e3'].map((s) => `${s}: Russia`),
  },
  {
    name: 'a smaller limit',
    candidates: [ev('a', '2016-01-01', ['Russia']), ev('b', '2016-01-02', ['Russia'])],
    limit: 1,
    expected: ['b: Russia'],
  },
  {
    name: 'a limit of zero',
    candidates: [ev('a', '2016-01-01', ['Russia'])],
    limit: 0,
    expected: [],
  },
  {
    name: 'a candidate listed twice counts once',
    candidates: [
      ev('a', '2016-01-01', ['Russia']),
      ev('a', '2016-01-01', ['Russia']),
      ev('b', '2015-01-01', ['Syria']),
    ],
    expected: ['a: Russia', 'b: Syria'],
  },
  {
    name: 'an event without tags has no related events',
    event: ev('bare', '2016-11-16', []),
    candidates: [ev('a', '2016-01-01', ['Russia'])],
    expected: [],
  },
  { name: 'no candidates', candidates: [], expected: [] },
];

describe('relatedEvents', () => {
  it.each(cases)('$name', ({ event = subject, candidates, limit, expected }) => {
    const related =
      limit === undefined ? relatedEvents(event, candidates) : relatedEvents(event, candidates, limit);
    expect(related.map((r) => `${slugOf(r.event)}: ${r.sharedTags.map((t) => t.name).join(', ')}`)).toEqual(
      expected,
    );
  });

  it('does not reorder or change its inputs', () => {
    const candidates = [ev('a', '2016-01-01', ['Russia']), ev('b', '2016-01-02', ['Russia', 'Syria'])];
    const before = structuredClone(candidates);
    relatedEvents(subject, candidates);
    expect(candidates).toEqual(before);
  });

  it('holds its promises for any events (property)', () => {
    const names = ['Russia', 'Syria', 'Vladimir Putin', 'Turkey', 'Brazil', 'Russian President'];
    const event = fc
      .record({
        slug: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
        day: fc.integer({ min: 1, max: 28 }),
        hour: fc.integer({ min: 10, max: 23 }),
        tags: fc.subarray(names),
      })
      .map(({ slug, day, hour, tags }) =>
        ev(slug, `2016-01-${String(day).padStart(2, '0')}`, tags, `2016-02-01T${hour}:00:00.000Z`),
      );
    fc.assert(
      fc.property(
        event,
        fc.uniqueArray(event, { selector: (e) => e.id, maxLength: 20 }),
        fc.integer({ min: 0, max: 8 }),
        (e, pool, limit) => {
          const related = relatedEvents(e, pool, limit);
          const mine = e.tags.map((t) => t.slug);
          expect(related.length).toBeLessThanOrEqual(limit);
          expect(new Set(related.map((r) => r.event.id)).size).toBe(related.length);
          for (const [i, r] of related.entries()) {
            expect(r.event.id).not.toBe(e.id);
            expect(r.sharedTags.length).toBeGreaterThan(0);
            // Shared tags: exactly the tags both have, in the event's order.
            expect(r.sharedTags.map((t) => t.slug)).toEqual(
              mine.filter((slug) => r.event.tags.some((t) => t.slug === slug)),
            );
            const next = related[i + 1];
            if (next) {
              const order = next.sharedTags.length - r.sharedTags.length || newestFirst(r.event, next.event);
              expect(order).toBeLessThanOrEqual(0);
            }
          }
          // Nothing left out shares more than the last one kept.
          const last = related.at(-1);
          if (related.length === limit && last) {
            const kept = new Set(related.map((r) => r.event.id));
            for (const other of pool) {
              if (kept.has(other.id) || other.id === e.id) continue;
              const shared = other.tags.filter((t) => mine.includes(t.slug)).length;
              expect(shared).toBeLessThanOrEqual(last.sharedTags.length);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('picks what sorting every candidate by shared tags, then newest, would pick (property)', () => {
    // The reference: every candidate weighed and sorted, the first `limit` kept.
    const sorted = (e: NewsEvent, pool: readonly NewsEvent[], limit: number) => {
      const seen = new Set([e.id]);
      const scored: { event: NewsEvent; shared: string[] }[] = [];
      for (const c of pool) {
        if (seen.has(c.id)) continue;
        seen.add(c.id);
        const shared = e.tags.filter((t) => c.tags.some((u) => u.slug === t.slug)).map((t) => t.name);
        if (shared.length > 0) scored.push({ event: c, shared });
      }
      return scored
        .sort((a, b) => b.shared.length - a.shared.length || newestFirst(a.event, b.event))
        .slice(0, limit)
        .map((r) => `${r.event.id}: ${r.shared.join(', ')}`);
    };
    const names = ['Russia', 'Syria', 'Vladimir Putin', 'Turkey', 'Brazil'];
    const event = fc
      .record({
        slug: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'),
        day: fc.integer({ min: 1, max: 4 }),
        hour: fc.integer({ min: 10, max: 12 }),
        tags: fc.subarray(names),
      })
      .map(({ slug, day, hour, tags }) => ev(slug, `2016-01-0${day}`, tags, `2016-02-01T${hour}:00:00.000Z`));
    fc.assert(
      fc.property(
        event,
        fc.array(event, { maxLength: 40 }),
        fc.integer({ min: 0, max: 12 }),
        (e, drawn, limit) => {
          // An event listed twice is listed the same both times (two of its tags list it).
          const first = new Map<string, NewsEvent>();
          for (const c of drawn) if (!first.has(c.id)) first.set(c.id, c);
          const pool = drawn.map((c) => first.get(c.id) as NewsEvent);
          const picked = relatedEvents(e, pool, limit).map(
            (r) => `${r.event.id}: ${r.sharedTags.map((t) => t.name).join(', ')}`,
          );
          expect(picked).toEqual(sorted(e, pool, limit));
        },
      ),
      { numRuns: 500 },
    );
  });
});

// The seed archive's entry (2016-11-16, Putin withdraws from the ICC) lists these five as Related,
// in this order, with these Context lines.
const SEED_RELATED = [
  [
    '2015-12-09',
    'Russian President Vladimir Putin says he hopes nuclear warheads',
    'Russia, Russian President, Syria, Vladimir Putin',
  ],
  [
    '2018-01-30',
    'Reports surface about the publication on January 29',
    'Russia, Russian President, Vladimir Putin',
  ],
  ['2016-12-29', 'Russian president Vladimir Putin says a ceasefire', 'Russia, Syria, Vladimir Putin'],
  ['2016-08-27', 'A fire at a warehouse in Moscow', 'Russia, Russian President, Vladimir Putin'],
  [
    '2016-07-31',
    'Democratic presidential election nominee Hillary Clinton',
    'Russia, Russian President, Vladimir Putin',
  ],
] as const;

const samples = (): NewsEvent[] => {
  const raw = JSON.parse(
    readFileSync(resolve(import.meta.dirname, '../../../local/sample-events.json'), 'utf8'),
  ) as unknown[];
  return raw.map((input, i) => {
    const parsed = parseEventDraft(input);
    if (!parsed.ok) throw new Error(`sample ${i}: ${JSON.stringify(parsed.issues)}`);
    // Fixed timestamps, one second apart, so ties on date resolve the same way every run.
    return createdEvent(parsed.draft, new Date(Date.UTC(2017, 0, 1, 0, 0, i)).toISOString());
  });
};

describe('relatedEvents on the seed archive entry', () => {
  const all = samples();
  const seed = all.find(
    (e) => e.date === '2016-11-16' && e.headline.startsWith('Russian President Vladimir Putin signs'),
  );
  const find = (date: string, start: string): NewsEvent => {
    const found = all.find((e) => e.date === date && e.headline.startsWith(start));
    if (!found) throw new Error(`no sample event ${date} ${start}`);
    return found;
  };
  const asSeedShows = (related: ReturnType<typeof relatedEvents>) =>
    related.map((r) => [r.event.date, r.sharedTags.map((t) => t.name).join(', ')]);

  it('is in the samples', () => {
    expect(seed).toBeDefined();
  });

  it('reproduces the seed’s Related list among the events the seed archive had', () => {
    if (!seed) throw new Error('seed event missing');
    // The seed's own neighbourhood, plus sample events sharing fewer tags, in shuffled order.
    const pool = [
      ...SEED_RELATED.map(([date, start]) => find(date, start)).reverse(),
      seed,
      ...all.filter((e) => e.tags.filter((t) => seed.tags.some((s) => s.slug === t.slug)).length <= 2),
    ];
    expect(asSeedShows(relatedEvents(seed, pool))).toEqual(
      SEED_RELATED.map(([date, , context]) => [date, context]),
    );
  });

  it('with every sample event, a newer three-tag match displaces the seed’s last entry', () => {
    if (!seed) throw new Error('seed event missing');
    // The samples add the 2016-12-25 Tu-154 crash (tagged Russia, Vladimir Putin, Syria): it
    // shares three tags and is newer than the seed's 2016-08-27 and 2016-07-31 entries.
    expect(asSeedShows(relatedEvents(seed, all))).toEqual([
      ['2015-12-09', 'Russia, Russian President, Syria, Vladimir Putin'],
      ['2018-01-30', 'Russia, Russian President, Vladimir Putin'],
      ['2016-12-29', 'Russia, Syria, Vladimir Putin'],
      ['2016-12-25', 'Russia, Syria, Vladimir Putin'],
      ['2016-08-27', 'Russia, Russian President, Vladimir Putin'],
    ]);
  });
});
