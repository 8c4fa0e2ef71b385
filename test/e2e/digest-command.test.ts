import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { linkKeysOf } from '../../shared/adapters/token-secret.js';
import { subscriberIdOf } from '../../shared/domain/tokens.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime } from '../helpers/runtime.js';
import { makeSubscriber, putSubscriber } from '../helpers/subscribers.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const dataDir = mkdtempSync(join(tmpdir(), 'tidings-digest-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** `npm run digest` as a person runs it: no server up, so it opens the data folder itself. */
const digestCommand = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'local/digest.ts', ...args], {
    cwd: ROOT,
    // A port nothing listens on: the command finds no server and runs the digests in-process.
    env: {
      ...process.env,
      TIDINGS_DATA_DIR: dataDir,
      PORT: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    timeout: 120_000,
  });

describe('npm run digest', () => {
  it('sends the due digests to the outbox, then nothing on a second run', async () => {
    const rt = await startTestRuntime({ dataDir });
    try {
      const email = 'cli.reader@example.org';
      const confirmedAt = new Date(Date.now() - 60 * 60 * 1000).toISOString();
      const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
      await putSubscriber(
        db,
        LOCAL_TABLE,
        makeSubscriber(1, {
          id: subscriberIdOf(linkKeysOf(rt.tokenSecret), email),
          email,
          tags: [{ slug: 'syria', name: 'Syria' }],
          confirmedAt,
          cursor: confirmedAt,
        }),
      );
      db.destroy();
      const res = await rt.write(
        'POST',
        '/api/events',
        makeEventInput({ headline: 'Aid reaches Aleppo', tags: ['Syria'] }),
      );
      expect(res.status).toBe(201);
      await rt.capture.idle();
    } finally {
      await rt.stop();
    }

    const first = await digestCommand('--now');
    expect(first.stdout).toMatch(/daily digests in [\d.]+ s: 1 sent, 0 with nothing new/);
    const outbox = join(dataDir, 'outbox');
    const files = readdirSync(outbox).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(1);
    const message = readFileSync(join(outbox, files[0] as string), 'utf8');
    expect(message).toMatch(/^To: cli\.reader@example\.org\r$/m);
    expect(message).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);

    const second = await digestCommand('--now');
    expect(second.stdout).toMatch(/: 0 sent, /);
    expect(readdirSync(outbox).filter((f) => f.endsWith('.eml'))).toHaveLength(1);
  }, 240_000);

  it('refuses an unknown cadence and says how to use it', async () => {
    await expect(digestCommand('--cadence', 'monthly')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--cadence must be daily or weekly (got monthly)'),
    });
  });
});
