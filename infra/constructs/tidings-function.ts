import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export const FUNCTIONS_DIR = resolve(import.meta.dirname, '../../functions');

export interface TidingsFunctionProps {
  /** File name under functions/, without extension. */
  name: string;
  environment: Record<string, string>;
  logRetention: RetentionDays;
  timeout?: Duration;
  memorySize?: number;
}

/**
 * Every Tidings function: Node 22 on ARM64, one minified ESM bundle with the AWS SDK inside
 * (bundled imports start faster than the runtime's copy), source maps, JSON logs kept for a
 * bounded time.
 */
export class TidingsFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: TidingsFunctionProps) {
    const entry = resolve(FUNCTIONS_DIR, `${props.name}.ts`);
    if (!existsSync(entry)) throw new Error(`no function entry ${entry}`);
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention });
    super(scope, id, {
      entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'tidings',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        externalModules: [],
        // Some CommonJS dependencies call require(); ESM bundles need it defined.
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
    });
  }
}
