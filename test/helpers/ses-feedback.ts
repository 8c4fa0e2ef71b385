import type { SNSEvent } from 'aws-lambda';

// The shapes SES publishes through a configuration set's SNS event destination (eventType) and
// through identity notifications (notificationType), as its developer guide shows them.
export const sesMail = {
  timestamp: '2026-03-01T10:00:00.000Z',
  source: 'Tidings <digest@news.example.org>',
  sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/news.example.org',
  sendingAccountId: '123456789012',
  messageId: '0102018e-example-000000',
  destination: ['reader@example.org'],
  headersTruncated: false,
  tags: { 'ses:configuration-set': ['tidings'] },
};

/** An SES Bounce event record. */
export const bounceEvent = (bounceType = 'Permanent', recipients = ['reader@example.org']) => ({
  eventType: 'Bounce',
  bounce: {
    bounceType,
    bounceSubType: 'General',
    bouncedRecipients: recipients.map((emailAddress) => ({
      emailAddress,
      action: 'failed',
      status: '5.1.1',
      diagnosticCode: 'smtp; 550 5.1.1 user unknown',
    })),
    timestamp: '2026-03-01T10:00:01.250Z',
    feedbackId: '0102018e-feedback-000000',
    reportingMTA: 'dsn; a1-2.smtp-out.eu-west-1.amazonses.com',
  },
  mail: sesMail,
});

/** An SES Complaint event record. */
export const complaintEvent = (recipients = ['reader@example.org']) => ({
  eventType: 'Complaint',
  complaint: {
    feedbackId: '0102018e-complaint-000000',
    complaintSubType: null,
    complainedRecipients: recipients.map((emailAddress) => ({ emailAddress })),
    timestamp: '2026-03-01T11:00:00.000Z',
    userAgent: 'Mozilla/5.0',
    complaintFeedbackType: 'abuse',
    arrivalDate: '2026-03-01T10:59:00.000Z',
  },
  mail: sesMail,
});

/** An SNS delivery to Lambda of one SES notification. */
export const snsEventOf = (...notifications: unknown[]): SNSEvent => ({
  Records: notifications.map((notification, i) => ({
    EventSource: 'aws:sns',
    EventVersion: '1.0',
    EventSubscriptionArn: 'arn:aws:sns:eu-west-1:123456789012:tidings-email-feedback:1f2e',
    Sns: {
      Type: 'Notification',
      MessageId: `00000000-0000-0000-0000-00000000000${i}`,
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:tidings-email-feedback',
      Subject: null as unknown as string,
      Message: typeof notification === 'string' ? notification : JSON.stringify(notification),
      Timestamp: '2026-03-01T10:00:02.000Z',
      SignatureVersion: '1',
      Signature: 'EXAMPLE',
      SigningCertUrl: 'https://sns.eu-west-1.amazonaws.com/cert.pem',
      UnsubscribeUrl: 'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe',
      MessageAttributes: {},
    },
  })),
});
