import type { RawCommand } from '../command.js';

export const importCommand: RawCommand = {
  name: 'import',
  summary: 'import a JSON array or NDJSON file of events',
  async raw(argv, io, globals) {
    const { runImport } = await import('../../local/import.js');
    return runImport(argv, io, globals);
  },
};
