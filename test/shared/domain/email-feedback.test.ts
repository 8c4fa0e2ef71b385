import { describe, expect, it } from 'vitest';
import { parseFeedback } from '../../../shared/domain/email-feedback.js';
import { bounceEvent, complaintEvent, sesMail as mail } from '../../helpers/ses-feedback.js';

describe('parseFeedback', () => {
  it('suppresses every recipient of a permanent bounce', () => {
    expect(
      parseFeedback(JSON.stringify(bounceEvent('Permanent', ['a@example.org', 'b@example.org']))),
    ).toEqual({
      kind: 'suppress',
      feedback: {
        reason: 'bounce',
        recipients: ['a@example.org', 'b@example.org'],
        at: '2026-03-01T10:00:01.250Z',
      },
    });
  });

  it('suppresses the recipients of a complaint', () => {
    expect(parseFeedback(JSON.stringify(complaintEvent()))).toEqual({
      kind: 'suppress',
      feedback: { reason: 'complaint', recipients: ['reader@example.org'], at: '2026-03-01T11:00:00.000Z' },
    });
  });

  it('reads identity notifications (notificationType) and addresses with a display name alike', () => {
    const { eventType: _, ...rest } = bounceEvent('Permanent', ['Jane Reader <jane@example.org>']);
    const parsed = parseFeedback(JSON.stringify({ notificationType: 'Bounce', ...rest }));
    expect(parsed).toMatchObject({ kind: 'suppress', feedback: { recipients: ['jane@example.org'] } });
  });

  it('ignores transient and undetermined bounces and other event types', () => {
    expect(parseFeedback(JSON.stringify(bounceEvent('Transient')))).toEqual({
      kind: 'ignore',
      why: 'Transient bounce',
    });
    expect(parseFeedback(JSON.stringify(bounceEvent('Undetermined'))).kind).toBe('ignore');
    expect(parseFeedback(JSON.stringify({ eventType: 'Delivery', delivery: {}, mail })).kind).toBe('ignore');
  });

  it('calls what it cannot read malformed', () => {
    expect(parseFeedback('not json').kind).toBe('malformed');
    expect(parseFeedback(JSON.stringify({ eventType: 'Bounce', mail })).kind).toBe('malformed');
    expect(
      parseFeedback(JSON.stringify({ eventType: 'Bounce', bounce: { bounceType: 'Permanent' } })).kind,
    ).toBe('malformed');
    expect(parseFeedback('[]').kind).toBe('malformed');
  });
});
