import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESv2Client, type SendEmailCommand, type SendEmailCommandOutput } from '@aws-sdk/client-sesv2';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailerThrottledError, type OutgoingEmail } from '../../../shared/adapters/mailer.js';
import { isSesThrottle, makeSesMailer, type SesSendClient } from '../../../shared/adapters/ses-mailer.js';

const ONE_CLICK = 'https://news.example.org/api/subscriptions/unsubscribe?token=abc.def';

const email: OutgoingEmail = {
  from: 'Tidings <news@example.org>',
  to: 'zoé@example.com',
  subject: '2 new events: Zürich 🇨🇭',
  text: 'Plain: Zürich\n',
  html: '<p>HTML: Zürich</p>',
  headers: { 'List-Unsubscribe': `<${ONE_CLICK}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
};

/** A stand-in for the SES client: records each command, answers or fails as told. */
const fakeClient = (fail?: () => Error | undefined) => {
  const commands: SendEmailCommand[] = [];
  const client: SesSendClient = {
    async send(command) {
      commands.push(command);
      const error = fail?.();
      if (error) throw error;
      return { MessageId: `ses-${commands.length}`, $metadata: {} } as SendEmailCommandOutput;
    },
  };
  return { client, commands };
};

const sesError = (name: string, message: string, status?: number): Error =>
  Object.assign(new Error(message), { name, $metadata: status ? { httpStatusCode: status } : {} });

describe('makeSesMailer with an injected client', () => {
  it('sends the composed message as raw content with the configuration set', async () => {
    const { client, commands } = fakeClient();
    const mailer = makeSesMailer(client, { configurationSet: 'tidings-mail' });
    expect(await mailer.send(email)).toEqual({ messageId: 'ses-1' });

    expect(commands).toHaveLength(1);
    const input = commands[0]?.input;
    expect(input?.ConfigurationSetName).toBe('tidings-mail');
    expect(input?.FromEmailAddress).toBe('Tidings <news@example.org>');
    expect(input?.Destination).toEqual({ ToAddresses: ['zoé@example.com'] });
    expect(input?.Content?.Simple).toBeUndefined();
    const data = input?.Content?.Raw?.Data;
    expect(data).toBeInstanceOf(Uint8Array);

    const mail = await simpleParser(Buffer.from(data as Uint8Array));
    expect(mail.subject).toBe('2 new events: Zürich 🇨🇭');
    expect(mail.text).toBe('Plain: Zürich\n');
    expect(mail.html).toBe('<p>HTML: Zürich</p>');
    // Header lines unfolded (RFC 5322 2.2.3): the composer may fold a long one.
    const line = (key: string) =>
      mail.headerLines.find((h) => h.key === key)?.line.replace(/\r\n[ \t]+/g, ' ');
    expect(line('list-unsubscribe')).toBe(`List-Unsubscribe: <${ONE_CLICK}>`);
    expect(line('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
  });

  it.each([
    ['TooManyRequestsException', sesError('TooManyRequestsException', 'Too many requests', 429)],
    ['ThrottlingException', sesError('ThrottlingException', 'Rate exceeded')],
    ['Throttling (the query API name)', sesError('Throttling', 'Maximum sending rate exceeded.')],
    ['a 429 under another name', sesError('SlowDown', 'Please slow down', 429)],
    ['the message alone', sesError('Error', 'Throttling – Maximum sending rate exceeded')],
  ])('maps %s to MailerThrottledError', async (_, error) => {
    const { client } = fakeClient(() => error);
    const attempt = makeSesMailer(client, { configurationSet: 'c' }).send(email);
    await expect(attempt).rejects.toBeInstanceOf(MailerThrottledError);
    await expect(attempt).rejects.toThrow(error.message);
  });

  it.each([
    ['MessageRejected', sesError('MessageRejected', 'Email address is not verified.', 400)],
    ['SendingPausedException', sesError('SendingPausedException', 'Sending is paused', 400)],
    ['the daily quota', sesError('ThrottlingException', 'Daily message quota exceeded.')],
    ['a network error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])('passes %s through unchanged', async (_, error) => {
    const { client } = fakeClient(() => error);
    const attempt = makeSesMailer(client, { configurationSet: 'c' }).send(email);
    await expect(attempt).rejects.toBe(error);
  });

  it('refuses a header injection before calling SES', async () => {
    const { client, commands } = fakeClient();
    const attempt = makeSesMailer(client, { configurationSet: 'c' }).send({
      ...email,
      subject: 'Hi\r\nBcc: victim@example.net',
    });
    await expect(attempt).rejects.toThrow('subject: must not contain CR, LF');
    expect(commands).toHaveLength(0);
  });

  it('tells a throttle from other errors', () => {
    expect(isSesThrottle(sesError('TooManyRequestsException', 'x'))).toBe(true);
    expect(isSesThrottle(sesError('MessageRejected', 'x', 400))).toBe(false);
    expect(isSesThrottle('TooManyRequestsException')).toBe(false);
  });
});

/**
 * The real SES v2 client against a local HTTP stand-in of the SendEmail operation: the request
 * is serialized and the error deserialized by the SDK itself.
 */
describe('makeSesMailer with the SDK client over HTTP', () => {
  let server: Server;
  let client: SESv2Client;
  const received: { path: string; body: Record<string, unknown> }[] = [];
  let answer: 'ok' | 'throttle' | 'reject' = 'ok';

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        if (answer === 'throttle') {
          res.writeHead(429, {
            'content-type': 'application/json',
            'x-amzn-errortype':
              'TooManyRequestsException:http://internal.amazon.com/coral/com.amazonaws.sesv2/',
          });
          res.end(JSON.stringify({ message: 'Maximum sending rate exceeded.' }));
        } else if (answer === 'reject') {
          res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'MessageRejected' });
          res.end(JSON.stringify({ message: 'Email address is not verified.' }));
        } else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ MessageId: '0100018c-abc' }));
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    client = new SESv2Client({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    server.close();
    await once(server, 'close');
  });

  it('posts the raw message, base64 in JSON, with the configuration set', async () => {
    answer = 'ok';
    const mailer = makeSesMailer(client, { configurationSet: 'tidings-mail' });
    expect(await mailer.send(email)).toEqual({ messageId: '0100018c-abc' });
    const request = received.at(-1);
    expect(request?.path).toBe('/v2/email/outbound-emails');
    expect(request?.body.ConfigurationSetName).toBe('tidings-mail');
    const content = request?.body.Content as { Raw: { Data: string } };
    const mail = await simpleParser(Buffer.from(content.Raw.Data, 'base64'));
    expect(mail.subject).toBe(email.subject);
    expect(mail.text).toBe(email.text);
    expect(mail.html).toBe(email.html);
  });

  it("maps SES's 429 to MailerThrottledError and passes a rejection through", async () => {
    const mailer = makeSesMailer(client, { configurationSet: 'tidings-mail' });
    answer = 'throttle';
    await expect(mailer.send(email)).rejects.toBeInstanceOf(MailerThrottledError);
    answer = 'reject';
    const rejected = await mailer.send(email).catch((error: Error) => error);
    expect(rejected).not.toBeInstanceOf(MailerThrottledError);
    expect((rejected as Error).name).toBe('MessageRejected');
  });
});
