import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const RESULTS_DIR = resolve(import.meta.dirname, 'results');

/** Writes a benchmark's measured figures to bench/results/<name>.json and returns the path. */
export const writeResult = (name: string, figures: unknown): string => {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(figures, null, 2)}\n`);
  return path;
};
