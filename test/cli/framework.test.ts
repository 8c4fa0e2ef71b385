import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tidings, tidingsProcess } from './helpers.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tidings-cli-framework-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const COMMANDS = [
  ['keys', 'create'],
  ['keys', 'list'],
  ['keys', 'revoke'],
  ['publish'],
  ['digest'],
  ['import'],
  ['migrate'],
  ['counts'],
  ['status'],
  ['redrive'],
  ['subscribers', 'count'],
  ['subscribers', 'export'],
  ['subscribers', 'forget'],
  ['webhooks', 'list'],
  ['webhooks', 'delete'],
  ['links', 'rotate'],
];

describe('tidings, the command line', () => {
  it('has --help on every command and subcommand, exit code 0, opening nothing', async () => {
    for (const words of COMMANDS) {
      const out = await tidings(join(dataDir, 'never-opened'), ...words, '--help');
      expect(out.code, words.join(' ')).toBe(0);
      expect(out.stdout, words.join(' ')).toMatch(new RegExp(`Usage: tidings ${words.join(' ')}`));
    }
    for (const group of ['keys', 'subscribers', 'webhooks', 'links']) {
      const out = await tidings(dataDir, group, '--help');
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(new RegExp(`Usage: tidings ${group} `));
    }
    const top = await tidings(dataDir, '--help');
    expect(top.code).toBe(0);
    for (const words of COMMANDS) expect(top.stdout).toContain(`  ${words.join(' ')}`);
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dataDir, 'never-opened'))).toBe(false);
  });

  it('answers a usage mistake with exit code 2 and the usage', async () => {
    const unknown = await tidings(dataDir, 'frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^tidings: unknown command "frobnicate"/);
    const bare = await tidings(dataDir, 'keys');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/keys needs a subcommand/);
    const flag = await tidings(dataDir, 'status', '--bogus');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--bogus'[\s\S]*Usage: tidings status/);
    const extra = await tidings(dataDir, 'keys', 'revoke');
    expect(extra.code).toBe(2);
    expect(extra.stderr).toMatch(/NAME\|ID is required/);
    const cadence = await tidings(dataDir, 'digest', '--cadence', 'monthly');
    expect(cadence.code).toBe(2);
    expect(cadence.stderr).toMatch(/--cadence must be daily or weekly \(got monthly\)/);
    const both = await tidings(dataDir, 'publish', '--full', '--cancel');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--full, --cancel and --resume go alone/);
    // Locally a full publish runs while the command waits: there is no job to cancel or resume.
    const cancel = await tidings(join(dataDir, 'never-opened'), 'publish', '--cancel');
    expect(cancel.code).toBe(2);
    expect(cancel.stderr).toMatch(/a local full publish runs while the command waits: stop it with Ctrl-C/);
    const region = await tidings(dataDir, 'status', '--region', 'eu-west-1');
    expect(region.code).toBe(2);
    expect(region.stderr).toMatch(/--region and --profile go with --stack NAME/);
  });

  it('fails in one line, with the stack trace only under --verbose', async () => {
    const plain = await tidings(dataDir, 'webhooks', 'delete', 'nope');
    expect(plain).toEqual({ code: 1, stdout: '', stderr: 'tidings: no webhook with id "nope"\n' });
    const verbose = await tidings(dataDir, 'webhooks', 'delete', 'nope', '--verbose');
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/^tidings: no webhook with id "nope"\nCliError: [^\n]+\n\s+at /);
  }, 60_000);

  it('with --stack asks the AWS backend (and its CliError is one line)', async () => {
    // No region anywhere, so the SDK refuses before any request leaves this machine.
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      const out = await tidings(dataDir, '--stack', 'prod', 'status');
      expect(out.code).toBe(1);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
      expect(out.stderr).toMatch(/^tidings: no AWS region: pass --region or set AWS_REGION$/m);
    } finally {
      for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
    }
  });

  it('--json prints the result as JSON and nothing else, from the real process', {
    timeout: 120_000,
  }, async () => {
    const out = await tidingsProcess({ TIDINGS_DATA_DIR: dataDir }, 'status', '--json');
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    const report = JSON.parse(out.stdout);
    expect(report).toMatchObject({
      target: { kind: 'local', dataDir },
      counts: { events: 0, tags: 0, subscribers: 0 },
      changeLag: { pending: 0 },
      parkedChanges: 0,
    });
    const usage = await tidingsProcess({ TIDINGS_DATA_DIR: dataDir }, 'keys', 'create');
    expect(usage.code).toBe(2);
  });
});
