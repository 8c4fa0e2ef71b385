import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { linkIn, mailTo, manualClock, pathOf, seedTopics } from '../helpers/subscriptions.js';

const clock = manualClock('2026-03-02T09:00:00.000Z');
let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime({ now: clock.now, alertIntervalMs: 0 });
  await seedTopics(rt);
  // The seeded changes reach the alert queue at once, as SQS would hand them over, before anyone follows.
  await rt.alerts();
}, 60_000);
afterAll(async () => {
  await rt?.dispose();
});

/** Signs up through the API with the instant cadence and opens the confirmation link. */
const instantReader = async (email: string, tags: string[]) => {
  const res = await rt.request('/api/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, tags, cadence: 'instant' }),
  });
  expect(res.status).toBe(202);
  const [confirmation] = await mailTo(rt, email);
  if (!confirmation) throw new Error('no confirmation email');
  const confirm = linkIn(confirmation, '/api/subscriptions/confirm');
  const confirmed = await rt.request(pathOf(confirm), {
    method: 'POST',
    headers: { accept: 'application/json' },
  });
  expect(confirmed.status).toBe(200);
};

const post = async (headline: string, tags: string[]) => {
  const res = await rt.write('POST', '/api/events', makeEventInput({ headline, tags }));
  expect(res.status).toBe(201);
  // The change reaches the alert queue at once, as SQS hands it over within seconds.
  await rt.alerts();
  return ((await res.json()) as { id: string }).id;
};

describe('instant alerts on the local runtime', () => {
  it('a change posted through the API reaches an instant reader’s outbox within a minute, coalesced after', async () => {
    await instantReader('instant@example.org', ['Syria']);
    await instantReader('other@example.org', ['Iran']);
    await post('Ceasefire announced in Syria', ['Syria']);
    await rt.alerts();
    // Gathering: nothing yet.
    expect(await mailTo(rt, 'instant@example.org')).toHaveLength(1);
    clock.advance(20);
    await rt.alerts();
    const [, alert] = await mailTo(rt, 'instant@example.org');
    expect(alert?.subject).toBe('Ceasefire announced in Syria');
    expect(alert?.headers['list-unsubscribe']).toMatch(
      /^<http:\/\/localhost:\d+\/api\/subscriptions\/unsubscribe\?token=/,
    );
    expect(alert?.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(alert?.text).toContain('Unsubscribe from Syria:');
    expect(await mailTo(rt, 'other@example.org')).toHaveLength(1);

    // Two more within the window: one alert at its end, with both.
    clock.advance(60);
    await post('Aid convoy crosses into Syria', ['Syria']);
    clock.advance(60);
    await post('Talks in Geneva on Syria', ['Syria', 'Iran']);
    await rt.alerts();
    clock.advance(5 * 60);
    await rt.alerts();
    expect(await mailTo(rt, 'instant@example.org')).toHaveLength(2);
    clock.advance(4 * 60);
    await rt.alerts();
    const mail = await mailTo(rt, 'instant@example.org');
    expect(mail).toHaveLength(3);
    expect(mail[2]?.subject).toBe('2 new events: Syria');
    expect(mail[2]?.text).toContain('Aid convoy crosses into Syria');
    expect(mail[2]?.text).toContain('Talks in Geneva on Syria');
    // The Iran reader got the Geneva talks, on their own first alert.
    clock.advance(60);
    await rt.alerts();
    expect((await mailTo(rt, 'other@example.org')).map((m) => m.subject)).toEqual([
      expect.stringContaining('Confirm'),
      'Talks in Geneva on Syria',
    ]);
  });

  it('the one-click unsubscribe of an alert stops the next one', async () => {
    await instantReader('leaving@example.org', ['Russia']);
    await post('Kremlin names an envoy', ['Russia']);
    clock.advance(20);
    await rt.alerts();
    const [, alert] = await mailTo(rt, 'leaving@example.org');
    const oneClick = /^<(.+)>$/.exec(alert?.headers['list-unsubscribe'] ?? '')?.[1] ?? '';
    const res = await rt.request(pathOf(oneClick), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBeLessThan(300);
    clock.advance(15 * 60);
    await post('Kremlin recalls the envoy', ['Russia']);
    clock.advance(20);
    await rt.alerts();
    expect(await mailTo(rt, 'leaving@example.org')).toHaveLength(2);
  });
});
