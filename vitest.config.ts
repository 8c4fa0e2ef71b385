import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    env: {
      // Lambda runs Node 22; the SDK's notice about Node 20 is noise in test output.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      // Tests never reach AWS: no credential lookup may try the instance metadata service.
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  },
});
