// A worker process of a local full publish (local/publish-workers.ts): does the slices its parent
// hands it, one at a time, on the same store and site folder, and answers with what each wrote.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

const { runWorker } = await import('./publish-workers.js');
await runWorker();
