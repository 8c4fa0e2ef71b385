import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCAL_TABLE } from '../../local/runtime.js';
import { createDocumentClient } from '../../shared/adapters/dynamodb.js';
import { apiKeyIdOf, hashApiKey } from '../../shared/domain/api-key.js';
import { eventKey } from '../../shared/keys.js';
import { logger } from '../../shared/logger.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tidings-attribution-'));
  // A `log` subscriber records every change message the topic sends, as SNS would deliver it.
  writeFileSync(
    join(dataDir, 'subscriptions.json'),
    JSON.stringify({ subscriptions: [{ protocol: 'log' }] }),
  );
  rt = await startTestRuntime({ dataDir });
});

afterAll(async () => {
  await rt?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

const ID = '2016/11/16/attribution-who-published-it';

const rawItem = async (id: string) => {
  const db = createDocumentClient({ endpoint: rt.dynamodbEndpoint });
  try {
    return (await db.send(new GetCommand({ TableName: LOCAL_TABLE, Key: eventKey(id) }))).Item;
  } finally {
    db.destroy();
  }
};

/** Every file under a folder, as text. */
const filesUnder = (dir: string): { path: string; text: string }[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { path, text: readFileSync(path, 'utf8') };
    });

describe('attribution: the event records which key published and changed it', () => {
  it('stores publishedBy and updatedBy on the item, and shows them nowhere public', async () => {
    const keyId = apiKeyIdOf(hashApiKey(rt.apiKey));
    const by = { keyId, keyName: 'local' };
    const posted = await rt.write('POST', '/api/events', makeEventInput({ id: ID, headline: 'Attribution' }));
    expect(posted.status).toBe(201);
    expect(await rawItem(ID)).toMatchObject({ publishedBy: by, updatedBy: by });

    const corrected = await rt.write(
      'PUT',
      `/api/events/${ID}`,
      makeEventInput({ id: ID, headline: 'Attribution', body: 'Corrected.' }),
    );
    expect(corrected.status).toBe(200);
    expect(await rawItem(ID)).toMatchObject({ publishedBy: by, updatedBy: by, revision: 2 });
    await rt.capture.idle();
    await rt.publish();

    const leaks = (text: string) =>
      [keyId, 'publishedBy', 'updatedBy', 'writeId'].filter((needle) => text.includes(needle));
    const answers = [
      await posted.text(),
      await corrected.text(),
      await (await rt.request(`/api/events/${ID}`)).text(),
      await (await rt.request('/api/events')).text(),
      await (await rt.request('/api/events?date=2016-11-16')).text(),
      await (await rt.request('/api/events?tag=russia')).text(),
    ];
    for (const text of answers) {
      expect(text).toContain('Attribution');
      expect(leaks(text)).toEqual([]);
    }
    const messages = readFileSync(join(dataDir, 'topic.log'), 'utf8');
    expect(messages).toContain(ID);
    expect(leaks(messages)).toEqual([]);
    const site = filesUnder(rt.siteDir);
    expect(site.some((f) => f.path.endsWith('feeds/all.json') && f.text.includes(ID))).toBe(true);
    expect(site.some((f) => f.path.endsWith(`news/${ID}.json`))).toBe(true);
    for (const file of site)
      expect({ path: file.path, leaks: leaks(file.text) }).toEqual({ path: file.path, leaks: [] });

    const deleted = await rt.write('DELETE', `/api/events/${ID}`);
    expect(deleted.status).toBe(200);
    expect(leaks(await deleted.text())).toEqual([]);
    expect(await rawItem(ID)).toMatchObject({ publishedBy: by, updatedBy: by, deleted: true });
  });

  it('names the key in the application log line of every write', async () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const level = logger.getLevelName();
    logger.setLogLevel('INFO');
    try {
      const id = '2016/11/16/attribution-logged';
      await rt.write('POST', '/api/events', makeEventInput({ id, headline: 'Attribution logged' }));
      await rt.write('POST', '/api/events/batch', {
        events: [makeEventInput({ headline: 'Attribution batch' })],
      });
      await rt.write(
        'PUT',
        `/api/events/${id}`,
        makeEventInput({ id, headline: 'Attribution logged', body: 'x' }),
      );
      await rt.write('DELETE', `/api/events/${id}`);
      // A refused write is logged too, with the key that tried it.
      await rt.write('PUT', `/api/events/${id}`, { headline: 7 });
      await rt.request('/api/events');
      // Webhooks share the stack: created or refused, each is logged with its key.
      await rt.write('POST', '/api/webhooks', { url: 'http://127.0.0.1:9/attribution-hook' });
      await rt.write('DELETE', '/api/webhooks/attribution-no-such-hook');
    } finally {
      logger.setLogLevel(level as 'SILENT');
      write.mockRestore();
    }
    const writes = lines
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.message === 'authorized request');
    expect(writes.map((w) => [w.route, w.status])).toEqual([
      ['POST /api/events', 201],
      ['POST /api/events/batch', 200],
      ['PUT /api/events/{id+}', 200],
      ['DELETE /api/events/{id+}', 200],
      ['PUT /api/events/{id+}', 400],
      ['POST /api/webhooks', expect.any(Number)],
      ['DELETE /api/webhooks/{id}', 404],
    ]);
    const keyId = apiKeyIdOf(hashApiKey(rt.apiKey));
    for (const entry of writes) expect(entry).toMatchObject({ keyName: 'local', keyId });
  });
});
