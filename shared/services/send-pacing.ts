import { type Mailer, MailerThrottledError, type OutgoingEmail } from '../adapters/mailer.js';

/** Spaces sends at no more than `rate` per second across everything that sends through one mailer. */
class RateLimiter {
  private next = 0;
  constructor(
    private readonly rate: number,
    private readonly now: () => number,
  ) {}

  async wait(): Promise<void> {
    if (!Number.isFinite(this.rate) || this.rate <= 0) return;
    const now = this.now();
    const at = Math.max(now, this.next);
    this.next = at + 1000 / this.rate;
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }
}

/**
 * One pace per mailer: digests and alerts sent by one process (the local runtime, a warm worker)
 * share it, so together they never exceed the rate the first of them set up.
 */
const limiters = new WeakMap<Mailer, RateLimiter>();
const limiterFor = (mailer: Mailer, rate: number): RateLimiter => {
  let limiter = limiters.get(mailer);
  if (!limiter) {
    limiter = new RateLimiter(rate, () => Date.now());
    limiters.set(mailer, limiter);
  }
  return limiter;
};

export interface PacedSendOptions {
  /** Messages per second at most through this mailer (0: no pacing). */
  rate: number;
  /** Attempts when the mail service throttles. */
  attempts: number;
  /** First back-off after a throttled send; doubles with each attempt, with jitter. */
  backoffMs: number;
  /** Told of each throttled attempt that is retried. */
  onThrottle?: () => void;
}

/** Sends one message at the shared pace, retrying throttled attempts with jittered exponential backoff. */
export const pacedSend = async (
  mailer: Mailer,
  email: OutgoingEmail,
  options: PacedSendOptions,
): Promise<{ messageId: string }> => {
  const limiter = limiterFor(mailer, options.rate);
  for (let attempt = 1; ; attempt++) {
    await limiter.wait();
    try {
      return await mailer.send(email);
    } catch (error) {
      if (!(error instanceof MailerThrottledError) || attempt >= options.attempts) throw error;
      options.onThrottle?.();
      const backoff = options.backoffMs * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, backoff / 2 + Math.random() * (backoff / 2)));
    }
  }
};
