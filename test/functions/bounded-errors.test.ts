import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISSUE_PATH_MAX, MAX_ISSUES, ValidationError } from '../../shared/errors.js';
import { BATCH_ISSUES_BUDGET, BATCH_MESSAGE_PATH_MAX } from '../../shared/services/events.js';
import { makeEventInput } from '../helpers/builders.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';

let rt: TestRuntime;

beforeAll(async () => {
  rt = await startTestRuntime();
});

afterAll(async () => {
  await rt?.dispose();
});

const LIMIT = 64 * 1024;

interface ErrorBody {
  code: string;
  message: string;
  issues?: { path: string; rule: string }[];
  moreIssues?: number;
}

/** Sends a write and reads the answer as bytes, so its size is what went over the wire. */
const send = async (method: string, path: string, body: unknown) => {
  const res = await rt.write(method, path, body);
  const text = await res.text();
  return { status: res.status, text, bytes: Buffer.byteLength(text) };
};

/** `count` unknown fields named by `width` characters each. */
const unknownFields = (count: number, width: number, tag = 'x'): Record<string, number> =>
  Object.fromEntries(
    Array.from({ length: count }, (_, i) => [`${tag}${String(i).padStart(4, '0')}`.padEnd(width, 'z'), i]),
  );

describe('validation errors are bounded', () => {
  it('lists at most 20 issues and says how many more', () => {
    const issues = Array.from({ length: 57 }, (_, i) => ({
      path: `field${i}`,
      rule: 'is not a known field',
    }));
    const error = new ValidationError(issues);
    expect(error.issues).toHaveLength(MAX_ISSUES);
    expect(error.moreIssues).toBe(37);
    expect(error.message).toContain('field19: is not a known field; and 37 more issues');
    expect(error.message).not.toContain('field20');
  });

  it('one event with a thousand unknown fields: 20 issues, the count of the rest, a small answer', async () => {
    const { status, text, bytes } = await send('POST', '/api/events', {
      ...makeEventInput(),
      ...unknownFields(1000, 40),
    });
    expect(status).toBe(400);
    const { error } = JSON.parse(text) as { error: ErrorBody };
    expect(error.issues).toHaveLength(20);
    expect(error.moreIssues).toBe(980);
    expect(error.message).toContain('and 980 more issues');
    expect(bytes).toBeLessThan(16 * 1024);
  });

  it('does not echo a 10,000-character tag or field name whole', async () => {
    const long = 'y'.repeat(10_000);
    for (const body of [
      makeEventInput({ tags: [long] }),
      { ...makeEventInput(), [long]: 1 },
      makeEventInput({ sources: [{ name: 'n', url: `${long}:x` }] }),
    ]) {
      const { status, text, bytes } = await send('POST', '/api/events', body);
      expect(status).toBe(400);
      expect(text).not.toContain('y'.repeat(ISSUE_PATH_MAX + 1));
      expect(bytes).toBeLessThan(4 * 1024);
    }
  });

  it('a batch of 100 items with many issues each stays under 64 KB, 20 issues per item at most', async () => {
    // Each item: 25 unknown fields with long names, a bad date, a blank tag: 27 issues, ~2.3 KB.
    const events = Array.from({ length: 100 }, (_, i) => ({
      ...makeEventInput({ date: '2016-02-30', tags: ['Ok', ''] }),
      ...unknownFields(25, 80, `i${i}f`),
    }));
    const { status, text, bytes } = await send('POST', '/api/events/batch', { events });
    expect(status).toBe(200);
    expect(bytes).toBeLessThan(LIMIT);
    const body = JSON.parse(text) as { summary: { rejected: number }; results: { error: ErrorBody }[] };
    expect(body.summary.rejected).toBe(100);
    for (const { error } of body.results) {
      expect(error.issues?.length ?? 0).toBeLessThanOrEqual(20);
      expect((error.issues?.length ?? 0) + (error.moreIssues ?? 0)).toBe(27);
      expect(error.message).toMatch(/^events\[\d+\]\.\S+: .+ \(and 26 more issues\)$/);
    }
    // The first items list their 20; the budget runs out before the last ones.
    expect(body.results[0]?.error.issues).toHaveLength(20);
    expect(body.results[0]?.error.moreIssues).toBe(7);
  });

  it('a batch of 100 items with hostile non-ASCII field names stays under 64 KB in bytes', async () => {
    // Lone surrogates and control characters are escaped to six bytes each in JSON, `€` is three
    // bytes of UTF-8: a budget counted in string length undercounts each of them.
    const alphabets = ['\ud800', '\u0001', '€', '\udfff\u001f€'];
    // Otherwise valid events: the first issue, which each item's message repeats, is a hostile name.
    const events = Array.from({ length: 100 }, (_, i) => ({
      ...makeEventInput({ headline: `Hostile ${i}` }),
      ...Object.fromEntries(
        Array.from({ length: 3 }, (_, k) => {
          const chars = alphabets[(i + k) % alphabets.length] ?? '€';
          return [`${i}.${k}`.padEnd(96, chars).slice(0, 96), k];
        }),
      ),
    }));
    const { status, bytes, text } = await send('POST', '/api/events/batch', { events });
    expect(status).toBe(200);
    expect(bytes).toBeLessThan(LIMIT);
    const body = JSON.parse(text) as { summary: { rejected: number }; results: { error: ErrorBody }[] };
    expect(body.summary.rejected).toBe(100);
    for (const { error } of body.results) {
      // The message repeats the first issue, its path cut short: the full path is in `issues`.
      const [path] = error.message.split(': ');
      expect([...(path ?? '')].length).toBeLessThanOrEqual(BATCH_MESSAGE_PATH_MAX);
    }
  });

  it('a batch of 100 items with many `€` field names lists issues within the budget counted in bytes', async () => {
    // Three bytes a character as sent, one in a string's length: the issues' budget is in bytes.
    const events = Array.from({ length: 100 }, (_, i) => ({
      ...makeEventInput({ headline: `Euro ${i}` }),
      ...Object.fromEntries(Array.from({ length: 6 }, (_, k) => [`${i}.${k}`.padEnd(96, '€'), k])),
    }));
    const { status, bytes, text } = await send('POST', '/api/events/batch', { events });
    expect(status).toBe(200);
    expect(bytes).toBeLessThan(LIMIT);
    const body = JSON.parse(text) as { results: { error: ErrorBody }[] };
    let listed = 0;
    for (const { error } of body.results) {
      expect((error.issues?.length ?? 0) + (error.moreIssues ?? 0)).toBe(6);
      for (const issue of error.issues ?? []) listed += Buffer.byteLength(JSON.stringify(issue)) + 1;
    }
    expect(listed).toBeGreaterThan(BATCH_ISSUES_BUDGET / 2);
    expect(listed).toBeLessThanOrEqual(BATCH_ISSUES_BUDGET);
  });

  it('a batch of 100 items with huge field names stays under 64 KB', async () => {
    const events = Array.from({ length: 100 }, (_, i) => ({
      ...unknownFields(1, 2_400, `item${i}`),
    }));
    const { status, bytes, text } = await send('POST', '/api/events/batch', { events });
    expect(status).toBe(200);
    expect(bytes).toBeLessThan(LIMIT);
    expect(text).not.toContain('z'.repeat(ISSUE_PATH_MAX));
  });
});
