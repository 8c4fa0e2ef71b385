import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NewsEvent } from '../../../shared/domain/event.js';
import { latestFirst, newestFirst, relatedEvents } from '../../../shared/domain/related.js';
import { SiteIndex } from '../../../shared/domain/site-index.js';
import { tagSlug } from '../../../shared/domain/slug.js';

const ev = (
  slug: string,
  date: string,
  tags: string[],
  publishedAt = `${date}T12:00:00.000Z`,
): NewsEvent => ({
  id: `${date.replaceAll('-', '/')}/${slug}`,
  date,
  headline: `Headline ${slug}`,
  body: '',
  tags: tags.map((name) => ({ slug: tagSlug(name), name })),
  sources: [],
  publishedAt,
  updatedAt: publishedAt,
  revision: 1,
});

const NAMES = ['Russia', 'Syria', 'Vladimir Putin', 'Turkey', 'Brazil', 'Russian President', 'Iran'];

const eventArb = fc
  .record({
    slug: fc.stringMatching(/^[a-h]{1,2}$/),
    day: fc.integer({ min: 1, max: 9 }),
    hour: fc.integer({ min: 10, max: 12 }),
    tags: fc.subarray(NAMES, { minLength: 1 }),
  })
  .map(({ slug, day, hour, tags }) => ev(slug, `2016-01-0${day}`, tags, `2016-02-01T${hour}:00:00.000Z`));
const poolArb = fc.uniqueArray(eventArb, { selector: (e) => e.id, minLength: 1, maxLength: 60 });

/** What the store's tag listing gives: the tag's events in entry order, newest first. */
const listTag = (pool: NewsEvent[], slug: string, limit: number) =>
  pool
    .filter((e) => e.tags.some((t) => t.slug === slug))
    .sort(latestFirst)
    .slice(0, limit);

describe('SiteIndex', () => {
  it('lists every event and every tag newest first, in the order of tag entries', () => {
    fc.assert(
      fc.property(poolArb, (pool) => {
        const index = new SiteIndex(pool);
        expect(index.events.map((e) => e.id)).toEqual([...pool].sort(latestFirst).map((e) => e.id));
        for (const tag of index.tags) {
          expect(index.eventsOfTag(tag.slug).map((e) => e.id)).toEqual(
            listTag(pool, tag.slug, Number.POSITIVE_INFINITY).map((e) => e.id),
          );
          expect(index.eventsOfTag(tag.slug, 3)).toEqual(index.eventsOfTag(tag.slug).slice(0, 3));
        }
        const slugs = new Set(pool.flatMap((e) => e.tags.map((t) => t.slug)));
        expect(index.tags.map((t) => t.slug).sort()).toEqual([...slugs].sort());
      }),
      { numRuns: 100 },
    );
  });

  it('finds the same Related events as relatedEvents over the newest events of each tag (property)', () => {
    fc.assert(
      fc.property(
        poolArb,
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 6 }),
        (pool, perTag, limit) => {
          const index = new SiteIndex(pool);
          for (const event of pool) {
            const candidates = event.tags.flatMap((t) => listTag(pool, t.slug, perTag));
            const expected = relatedEvents(event, candidates, limit);
            const position = index.positionOf(event.id) ?? -1;
            const actual = index.related(position, limit, perTag);
            expect(actual.map((r) => [r.event.id, r.sharedTags])).toEqual(
              expected.map((r) => [r.event.id, r.sharedTags]),
            );
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('grown by a walk in entry order, knows each Related list as soon as its tags have enough events (property)', () => {
    fc.assert(
      fc.property(poolArb, fc.integer({ min: 1, max: 6 }), (pool, perTag) => {
        const whole = new SiteIndex(pool);
        const grown = new SiteIndex();
        const early = new Map<string, string[]>();
        for (const event of [...pool].sort(latestFirst)) {
          const position = grown.add(event);
          expect(grown.tagsShortOf(position, perTag).length === 0).toBe(grown.relatedKnown(position, perTag));
          // Every event added so far whose list is known now: it must not change later.
          for (let p = 0; p <= position; p++) {
            const id = grown.events[p]?.id as string;
            if (!early.has(id) && grown.relatedKnown(p, perTag))
              early.set(
                id,
                grown.related(p, 5, perTag).map((r) => r.event.id),
              );
          }
        }
        expect(grown.events).toEqual(whole.events);
        for (const event of pool) {
          const position = whole.positionOf(event.id) ?? -1;
          const expected = whole.related(position, 5, perTag).map((r) => r.event.id);
          expect(grown.related(position, 5, perTag).map((r) => r.event.id)).toEqual(expected);
          if (early.has(event.id)) expect(early.get(event.id)).toEqual(expected);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('names a tag as its newest event does, and groups events by day', () => {
    const index = new SiteIndex([
      ev('old', '2016-01-01', ['RUSSIA', 'Syria']),
      ev('new', '2016-01-03', ['Russia']),
      ev('same-day', '2016-01-03', ['Syria'], '2016-01-03T08:00:00.000Z'),
    ]);
    expect(index.tag('russia')).toMatchObject({ name: 'Russia' });
    expect(index.tag('syria')?.events.map((p) => index.events[p]?.id)).toEqual([
      '2016/01/03/same-day',
      '2016/01/01/old',
    ]);
    expect(index.tag('brazil')).toBeUndefined();
    expect(index.eventsOfTag('brazil')).toEqual([]);
    const days = index.days();
    expect([...days.keys()]).toEqual(['2016-01-03', '2016-01-01']);
    expect(
      days
        .get('2016-01-03')
        ?.map((e) => e.id)
        .sort(),
    ).toEqual(['2016/01/03/new', '2016/01/03/same-day']);
  });

  it('counts an event given twice once', () => {
    const event = ev('a', '2016-01-01', ['Russia']);
    const index = new SiteIndex([event, { ...event }, ev('b', '2016-01-02', ['Russia'])]);
    expect(index.size).toBe(2);
    expect(index.tag('russia')?.events).toHaveLength(2);
    expect(index.related(index.positionOf('2016/01/01/a') ?? -1).map((r) => r.event.id)).toEqual([
      '2016/01/02/b',
    ]);
  });

  it('breaks ties in Related by newestFirst, not by entry order', () => {
    // Same date: entry order goes by id, "Related" by publication time first.
    const subject = ev('subject', '2016-01-09', ['Russia']);
    const early = ev('zzz', '2016-01-01', ['Russia'], '2016-01-01T08:00:00.000Z');
    const late = ev('aaa', '2016-01-01', ['Russia'], '2016-01-01T20:00:00.000Z');
    const index = new SiteIndex([subject, early, late]);
    expect(index.eventsOfTag('russia').map((e) => e.id)).toEqual([subject.id, early.id, late.id]);
    expect(index.related(index.positionOf(subject.id) ?? -1).map((r) => r.event.id)).toEqual(
      [late, early].sort(newestFirst).map((e) => e.id),
    );
  });
});
