#!/usr/bin/env node
// `tidings`, run from the sources on Node 20 without a build step: tsx compiles the TypeScript as
// it is imported.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

import { register } from 'tsx/esm/api';

register();
const { main, processIo } = await import('../cli/tidings.ts');
const code = await main(process.argv.slice(2), processIo());
// Let stdout drain before leaving (a pipe may still hold the output).
process.stdout.write('', () => process.exit(code));
