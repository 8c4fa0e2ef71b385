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
