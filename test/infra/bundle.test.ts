import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, functionEntry } from '../../infra/constructs/tidings-function.js';
import { startTestTable, type TestTable } from '../helpers/dynamo.js';

/** A function bundled exactly as deployed (shared options, SDK inside, the Lambda credentials shim). */
const bundleOf = async (name: string, outdir: string): Promise<string> => {
  const outfile = join(outdir, name, 'index.mjs');
  await build({
    entryPoints: [functionEntry(name)],
    outfile,
    bundle: true,
    format: BUNDLE.format,
    platform: BUNDLE.platform,
    target: BUNDLE.target,
    minify: BUNDLE.minify,
    sourcemap: BUNDLE.sourcemap,
    sourcesContent: BUNDLE.sourcesContent,
    mainFields: [...BUNDLE.mainFields],
    banner: { js: BUNDLE.banner },
    alias: { ...BUNDLE.alias },
    define: { ...BUNDLE.define },
    logLevel: 'silent',
  });
  return outfile;
};

/** Invokes the bundle's handler in a fresh Node process, as a Lambda cold start would. */
const invoke = (file: string, event: unknown, env: NodeJS.ProcessEnv) => {
  const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(file).href)});
const result = await handler(${JSON.stringify(event)}, { awsRequestId: 'test', getRemainingTimeInMillis: () => 10000 });
process.stdout.write(JSON.stringify(result));`;
  const run = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      // Lambda runs Node 22; this machine may run 20, where the SDK warns on stderr.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
};

const listTags = {
  version: '2.0',
  routeKey: 'GET /api/tags',
  rawPath: '/api/tags',
  rawQueryString: '',
  headers: {},
  requestContext: {
    http: { method: 'GET', path: '/api/tags' },
    requestId: 'test',
    routeKey: 'GET /api/tags',
  },
  isBase64Encoded: false,
};

describe('a deployed bundle', () => {
  let table: TestTable;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tidings-bundle-'));
    [table, file] = await Promise.all([startTestTable(), bundleOf('list-tags', dir)]);
    // dynalite reports the table ACTIVE a moment after creating it.
    for (let i = 0; i < 500; i++) {
      const { Table } = await table.db.send(new DescribeTableCommand({ TableName: table.tableName }));
      if (Table?.TableStatus === 'ACTIVE') break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
  afterAll(async () => {
    await table?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds only the environment link of the SDK’s credential chain', () => {
    const code = readFileSync(file, 'utf8');
    expect(code.includes('AWS_ACCESS_KEY_ID')).toBe(true);
    // Strings of the default chain's other links and of the STS and SSO clients they bring.
    expect(code.includes('AssumeRoleWithWebIdentity')).toBe(false);
    expect(code.includes('sso_start_url')).toBe(false);
    expect(code.includes('defaultProvider::fromIni')).toBe(false);
  });

  it('answers a request against DynamoDB with the credentials Lambda puts in the environment', () => {
    const { status, stdout, stderr } = invoke(file, listTags, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDTEST',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
      TABLE_NAME: table.tableName,
      // The SDK's own endpoint setting, so the client is built as in AWS: no endpoint or
      // credentials of ours (DYNAMODB_ENDPOINT would bring fixed local credentials).
      AWS_ENDPOINT_URL_DYNAMODB: table.dynamo.endpoint,
    });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const result = JSON.parse(stdout) as { statusCode: number; body: string };
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ tags: [] });
  });

  it('does not look anywhere else for credentials when the environment has none', () => {
    writeFileSync(
      join(dir, 'credentials'),
      '[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = secret\n',
    );
    const { stdout } = invoke(file, listTags, {
      AWS_REGION: 'eu-west-1',
      TABLE_NAME: table.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: table.dynamo.endpoint,
      // Where the SDK's full chain would look next: a profile file. The bundle must not.
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    });
    const result = JSON.parse(stdout) as { statusCode: number };
    expect(result.statusCode).toBe(500);
  });
});
