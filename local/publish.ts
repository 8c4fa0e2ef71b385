// `npm run publish`: an alias of `tidings publish` (cli/), kept for the commands people already know.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

const { main, processIo } = await import('../cli/tidings.js');
const code = await main(['publish', ...process.argv.slice(2)], processIo());
process.stdout.write('', () => process.exit(code));
