import type { RawCommand } from '../command.js';

export const countsCommand: RawCommand = {
  name: 'counts',
  summary: "check or repair every tag's count against its entries",
  async raw(argv, io, globals) {
    const { runCounts } = await import('../../local/counts.js');
    return runCounts(argv, io, globals);
  },
};
