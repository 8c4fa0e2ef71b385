import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { BUNDLE, FUNCTIONS_DIR } from '../infra/constructs/tidings-function.js';
import { ENV } from '../shared/config.js';
import { writeResult } from './results.js';

/** The ceiling for a function bundle, minified, in bytes. */
export const MAX_BUNDLE_BYTES = 600 * 1024;
/** A function's module import may take at most this much longer than the reference's. */
export const MAX_IMPORT_RATIO = 1.5;
/**
 * The issue's reference: a bundle holding only the DynamoDB document client, built the usual way
 * (the SDK's full default credential chain, about 340 KB).
 */
const REFERENCE = 'reference: DynamoDB document client only';
/** The same bundle with the functions' credentials shim: what the shim saves, for context. */
const REFERENCE_SHIMMED = 'reference with the credentials shim';
const RUNS = 9;
const NAME_WIDTH = 42;

const REFERENCE_SOURCE = `import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
export const handler = async () => DynamoDBDocumentClient.from(new DynamoDBClient({}));
`;

export interface BundleFigure {
  name: string;
  bytes: number;
  importMs: number;
  referenceImportMs: number;
}

/** Bundles one entry exactly as the CDK app does (shared options), returning its path and metafile. */
const bundle = async (
  source: { entry: string } | { contents: string },
  outdir: string,
  { credentialsShim = true } = {},
): Promise<{ file: string; metafile: Metafile }> => {
  const file = join(outdir, 'index.mjs');
  const result = await build({
    ...('entry' in source
      ? { entryPoints: [source.entry] }
      : // Resolved from functions/, so the reference uses the functions' own SDK packages.
        {
          stdin: {
            contents: source.contents,
            resolveDir: FUNCTIONS_DIR,
            sourcefile: 'reference.ts',
            loader: 'ts',
          },
        }),
    outfile: file,
    bundle: true,
    format: BUNDLE.format,
    platform: BUNDLE.platform,
    target: BUNDLE.target,
    minify: BUNDLE.minify,
    sourcemap: BUNDLE.sourcemap,
    sourcesContent: BUNDLE.sourcesContent,
    mainFields: [...BUNDLE.mainFields],
    banner: { js: BUNDLE.banner },
    alias: credentialsShim ? { ...BUNDLE.alias } : {},
    define: { ...BUNDLE.define },
    metafile: true,
    logLevel: 'silent',
  });
  return { file, metafile: result.metafile };
};

/** Settings a function may read at import time; values are placeholders (nothing is called). */
const importEnvironment = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  NODE_OPTIONS: '--enable-source-maps',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  ...Object.fromEntries(Object.values(ENV).map((name) => [name, placeholderFor(name)])),
});

const placeholderFor = (name: string): string => {
  if (name.endsWith('_URL')) return 'https://bench.example.org';
  if (name.endsWith('_ARN')) return 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench';
  if (/HOUR|WEEKDAY|RATE|SIZE/.test(name)) return '1';
  if (name === ENV.fromAddress) return 'news@example.org';
  if (name === ENV.dynamodbEndpoint) return '';
  return 'bench';
};

/** Milliseconds to import the module in a fresh Node process, as a cold start does. */
const importOnce = (file: string): number => {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: importEnvironment(),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`importing ${file} failed: ${run.stderr}`);
  return Number(run.stdout);
};

/** The fastest run: the one least disturbed by whatever else the machine is doing. */
const fastest = (values: number[]): number => Math.min(...values);

/** The ten largest inputs of a bundle, by bytes they contribute to the output. */
export const largestInputs = (metafile: Metafile, count = 10): { path: string; bytes: number }[] => {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
  return Object.entries(output?.inputs ?? {})
    .map(([path, { bytesInOutput }]) => ({ path, bytes: bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, count);
};

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export const runBundles = async (args: string[]): Promise<void> => {
  const explain = args.includes('--explain');
  const dir = mkdtempSync(join(tmpdir(), 'tidings-bundles-'));
  try {
    const names = readdirSync(FUNCTIONS_DIR)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3))
      .sort();
    const referenceDir = join(dir, 'reference');
    mkdirSync(referenceDir);
    const reference = (await bundle({ contents: REFERENCE_SOURCE }, referenceDir, { credentialsShim: false }))
      .file;
    const shimmedDir = join(dir, 'reference-shimmed');
    mkdirSync(shimmedDir);
    const shimmed = (await bundle({ contents: REFERENCE_SOURCE }, shimmedDir)).file;

    const built = new Map<string, { file: string; metafile: Metafile }>();
    for (const name of names) {
      const out = join(dir, name);
      mkdirSync(out);
      built.set(name, await bundle({ entry: join(FUNCTIONS_DIR, `${name}.ts`) }, out));
    }

    // Interleaved: each round imports the reference, then every function, so drift hits all alike.
    const times = new Map<string, number[]>([
      [REFERENCE, []],
      [REFERENCE_SHIMMED, []],
      ...names.map((n) => [n, []] as [string, number[]]),
    ]);
    importOnce(reference); // warms the file cache, not counted
    for (let round = 0; round < RUNS; round++) {
      times.get(REFERENCE)?.push(importOnce(reference));
      times.get(REFERENCE_SHIMMED)?.push(importOnce(shimmed));
      for (const name of names) {
        const file = built.get(name)?.file;
        if (file) times.get(name)?.push(importOnce(file));
      }
    }
    const referenceImportMs = fastest(times.get(REFERENCE) ?? []);
    const referenceBytes = statSync(reference).size;
    const figures: BundleFigure[] = names.map((name) => ({
      name,
      bytes: statSync(built.get(name)?.file ?? '').size,
      importMs: Number(fastest(times.get(name) ?? []).toFixed(1)),
      referenceImportMs: Number(referenceImportMs.toFixed(1)),
    }));

    console.log(
      `Function bundles (ESM, minified, SDK bundled; import = fastest of ${RUNS} fresh processes, node ${process.version}, source maps on)`,
    );
    console.log(
      `  ${'function'.padEnd(NAME_WIDTH)} ${'size'.padStart(10)} ${'import'.padStart(9)}  ×ref  within`,
    );
    const shimmedMs = fastest(times.get(REFERENCE_SHIMMED) ?? []);
    console.log(
      `  ${REFERENCE.padEnd(NAME_WIDTH)} ${kb(referenceBytes).padStart(10)} ${`${referenceImportMs.toFixed(1)} ms`.padStart(9)}  1.00`,
    );
    console.log(
      `  ${REFERENCE_SHIMMED.padEnd(NAME_WIDTH)} ${kb(statSync(shimmed).size).padStart(10)} ${`${shimmedMs.toFixed(1)} ms`.padStart(9)}  ${(shimmedMs / referenceImportMs).toFixed(2)}  (for comparison: every function is built with the shim)`,
    );
    let failures = 0;
    for (const f of figures) {
      const ratio = f.importMs / referenceImportMs;
      const ok = f.bytes <= MAX_BUNDLE_BYTES && ratio <= MAX_IMPORT_RATIO;
      if (!ok) failures += 1;
      const why = [
        f.bytes > MAX_BUNDLE_BYTES ? `over ${kb(MAX_BUNDLE_BYTES)}` : '',
        ratio > MAX_IMPORT_RATIO ? `import over ${MAX_IMPORT_RATIO}× ref` : '',
      ].filter(Boolean);
      console.log(
        `  ${f.name.padEnd(NAME_WIDTH)} ${kb(f.bytes).padStart(10)} ${`${f.importMs.toFixed(1)} ms`.padStart(9)}  ${ratio.toFixed(2)}  ${ok ? 'yes' : `NO (${why.join(', ')})`}`,
      );
      if (explain || f.bytes > MAX_BUNDLE_BYTES) {
        const metafile = built.get(f.name)?.metafile;
        if (metafile) {
          for (const input of largestInputs(metafile)) {
            console.log(`      ${kb(input.bytes).padStart(10)}  ${relative(process.cwd(), input.path)}`);
          }
        }
      }
    }
    console.log(
      `${figures.length - failures} of ${figures.length} within ${kb(MAX_BUNDLE_BYTES)} and ${MAX_IMPORT_RATIO}× the reference's import time`,
    );
    console.log(`wrote ${writeResult('bundles', figures)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
