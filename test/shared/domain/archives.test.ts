import { describe, expect, it } from 'vitest';
import {
  archiveLinksOf,
  countEvents,
  monthsOfDays,
  neighboursOf,
  neighboursToRebuild,
  newestOf,
  replaceMonths,
  topicScope,
} from '../../../shared/domain/archives.js';

const tag = (name: string) => ({ name, slug: name.toLowerCase() });

describe('archive counts', () => {
  it('counts events per day for the site and per month for each tag and topic label, named by the newest', () => {
    const counts = countEvents([
      { date: '2016-11-20', tags: [tag('ALPHA')], topic: 'Politics' },
      { date: '2016-11-02', tags: [tag('Alpha'), tag('Beta')], topic: 'politics' },
      { date: '2016-09-05', tags: [tag('Alpha')] },
    ]);
    expect(counts.days).toEqual({ '2016-11-20': 1, '2016-11-02': 1, '2016-09-05': 1 });
    expect(counts.tags).toEqual({
      alpha: { name: 'ALPHA', months: { '2016-11': 2, '2016-09': 1 } },
      beta: { name: 'Beta', months: { '2016-11': 1 } },
    });
    expect(counts.topics).toEqual({ politics: { name: 'Politics', months: { '2016-11': 2 } } });
    expect(monthsOfDays(counts.days)).toEqual({ '2016-11': 2, '2016-09': 1 });
    expect(newestOf(counts.tags.alpha?.months ?? {})).toBe('2016-11');
  });

  it('replaces the counts of the months read, and drops scopes left with none', () => {
    const counts = countEvents([
      { date: '2017-01-10', tags: [tag('Beta')] },
      { date: '2016-11-02', tags: [tag('Alpha'), tag('Beta')] },
    ]);
    replaceMonths(
      counts,
      countEvents([{ date: '2016-10-15', tags: [tag('Alpha')] }]),
      new Set(['2016-10', '2017-01']),
    );
    expect(counts.days).toEqual({ '2016-11-02': 1, '2016-10-15': 1 });
    expect(counts.tags).toEqual({
      alpha: { name: 'Alpha', months: { '2016-11': 1, '2016-10': 1 } },
      beta: { name: 'Beta', months: { '2016-11': 1 } },
    });
  });

  it('gives topic labels slugs by the slug rules, reserved slugs included', () => {
    expect(topicScope('Arts & culture')).toEqual({
      kind: 'topic',
      slug: 'arts-culture',
      name: 'Arts & culture',
    });
    expect(topicScope('Index').slug).toBe('index-1');
  });
});

describe('archive links', () => {
  const months = ['2016-09', '2016-11', '2017-01'];

  it('links each month to the scope months before and after it with events', () => {
    expect(archiveLinksOf(months, '2016-11')).toEqual({ prev: '2016-09', next: '2017-01' });
    expect(archiveLinksOf(months, '2016-09')).toEqual({ next: '2016-11' });
    expect(archiveLinksOf(months, '2017-01')).toEqual({ prev: '2016-11' });
    expect(neighboursOf(months, '2016-10')).toEqual({ older: '2016-09', newer: '2016-11' });
  });

  it('rebuilds the neighbours of a month only when it gains its first event or loses its last', () => {
    const before = { '2016-09': 1, '2016-11': 2, '2017-01': 1 };
    // A month appears: the months around it now link to it.
    expect(neighboursToRebuild(before, { ...before, '2016-10': 1 }, ['2016-10'])).toEqual([
      '2016-09',
      '2016-11',
    ]);
    // A month goes: the months around it now link to each other.
    expect(neighboursToRebuild(before, { '2016-09': 1, '2016-11': 2 }, ['2017-01'])).toEqual(['2016-11']);
    // A count changes: no link does.
    expect(neighboursToRebuild(before, { ...before, '2016-11': 3 }, ['2016-11'])).toEqual([]);
    // The months read are rebuilt anyway, never listed as neighbours.
    expect(
      neighboursToRebuild(before, { '2016-10': 1, '2016-11': 2, '2017-01': 1 }, ['2016-09', '2016-10']),
    ).toEqual(['2016-11']);
  });
});
