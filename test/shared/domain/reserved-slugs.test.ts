import { describe, expect, it } from 'vitest';
import {
  eventIdFor,
  isReservedEventId,
  parseEventDraft,
  unreservedEventId,
} from '../../../shared/domain/event.js';
import { dayPath, eventPath, TAGS_PAGE, tagPath } from '../../../shared/domain/site.js';
import {
  pageSlug,
  RESERVED_SLUGS,
  RESERVED_SUFFIX,
  tagSlug,
  topicSlug,
  unreservedSlug,
} from '../../../shared/domain/slug.js';
import { makeEventInput } from '../../helpers/builders.js';

describe('names the site keeps for its own pages', () => {
  it('lists index at every level and appends -1 to a slug that takes one', () => {
    expect(RESERVED_SLUGS).toEqual({ event: ['index'], tag: ['index'], topic: ['index'] });
    expect(RESERVED_SUFFIX).toBe('-1');
    expect(unreservedSlug('event', 'index')).toBe('index-1');
    expect(unreservedSlug('event', 'indexes')).toBe('indexes');
    expect(unreservedSlug('tag', 'index-1')).toBe('index-1');
  });

  it('an event headlined "Index" does not get the day page\'s id, and the same headline always gets the same id', () => {
    expect(eventIdFor('2016-11-16', 'Index')).toBe('2016/11/16/index-1');
    expect(eventIdFor('2016-11-16', '  INDEX. ')).toBe('2016/11/16/index-1');
    const first = parseEventDraft(makeEventInput({ headline: 'Index' }));
    const again = parseEventDraft(makeEventInput({ headline: 'Index' }));
    expect(first.ok && first.draft.id).toBe('2016/11/16/index-1');
    expect(again).toEqual(first);
    expect(eventIdFor('2016-11-16', 'Index of prices')).toBe('2016/11/16/index-of-prices');
  });

  it('refuses an explicit id at a reserved slug, naming the field and the id to use', () => {
    const result = parseEventDraft(makeEventInput({ id: '2016/11/16/index', headline: 'Anything' }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      {
        path: 'id',
        rule: expect.stringContaining('must not end in "index", the name of the day\'s own page'),
      },
    ]);
    expect(result.issues[0]?.rule).toContain('use 2016/11/16/index-1');
  });

  it('a tag named "Index" gets the slug index-1 and keeps its name', () => {
    expect(tagSlug('Index')).toBe('index-1');
    expect(tagSlug('index')).toBe('index-1');
    expect(tagSlug('Index Funds')).toBe('index-funds');
    const result = parseEventDraft(makeEventInput({ tags: ['Index', 'Russia'] }));
    expect(result.ok && result.draft.tags).toEqual([
      { slug: 'index-1', name: 'Index' },
      { slug: 'russia', name: 'Russia' },
    ]);
  });

  it('a topic label slug follows the same rule', () => {
    expect(topicSlug('Index')).toBe('index-1');
    expect(topicSlug('Russian President')).toBe('russian-president');
  });

  it("an event or tag stored under a reserved name before the rule never maps to the site's own page", () => {
    const legacy = '2016/11/16/index';
    expect(isReservedEventId(legacy)).toBe(true);
    expect(isReservedEventId('2016/11/16/index-1')).toBe(false);
    expect(unreservedEventId(legacy)).toBe('2016/11/16/index-1');
    expect(eventPath(legacy)).not.toBe(dayPath('2016-11-16'));
    expect(eventPath(legacy)).toBe('news/2016/11/16/_index.html');
    expect(eventPath(legacy, 'json')).toBe('news/2016/11/16/_index.json');
    expect(eventPath('2016/11/16/index-1')).toBe('news/2016/11/16/index-1.html');
    expect(tagPath('index')).not.toBe(TAGS_PAGE);
    expect(pageSlug('tag', 'russia')).toBe('russia');
  });
});
