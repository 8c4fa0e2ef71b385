import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { build } from 'esbuild';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { BUNDLE, bundleDefine, functionEntry } from '../../infra/constructs/tidings-function.js';
import { startTestTable } from '../helpers/dynamo.js';
import { synthTidings } from '../helpers/synth.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, asserted on structurally
type Cfn = any;

const functionsOf = (template: ReturnType<typeof synthTidings>['template']) =>
  (Object.entries(template.findResources('AWS::Lambda::Function')) as [string, Cfn][]).filter(
    ([id]) => !id.startsWith('CustomS3AutoDelete'),
  );
const xrayStatements = (template: ReturnType<typeof synthTidings>['template']) =>
  Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Cfn>)
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Cfn[])
    .filter((s) => [s.Action].flat().some((a: string) => a.startsWith('xray:')));

describe('the tracing setting', () => {
  it('is off by default: no function is traced or may write traces', () => {
    const { template } = synthTidings();
    for (const [, fn] of functionsOf(template)) {
      expect(fn.Properties.TracingConfig).toBeUndefined();
      expect(fn.Properties.Environment.Variables.TIDINGS_TRACING).toBeUndefined();
    }
    expect(xrayStatements(template)).toEqual([]);
  });

  it('on, traces every function actively, lets each write its traces, and still passes the AwsSolutions checks', () => {
    const { template, nag } = synthTidings({ tracing: 'true' });
    const functions = functionsOf(template);
    expect(functions.length).toBeGreaterThan(10);
    for (const [, fn] of functions) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.Properties.Environment.Variables.TIDINGS_TRACING).toBe('active');
    }
    const statements = xrayStatements(template);
    expect(statements).toHaveLength(functions.length);
    for (const s of statements) {
      expect([s.Action].flat().sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    }
    expect(nag.violations).toEqual([]);
  });
});

describe('a bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-tracing-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const bundled = async (define: Record<string, string>, name: string): Promise<string> => {
    const outfile = join(dir, name, 'index.mjs');
    await build({
      entryPoints: [functionEntry('list-tags')],
      outfile,
      bundle: true,
      format: BUNDLE.format,
      platform: BUNDLE.platform,
      target: BUNDLE.target,
      minify: BUNDLE.minify,
      mainFields: [...BUNDLE.mainFields],
      banner: { js: BUNDLE.banner },
      alias: { ...BUNDLE.alias },
      define,
      logLevel: 'silent',
    });
    return readFileSync(outfile, 'utf8');
  };

  it('built without tracing holds none of the tracer, and with it captures the SDK clients', async () => {
    const [off, on] = await Promise.all([
      bundled({ ...BUNDLE.define }, 'off'),
      bundled(bundleDefine(true), 'on'),
    ]);
    expect(off).not.toContain('XRaySDKInstrumentation');
    expect(on).toContain('XRaySDKInstrumentation');
    // The tracer and the X-Ray SDK are the difference, and nothing else grows.
    expect(on.length - off.length).toBeGreaterThan(50_000);
  });

  it('built with tracing starts as Lambda starts it, and answers through its traced client', async () => {
    await bundled(bundleDefine(true), 'run');
    const table = await startTestTable();
    try {
      const request = {
        version: '2.0',
        routeKey: 'GET /api/tags',
        rawPath: '/api/tags',
        rawQueryString: '',
        headers: {},
        requestContext: {
          http: { method: 'GET', path: '/api/tags' },
          requestId: 't',
          routeKey: 'GET /api/tags',
        },
        isBase64Encoded: false,
      };
      const script = `const { handler } = await import(${JSON.stringify(join(dir, 'run', 'index.mjs'))});
const result = await handler(${JSON.stringify(request)}, { awsRequestId: 't', getRemainingTimeInMillis: () => 10000 });
process.stdout.write(JSON.stringify(result));`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        env: {
          PATH: process.env.PATH,
          POWERTOOLS_LOG_LEVEL: 'ERROR',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          // What Lambda gives a traced function: the tracer is active only inside Lambda.
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
          AWS_LAMBDA_FUNCTION_NAME: 'tidings-list-tags',
          LAMBDA_TASK_ROOT: dir,
          _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'AKIDTEST',
          AWS_SECRET_ACCESS_KEY: 'secret',
          TABLE_NAME: table.tableName,
          AWS_ENDPOINT_URL_DYNAMODB: table.dynamo.endpoint,
        },
        encoding: 'utf8',
      });
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toMatchObject({ statusCode: 200 });
    } finally {
      await table.close();
    }
  });
});

describe('shared/tracing.ts', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  const middlewareOf = (client: SQSClient) => client.middlewareStack.identify().join(' ');

  it('leaves clients as they are when tracing is off', async () => {
    vi.resetModules();
    const { traced, tracingActive } = await import('../../shared/tracing.js');
    const client = new SQSClient({ region: 'eu-west-1' });
    expect(traced(client)).toBe(client);
    expect(middlewareOf(client)).not.toContain('XRaySDKInstrumentation');
    expect(tracingActive()).toBe(false);
  });

  it('captures each AWS SDK client with Powertools Tracer when the function runs with tracing', async () => {
    vi.stubEnv('TIDINGS_TRACING', 'active');
    // What Lambda sets: the tracer traces only inside it.
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs22.x');
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'tidings-test');
    vi.resetModules();
    const { traced, tracingActive } = await import('../../shared/tracing.js');
    expect(tracingActive()).toBe(true);
    const client = traced(new SQSClient({ region: 'eu-west-1' }));
    expect(middlewareOf(client)).toContain('XRaySDKInstrumentation');
  });
});
