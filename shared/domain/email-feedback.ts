/**
 * SES bounce and complaint notifications, as a configuration set's SNS event destination publishes
 * them (`eventType`) or as identity notifications do (`notificationType`): which addresses must
 * get nothing more, and why.
 */
// A namespace import lets esbuild drop what is unused (the named `z` export keeps all of zod).
import * as z from 'zod';

export type FeedbackReason = 'bounce' | 'complaint';

export interface Feedback {
  reason: FeedbackReason;
  /** The addresses concerned, as SES wrote them (bare addresses). */
  recipients: string[];
  /** When SES saw it (the bounce or complaint timestamp, else the notification's). */
  at?: string;
}

// Loose objects: SES adds fields over time, and a record only needs these.
const recipients = z.array(z.looseObject({ emailAddress: z.string() }));
const notification = z.looseObject({
  eventType: z.string().optional(),
  notificationType: z.string().optional(),
  bounce: z
    .looseObject({
      bounceType: z.string(),
      bouncedRecipients: recipients,
      timestamp: z.string().optional(),
    })
    .optional(),
  complaint: z
    .looseObject({
      complainedRecipients: recipients,
      timestamp: z.string().optional(),
    })
    .optional(),
});

/** `Jane <jane@example.org>` or `jane@example.org` → `jane@example.org`. */
const bareAddress = (value: string): string => {
  const angle = /<([^<>]+)>\s*$/.exec(value);
  return (angle?.[1] ?? value).trim();
};

export type FeedbackParse =
  | { kind: 'suppress'; feedback: Feedback }
  /** Valid but nothing to do: a transient bounce, a delivery, an open. */
  | { kind: 'ignore'; why: string }
  | { kind: 'malformed'; why: string };

/**
 * A permanent bounce or any complaint suppresses its recipients. Transient and undetermined
 * bounces (a full mailbox, a greylisting server) do not: SES retried them already and the
 * address may work tomorrow.
 */
export const parseFeedback = (message: string): FeedbackParse => {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return { kind: 'malformed', why: 'not JSON' };
  }
  const parsed = notification.safeParse(json);
  if (!parsed.success) return { kind: 'malformed', why: 'not an SES notification' };
  const n = parsed.data;
  const type = n.eventType ?? n.notificationType;
  if (type === 'Bounce') {
    if (!n.bounce) return { kind: 'malformed', why: 'a Bounce without its bounce object' };
    if (n.bounce.bounceType !== 'Permanent') return { kind: 'ignore', why: `${n.bounce.bounceType} bounce` };
    return {
      kind: 'suppress',
      feedback: {
        reason: 'bounce',
        recipients: n.bounce.bouncedRecipients.map((r) => bareAddress(r.emailAddress)),
        ...(n.bounce.timestamp ? { at: n.bounce.timestamp } : {}),
      },
    };
  }
  if (type === 'Complaint') {
    if (!n.complaint) return { kind: 'malformed', why: 'a Complaint without its complaint object' };
    return {
      kind: 'suppress',
      feedback: {
        reason: 'complaint',
        recipients: n.complaint.complainedRecipients.map((r) => bareAddress(r.emailAddress)),
        ...(n.complaint.timestamp ? { at: n.complaint.timestamp } : {}),
      },
    };
  }
  return { kind: 'ignore', why: `${type ?? 'untyped'} notification` };
};
