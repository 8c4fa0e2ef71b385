import { readdirSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS_DIR, functionEntry } from '../../infra/constructs/tidings-function.js';
import { ENV } from '../../shared/config.js';
import { synthTidings } from '../helpers/synth.js';

const { template } = synthTidings();

/** Every Tidings function in the template: its file name and the environment the stack gives it. */
const deployed = Object.values(
  template.findResources('AWS::Lambda::Function') as Record<
    string,
    { Properties: { Description?: unknown; Environment?: { Variables: Record<string, unknown> } } }
  >,
)
  .filter(
    (fn) => typeof fn.Properties.Description === 'string' && fn.Properties.Description.startsWith('Tidings '),
  )
  .map((fn) => ({
    name: (fn.Properties.Description as string).replace('Tidings ', ''),
    environment: Object.keys(fn.Properties.Environment?.Variables ?? {}),
  }));

const ENV_NAMES = ENV as Record<string, string>;
/** Set on every function for the runtime and the logger, read by neither the code nor its modules. */
const PLATFORM = ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME'];
/** Functions that need no setting: what they answer is built from the code alone. */
const READS_NOTHING = ['get-openapi'];

/**
 * What a function's code reads, from its tree-shaken bundle (packages left out): code the
 * function cannot reach is gone, so `requireEnv(ENV.x)` left in it is required and any other
 * `ENV.x` is read if set. `siteConfigFromEnv`, when used, is bundled with its own reads.
 */
const readsOf = async (name: string): Promise<{ required: Set<string>; optional: Set<string> }> => {
  const result = await build({
    entryPoints: [functionEntry(name)],
    bundle: true,
    write: false,
    outfile: '/tmp/unused.mjs',
    platform: 'node',
    format: 'esm',
    packages: 'external',
    treeShaking: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.text ?? '';
  const setting = (key: string | undefined) => {
    const found = key ? ENV_NAMES[key] : undefined;
    if (!found) throw new Error(`ENV.${key} is not a setting`);
    return found;
  };
  // esbuild may rename ENV (ENV2) where names collide; property names stay.
  const required = new Set([...code.matchAll(/requireEnv\(\s*ENV\d*\.(\w+)/g)].map((m) => setting(m[1])));
  const optional = new Set(
    [...code.matchAll(/\bENV\d*\.(\w+)/g)].map((m) => setting(m[1])).filter((s) => !required.has(s)),
  );
  return { required, optional };
};

describe('function entries', () => {
  it('are exactly the files in functions/, each deployed once', () => {
    const files = readdirSync(FUNCTIONS_DIR)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3))
      .sort();
    expect(deployed.map((f) => f.name).sort()).toEqual(files);
  });

  it.each(deployed.map((f) => f.name))('functions/%s.ts exports handler', (name) => {
    expect(readFileSync(functionEntry(name), 'utf8')).toMatch(/^export const handler = /m);
  });
});

describe('each function’s environment', () => {
  const reads = new Map<string, { required: Set<string>; optional: Set<string> }>();
  beforeAll(async () => {
    for (const { name } of deployed) reads.set(name, await readsOf(name));
  });

  it.each(deployed)(
    '$name gets every setting it requires, and only settings it reads',
    ({ name, environment }) => {
      const { required, optional } = reads.get(name) ?? { required: new Set(), optional: new Set() };
      if (READS_NOTHING.includes(name)) expect([...required, ...optional], name).toEqual([]);
      else expect(required.size, `${name} reads nothing`).toBeGreaterThan(0);
      for (const setting of required) expect(environment, `${name} requires ${setting}`).toContain(setting);
      for (const setting of environment) {
        if (PLATFORM.includes(setting)) continue;
        expect([...required, ...optional], `${name} is given ${setting} but never reads it`).toContain(
          setting,
        );
      }
    },
  );
});
