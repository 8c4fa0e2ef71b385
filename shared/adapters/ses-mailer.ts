import { SESv2Client, SendEmailCommand, type SendEmailCommandOutput } from '@aws-sdk/client-sesv2';
import { traced } from '../tracing.js';
import { type Mailer, MailerThrottledError } from './mailer.js';
import { composeMessage } from './mime.js';

/** The one call the mailer makes; an `SESv2Client` fits, and so does a test's fake. */
export interface SesSendClient {
  send(command: SendEmailCommand): Promise<SendEmailCommandOutput>;
}

export interface SesMailerOptions {
  /** Every message is sent with it, so SES reports its bounces and complaints. */
  configurationSet: string;
}

/**
 * One attempt per send: the digest worker paces its sends and retries throttled ones itself, and
 * an SDK retry after a timeout could deliver a message that SES had in fact accepted a second time.
 */
export const createSesClient = (): SESv2Client => traced(new SESv2Client({ maxAttempts: 1 }));

const THROTTLE_NAMES = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling']);

/**
 * SES's answers that mean "too fast, try again shortly". The daily quota also arrives as a
 * ThrottlingException, but waiting seconds does not help it: it stays an ordinary error.
 */
export const isSesThrottle = (error: unknown): boolean => {
  if (!(error instanceof Error)) return false;
  if (/daily message quota exceeded/i.test(error.message)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return (
    THROTTLE_NAMES.has(error.name) || status === 429 || /maximum sending rate exceeded/i.test(error.message)
  );
};

/**
 * SES v2 with raw content: the composed message goes out byte for byte, so the List-Unsubscribe
 * headers and both parts arrive as written.
 */
export const makeSesMailer = (client: SesSendClient, options: SesMailerOptions): Mailer => ({
  async send(email) {
    const raw = await composeMessage(email);
    try {
      const out = await client.send(
        new SendEmailCommand({
          FromEmailAddress: email.from,
          Destination: { ToAddresses: [email.to] },
          Content: { Raw: { Data: raw } },
          ConfigurationSetName: options.configurationSet,
        }),
      );
      return { messageId: out.MessageId ?? '' };
    } catch (error) {
      if (isSesThrottle(error)) throw new MailerThrottledError((error as Error).message);
      throw error;
    }
  },
});
