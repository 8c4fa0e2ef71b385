import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { tracingOf } from '../config.js';

export const FUNCTIONS_DIR = resolve(import.meta.dirname, '../../functions');
const LAMBDA_CREDENTIALS = resolve(import.meta.dirname, '../bundling/lambda-credentials.ts');

/**
 * Fixes the tracing switch in the bundle when it is built: built with tracing off, the branch that
 * imports Powertools Tracer (and the X-Ray SDK, some 130 KB) is dead code that esbuild leaves out,
 * so a function without tracing carries none of it.
 */
export const bundleDefine = (tracing: boolean): Record<string, string> => ({
  [`process.env.${ENV.tracing}`]: JSON.stringify(tracing ? 'active' : 'off'),
});

/**
 * How every function is bundled, shared with `npm run bench -- bundles` so the benchmark measures
 * exactly what is deployed. The AWS SDK is bundled, not left to the runtime's copy: bundled,
 * tree-shaken imports start faster.
 */
export const BUNDLE = {
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  sourcemap: true,
  // Maps without the sources they map: stack traces still name file and line, and Node's
  // --enable-source-maps no longer parses megabytes of embedded source at every cold start.
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // Some CommonJS dependencies call require(); an ESM bundle needs it defined.
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
  // Lambda gives credentials in the environment: the rest of the SDK's default chain is dead weight.
  alias: { '@aws-sdk/credential-provider-node': LAMBDA_CREDENTIALS },
  // Tracing off unless the `tracing` setting builds the function with it (TidingsFunction).
  define: bundleDefine(false),
} as const;

export const functionEntry = (name: string): string => resolve(FUNCTIONS_DIR, `${name}.ts`);

export interface TidingsFunctionProps {
  /** File name under functions/, without extension. */
  name: string;
  environment: Record<string, string>;
  logRetention: RetentionDays;
  timeout?: Duration;
  memorySize?: number;
  description?: string;
  /** Where asynchronous invocations that failed every retry are kept. */
  deadLetterQueue?: IQueue;
  /** X-Ray tracing; by default the deploy's `tracing` setting (infra/config.ts). */
  tracing?: boolean;
}

/**
 * Every Tidings function: Node 22 on ARM64, one minified ESM bundle with source maps, JSON logs
 * kept for a bounded time, and its own role that may write only to its own log group (no
 * managed policy); each capability adds the grants it needs.
 */
export class TidingsFunction extends NodejsFunction {
  /** The file under functions/ this function runs. */
  readonly entryName: string;
  /** Whether it is traced with X-Ray (the `tracing` setting). */
  readonly tracing: boolean;

  constructor(scope: Construct, id: string, props: TidingsFunctionProps) {
    const entry = functionEntry(props.name);
    if (!existsSync(entry)) throw new Error(`no function entry ${entry}`);
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      // Logs outlive a torn-down stack only until their retention runs out anyway.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${props.name} function`,
    });
    logGroup.grantWrite(role);
    const tracing = props.tracing ?? tracingOf(scope.node);
    super(scope, id, {
      entry,
      handler: 'handler',
      description: props.description ?? `Tidings ${props.name}`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role,
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      ...(tracing ? { tracing: Tracing.ACTIVE } : {}),
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'tidings',
        ...(tracing ? { [ENV.tracing]: 'active' } : {}),
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE.target,
        minify: BUNDLE.minify,
        sourceMap: BUNDLE.sourcemap,
        sourcesContent: BUNDLE.sourcesContent,
        mainFields: [...BUNDLE.mainFields],
        externalModules: [],
        banner: BUNDLE.banner,
        define: bundleDefine(tracing),
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLE.alias).map(([from, to]) => [`--alias:${from}`, to]),
        ),
      },
    });
    this.entryName = props.name;
    this.tracing = tracing;
    if (tracing) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray trace segments have no resource to scope to: xray:PutTraceSegments and PutTelemetryRecords take only "*"',
      });
    }
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is the runtime the bundles target and the code is tested on (Node 20 and 22); a newer runtime is a deliberate upgrade',
    });
  }
}
