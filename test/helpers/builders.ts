import type { NewsEvent } from '../../shared/domain/event.js';

/** A valid event body as a publisher would post it; override any field. */
export const makeEventInput = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  date: '2016-11-16',
  headline: 'Russian President Vladimir Putin signs a symbolic order to withdraw from the ICC',
  body: 'Vladimir Putin has signed an order.\n\nThe foreign ministry will notify the United Nations.',
  topic: 'Russian President',
  tags: ['Russia', 'Vladimir Putin'],
  sources: [
    { name: 'The Independent', url: 'https://www.independent.co.uk/news/world/europe/a7420676.html' },
  ],
  image: { url: 'https://static.independent.co.uk/vladimir-putin.jpg', caption: 'Vladimir Putin' },
  ...overrides,
});

/** n distinct valid events spread over days and a pool of tags. */
export const makeEventInputs = (n: number, tagPool = 10): Record<string, unknown>[] =>
  Array.from({ length: n }, (_, i) => {
    const day = String((i % 28) + 1).padStart(2, '0');
    return makeEventInput({
      date: `2016-10-${day}`,
      headline: `Test event number ${i} happens somewhere`,
      tags: [`Tag ${i % tagPool}`, `Tag ${(i + 3) % tagPool}`],
    });
  });

/** A stored event on 2026-11-27 numbered `n`, tagged with `tags` (slugs lowercased); override any field. */
export const makeNewsEvent = (n: number, tags: string[], overrides: Partial<NewsEvent> = {}): NewsEvent => ({
  id: `2026/11/27/event-${n}`,
  date: '2026-11-27',
  headline: `Event ${n}`,
  body: `Body of event ${n}.`,
  tags: tags.map((name) => ({ name, slug: name.toLowerCase() })),
  sources: [],
  publishedAt: '2026-11-27T10:00:00.000Z',
  updatedAt: '2026-11-27T10:00:00.000Z',
  revision: 1,
  ...overrides,
});
