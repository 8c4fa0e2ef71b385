import type { RawCommand } from '../command.js';

export const migrateCommand: RawCommand = {
  name: 'migrate',
  summary: 'move events and tags off names the site keeps for itself',
  async raw(argv, io, globals) {
    const { runMigrate } = await import('../../local/migrate.js');
    return runMigrate(argv, io, globals);
  },
};
