import { describe, expect, it } from 'vitest';
import { contentHash, parseEventDraft, sameContent } from '../../../shared/domain/event.js';
import { makeEventInput } from '../../helpers/builders.js';

const issuesOf = (input: unknown) => {
  const result = parseEventDraft(input);
  if (result.ok) throw new Error('expected a rejection');
  return result.issues;
};

describe('parseEventDraft accepts and normalizes', () => {
  it('derives the id, tag slugs and defaults', () => {
    const result = parseEventDraft({
      date: '2016-11-16',
      headline: '  Putin signs order  ',
      tags: ['Vladimir Putin', 'Île-de-France'],
    });
    expect(result).toEqual({
      ok: true,
      draft: {
        id: '2016/11/16/putin-signs-order',
        date: '2016-11-16',
        headline: 'Putin signs order',
        body: '',
        tags: [
          { slug: 'vladimir-putin', name: 'Vladimir Putin' },
          { slug: 'ile-de-france', name: 'Île-de-France' },
        ],
        sources: [],
      },
    });
  });

  it('keeps a given id that matches the date', () => {
    const result = parseEventDraft(makeEventInput({ id: '2016/11/16/custom-slug' }));
    expect(result.ok && result.draft.id).toBe('2016/11/16/custom-slug');
  });

  it('normalizes to NFC and CRLF to LF, so equal-looking posts are equal', () => {
    const composed = parseEventDraft(makeEventInput({ headline: 'Café opens', body: 'a\r\nb' }));
    const decomposed = parseEventDraft(makeEventInput({ headline: 'Cafe\u0301 opens', body: 'a\nb' }));
    expect(composed.ok && decomposed.ok).toBe(true);
    if (composed.ok && decomposed.ok) expect(sameContent(composed.draft, decomposed.draft)).toBe(true);
  });

  it('accepts emoji, right-to-left text and tabs in the body', () => {
    const result = parseEventDraft(
      makeEventInput({ headline: 'مرحبا 🎉 world', body: 'col1\tcol2\n\nnext paragraph' }),
    );
    expect(result.ok).toBe(true);
  });

  it('counts characters, not UTF-16 units: 500 emoji fit a headline', () => {
    expect(parseEventDraft(makeEventInput({ headline: '🎉'.repeat(500) })).ok).toBe(true);
    expect(issuesOf(makeEventInput({ headline: '🎉'.repeat(501) }))).toEqual([
      { path: 'headline', rule: 'must be at most 500 characters (got 501)' },
    ]);
  });
});

describe('parseEventDraft rejects, naming the field and the rule', () => {
  it.each<[string, Record<string, unknown>, { path: string; rule: RegExp }]>([
    ['missing date', { date: undefined }, { path: 'date', rule: /is required/ }],
    ['date not YYYY-MM-DD', { date: '16/11/2016' }, { path: 'date', rule: /YYYY-MM-DD/ }],
    [
      'a date that does not exist',
      { date: '2016-02-30' },
      { path: 'date', rule: /2016-02-30 does not exist/ },
    ],
    ['29 February of a common year', { date: '2015-02-29' }, { path: 'date', rule: /does not exist/ }],
    ['a blank headline', { headline: '   ' }, { path: 'headline', rule: /must not be empty/ }],
    ['a number headline', { headline: 42 }, { path: 'headline', rule: /must be a string \(got number\)/ }],
    ['a NUL in the headline', { headline: 'a\u0000b' }, { path: 'headline', rule: /U\+0000/ }],
    ['a newline in the headline', { headline: 'a\nb' }, { path: 'headline', rule: /U\+000A/ }],
    ['a C1 control in the topic', { topic: 'a\u0085b' }, { path: 'topic', rule: /U\+0085/ }],
    ['a lone surrogate', { headline: 'a\ud800b' }, { path: 'headline', rule: /U\+D800/ }],
    [
      'a vertical tab in the body',
      { body: 'a\u000bb' },
      { path: 'body', rule: /other than tab and newline/ },
    ],
    ['an over-long body', { body: 'x'.repeat(20_001) }, { path: 'body', rule: /at most 20000/ }],
    ['tags not an array', { tags: 'Russia' }, { path: 'tags', rule: /must be an array/ }],
    [
      '21 tags',
      { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      { path: 'tags', rule: /at most 20 tags \(got 21\)/ },
    ],
    ['a 65-character tag', { tags: ['x'.repeat(65)] }, { path: 'tags[0]', rule: /at most 64/ }],
    ['a 10,000-character tag', { tags: ['ok', 'x'.repeat(10_000)] }, { path: 'tags[1]', rule: /got 10000/ }],
    ['a tag with no slug', { tags: ['Russia', '!!!'] }, { path: 'tags[1]', rule: /no letters or digits/ }],
    [
      'duplicate tags by slug',
      { tags: ['Russia', 'Syria', 'russia'] },
      { path: 'tags[2]', rule: /duplicates tags\[0\]/ },
    ],
    [
      'an ftp source',
      { sources: [{ name: 'x', url: 'ftp://example.org/a' }] },
      { path: 'sources[0].url', rule: /got ftp/ },
    ],
    [
      'a javascript: URL',
      { sources: [{ name: 'x', url: 'javascript:alert(1)' }] },
      { path: 'sources[0].url', rule: /http or https/ },
    ],
    ['a relative URL', { image: { url: '/img/a.jpg' } }, { path: 'image.url', rule: /absolute http/ }],
    [
      'a source without a name',
      { sources: [{ url: 'https://example.org' }] },
      { path: 'sources[0].name', rule: /is required/ },
    ],
    [
      'an unknown source field',
      { sources: [{ name: 'x', url: 'https://e.org', foo: 1 }] },
      { path: 'sources[0].foo', rule: /not a known field/ },
    ],
    [
      'an unknown top-level field',
      { revision: 3 },
      { path: 'revision', rule: /not a known field \(allowed: id, date/ },
    ],
    [
      'an id on another day',
      { id: '2016/11/17/x' },
      { path: 'id', rule: /must start with the event's date \(2016\/11\/16\/\)/ },
    ],
    ['an id with capitals', { id: '2016/11/16/Bad' }, { path: 'id', rule: /lowercase/ }],
  ])('%s', (_name, override, expected) => {
    const issues = issuesOf(makeEventInput(override));
    expect(issues).toContainEqual({ path: expected.path, rule: expect.stringMatching(expected.rule) });
  });

  it('rejects a non-object with a clear message', () => {
    expect(issuesOf([1, 2])).toEqual([{ path: '', rule: 'must be a JSON object (got array)' }]);
    expect(issuesOf(null)).toEqual([{ path: '', rule: 'must be a JSON object (got null)' }]);
  });

  it('reports every problem at once', () => {
    const issues = issuesOf({ date: 'x', headline: '', tags: [1], extra: true });
    expect(issues.map((i) => i.path).sort()).toEqual(['date', 'extra', 'headline', 'tags[0]']);
  });
});

describe('contentHash', () => {
  it('ignores key order and changes with any field', () => {
    const a = parseEventDraft(makeEventInput());
    const b = parseEventDraft(Object.fromEntries(Object.entries(makeEventInput()).reverse()));
    const c = parseEventDraft(makeEventInput({ body: 'different' }));
    if (!a.ok || !b.ok || !c.ok) throw new Error('fixtures must be valid');
    expect(contentHash(a.draft)).toBe(contentHash(b.draft));
    expect(contentHash(a.draft)).not.toBe(contentHash(c.draft));
  });
});
