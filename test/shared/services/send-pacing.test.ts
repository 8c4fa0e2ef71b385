import { describe, expect, it } from 'vitest';
import { type Mailer, MailerThrottledError } from '../../../shared/adapters/mailer.js';
import { pacedSend } from '../../../shared/services/send-pacing.js';

const email = { to: 'a@example.org', from: 'news@example.org', subject: 's', text: 't', html: 'h' };

describe('one pace per mailer, shared by digests and alerts', () => {
  it('spaces the sends of two callers through one mailer together, not each on its own', async () => {
    const at: number[] = [];
    const mailer: Mailer = {
      async send() {
        at.push(performance.now());
        return { messageId: String(at.length) };
      },
    };
    const options = { rate: 20, attempts: 1, backoffMs: 1 };
    const started = performance.now();
    // A digest worker and an alert worker in one process, three messages each, at once.
    await Promise.all([
      ...Array.from({ length: 3 }, () => pacedSend(mailer, email, options)),
      ...Array.from({ length: 3 }, () => pacedSend(mailer, email, { ...options, rate: 20 })),
    ]);
    // Six sends at 20 a second: the last no sooner than 5 × 50 ms after the first.
    expect(at).toHaveLength(6);
    expect((at[5] as number) - started).toBeGreaterThanOrEqual(245);
  });

  it('retries a throttled send with backoff, then gives up after its attempts', async () => {
    let calls = 0;
    let throttled = 0;
    const mailer: Mailer = {
      async send() {
        calls++;
        if (calls < 3) throw new MailerThrottledError();
        return { messageId: 'ok' };
      },
    };
    await expect(
      pacedSend(mailer, email, { rate: 0, attempts: 5, backoffMs: 1, onThrottle: () => throttled++ }),
    ).resolves.toEqual({ messageId: 'ok' });
    expect(throttled).toBe(2);
    const always: Mailer = {
      async send() {
        throw new MailerThrottledError();
      },
    };
    await expect(pacedSend(always, email, { rate: 0, attempts: 2, backoffMs: 1 })).rejects.toThrow(
      MailerThrottledError,
    );
  });
});
