// Runs dynalite in its own process, so the store and the handlers each get a core.
// Started by local/dynamodb.ts; reports its port over IPC and exits with its parent.
import dynalite from 'dynalite';

// LevelDB creates its files as it goes: owner-only, like everything in the data folder.
process.umask(0o077);

const [path] = process.argv.slice(2);
const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: server.address().port });
});
// `{ collect: true }`: a full garbage collection now (the process runs with --expose-gc), answered
// with `{ collected: <ms> }` (or `{ collected: -1 }` without --expose-gc). The publish benchmark
// asks for one before each measured run, so a collection of this heap (gigabytes, with a large
// table in memory) does not land in the run.
process.on('message', (message) => {
  if (message?.collect !== true) return;
  if (typeof globalThis.gc !== 'function') return process.send?.({ collected: -1 });
  const start = performance.now();
  globalThis.gc();
  process.send?.({ collected: performance.now() - start });
});
process.on('disconnect', () => server.close(() => process.exit(0)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
// Ctrl-C reaches the whole process group; the parent decides when to close the store.
process.on('SIGINT', () => undefined);
