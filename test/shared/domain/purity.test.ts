import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const DOMAIN = resolve(import.meta.dirname, '../../../shared/domain');
const files = readdirSync(DOMAIN).filter((f) => f.endsWith('.ts'));

// The domain takes time, ids and settings as arguments and talks to no outside system.
const FORBIDDEN: [RegExp, string][] = [
  [/from ['"]@aws-sdk\//, 'the AWS SDK'],
  [/from ['"]aws-lambda['"]/, 'aws-lambda types'],
  [/from ['"]feed['"]/, 'the feed package'],
  [/from ['"]\.\.\/(adapters|render|services)\//, 'adapters, render or services'],
  [/process\.env/, 'process.env'],
  [/Date\.now\(|new Date\(\)/, 'the wall clock'],
  [/Math\.random|randomUUID|randomBytes/, 'random ids'],
];

describe('shared/domain is pure', () => {
  it('has files to check', () => {
    expect(files.length).toBeGreaterThan(2);
  });

  it.each(files)('%s uses no I/O, clock, randomness or settings', (file) => {
    const source = readFileSync(join(DOMAIN, file), 'utf8');
    const found = FORBIDDEN.filter(([pattern]) => pattern.test(source)).map(([, what]) => what);
    expect(found).toEqual([]);
  });
});
