// Runs dynalite in its own process, so the store and the handlers each get a core.
// Started by local/dynamodb.ts; reports its port over IPC and exits with its parent.
import dynalite from 'dynalite';

const [path] = process.argv.slice(2);
const server = dynalite({ ...(path ? { path } : {}), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: server.address().port });
});
process.on('disconnect', () => server.close(() => process.exit(0)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
// Ctrl-C reaches the whole process group; the parent decides when to close the store.
process.on('SIGINT', () => undefined);
