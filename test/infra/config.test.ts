import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../infra/config.js';
import { synthTidings, TEST_CONTEXT } from '../helpers/synth.js';

const configOf = (context: Record<string, unknown>) => loadConfig(new App({ context }).node);

describe('configuration', () => {
  it('needs only fromAddress, and has safe defaults for the rest', () => {
    expect(configOf({ fromAddress: 'News@Example.org' })).toEqual({
      removalPolicy: 'retain',
      logRetentionDays: 30,
      apiRateLimit: 50,
      apiBurstLimit: 100,
      signupRateLimit: 5,
      signupBurstLimit: 10,
      linkRateLimit: 20,
      linkBurstLimit: 40,
      feedRateLimit: 10,
      feedBurstLimit: 20,
      confirmationsPerHour: 300,
      webhooksPerKey: 50,
      websubPerHost: 100,
      websubPerFeed: 10_000,
      websubRateLimit: 5,
      websubBurstLimit: 10,
      websubHubs: [],
      fromAddress: 'News@Example.org',
      sendingDomain: 'example.org',
      digestHour: 7,
      digestWeekday: 1,
      defaultTimeZone: 'UTC',
      digestSendRate: 5,
      digestConcurrency: 2,
      instantCoalesceMinutes: 10,
      instantDailyCap: 12,
      alertConcurrency: 2,
      feedSize: 50,
      publishEveryMinutes: 5,
      publishWorkers: 20,
      tracing: false,
      streamParallelization: 4,
    });
  });

  it('reads websubHubs as a cdk.json list or a comma-separated -c string', () => {
    expect(
      configOf({ ...TEST_CONTEXT, websubHubs: 'https://a.example/hub, https://b.example/' }).websubHubs,
    ).toEqual(['https://a.example/hub', 'https://b.example/']);
    expect(
      configOf({ ...TEST_CONTEXT, websubHubs: ['https://pubsubhubbub.appspot.com/'] }).websubHubs,
    ).toEqual(['https://pubsubhubbub.appspot.com/']);
  });

  it('reads -c strings and tidings:-prefixed cdk.json keys, and weekday names', () => {
    expect(
      configOf({
        fromAddress: 'news@mail.example.org',
        'tidings:digestHour': '18',
        digestWeekday: 'Friday',
        defaultTimeZone: 'europe/berlin',
        domain: 'News.Example.org',
        certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c6a8e-1234-4abc-9def-0123456789ab',
        alarmEmail: 'ops@example.org',
        removalPolicy: 'destroy',
        tracing: 'true',
        instantCoalesceMinutes: '15',
        instantDailyCap: '6',
      }),
    ).toMatchObject({
      tracing: true,
      instantCoalesceMinutes: 15,
      instantDailyCap: 6,
      sendingDomain: 'mail.example.org',
      digestHour: 18,
      digestWeekday: 5,
      defaultTimeZone: 'Europe/Berlin',
      domain: {
        name: 'news.example.org',
        certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c6a8e-1234-4abc-9def-0123456789ab',
      },
      alarmEmail: 'ops@example.org',
      removalPolicy: 'destroy',
    });
  });

  it.each([
    [{}, /fromAddress: required, the address emails are sent from: npx cdk deploy -c fromAddress=/],
    [{ fromAddress: 'News <news@example.org>' }, /fromAddress: must be one email address/],
    [{ fromAddress: 'news@localhost' }, /fromAddress: must be one email address/],
    [{ removalPolicy: 'keep' }, /removalPolicy: must be "retain" or "destroy" \(got "keep"\)/],
    [{ logRetentionDays: 10 }, /logRetentionDays: must be one of 1, 3, 5, 7, 14, 30/],
    [{ apiRateLimit: 'fast' }, /apiRateLimit: must be a whole number from 1 to 10000 \(got "fast"\)/],
    [{ signupRateLimit: 0 }, /signupRateLimit: must be a whole number from 1 to 10000 \(got 0\)/],
    [{ signupBurstLimit: '2.5' }, /signupBurstLimit: must be a whole number from 1 to 5000/],
    [{ linkRateLimit: -1 }, /linkRateLimit: must be a whole number from 1 to 10000/],
    [{ linkBurstLimit: 5001 }, /linkBurstLimit: must be a whole number from 1 to 5000/],
    [{ feedRateLimit: 0 }, /feedRateLimit: must be a whole number from 1 to 10000/],
    [{ feedBurstLimit: 'lots' }, /feedBurstLimit: must be a whole number from 1 to 5000/],
    [{ confirmationsPerHour: 'many' }, /confirmationsPerHour: must be a whole number from 1 to 1000000/],
    [{ webhooksPerKey: 0 }, /webhooksPerKey: must be a whole number from 1 to 10000/],
    [{ websubPerHost: 0 }, /websubPerHost: must be a whole number from 1 to 1000000/],
    [{ websubPerFeed: 'many' }, /websubPerFeed: must be a whole number from 1 to 1000000/],
    [{ websubRateLimit: 0 }, /websubRateLimit: must be a whole number from 1 to 10000/],
    [
      { websubHubs: 'http://hub.example.org/' },
      /websubHubs: each hub must be an https URL without credentials/,
    ],
    [{ websubHubs: 42 }, /websubHubs: must be a list of https URLs/],
    [
      {
        websubHubs:
          'https://a.example/,https://b.example/,https://c.example/,https://d.example/,https://e.example/,https://f.example/',
      },
      /websubHubs: at most 5 hubs/,
    ],
    [{ digestHour: 24 }, /digestHour: must be a whole number from 0 to 23 \(got 24\)/],
    [{ digestHour: '7.5' }, /digestHour: must be a whole number from 0 to 23/],
    [{ digestWeekday: 'someday' }, /digestWeekday: must be 0 \(Sunday\) to 6 \(Saturday\) or a day name/],
    [{ digestWeekday: 7 }, /digestWeekday: must be 0 \(Sunday\) to 6 \(Saturday\)/],
    [
      { defaultTimeZone: 'Mars/Olympus_Mons' },
      /defaultTimeZone: must be an IANA time zone name such as Europe\/Berlin \(got "Mars\/Olympus_Mons"\)/,
    ],
    [{ digestConcurrency: 1 }, /digestConcurrency: must be a whole number from 2 to 1000/],
    [{ feedSize: 501 }, /feedSize: must be a whole number from 1 to 500/],
    [
      { instantCoalesceMinutes: 0 },
      /instantCoalesceMinutes: must be a whole number from 1 to 1440 \(got 0\)/,
    ],
    [{ instantDailyCap: 'lots' }, /instantDailyCap: must be a whole number from 1 to 1000/],
    [{ alertConcurrency: 1 }, /alertConcurrency: must be a whole number from 2 to 1000/],
    [{ defaultTimeZone: 3 }, /defaultTimeZone: must be/],
    [{ publishEveryMinutes: 0 }, /publishEveryMinutes: must be a whole number from 1 to 1440/],
    [{ publishWorkers: 1 }, /publishWorkers: must be a whole number from 2 to 1000 \(got 1\)/],
    [{ publishWorkers: 1001 }, /publishWorkers: must be a whole number from 2 to 1000/],
    [{ publishWorkers: '2.5' }, /publishWorkers: must be a whole number from 2 to 1000/],
    [{ alarmEmail: 'ops' }, /alarmEmail: must be one email address/],
    [{ tracing: 'on' }, /tracing: must be true or false \(got "on"\)/],
    [{ domain: 'https://news.example.org' }, /domain: must be a host name such as news.example.org/],
    [
      { domain: 'news.example.org' },
      /certificateArn: required with domain \(an ACM certificate for it, issued in us-east-1/,
    ],
    [
      {
        certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c6a8e-1234-4abc-9def-0123456789ab',
      },
      /domain: required with certificateArn/,
    ],
    [
      {
        domain: 'news.example.org',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f3c6a8e-1234-4abc-9def-0123456789ab',
      },
      /certificateArn: must be an ACM certificate ARN in us-east-1/,
    ],
  ])('rejects %j with a message naming the setting and the rule', (context, message) => {
    const withSender =
      'fromAddress' in context || Object.keys(context).length === 0
        ? context
        : { ...TEST_CONTEXT, ...context };
    expect(() => configOf(withSender)).toThrow(ConfigError);
    expect(() => configOf(withSender)).toThrow(message);
  });
});

describe('a configured stack', () => {
  const { template, nag, stack } = synthTidings({
    domain: 'news.example.org',
    certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c6a8e-1234-4abc-9def-0123456789ab',
    alarmEmail: 'ops@example.org',
    digestHour: 18,
    digestWeekday: 'friday',
    defaultTimeZone: 'America/New_York',
    digestSendRate: 3,
    digestConcurrency: 4,
    removalPolicy: 'destroy',
    logRetentionDays: 90,
    feedSize: 20,
    publishEveryMinutes: 15,
    publishWorkers: '50',
    apiRateLimit: 10,
    apiBurstLimit: 20,
    signupRateLimit: 2,
    signupBurstLimit: 3,
    linkRateLimit: 30,
    linkBurstLimit: 60,
    feedRateLimit: 7,
    feedBurstLimit: 9,
    confirmationsPerHour: 120,
    webhooksPerKey: 8,
  });
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;

  it('serves the site on the domain with its certificate and TLS 1.2 or later, and tells functions so', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['news.example.org'],
        ViewerCertificate: {
          AcmCertificateArn:
            'arn:aws:acm:us-east-1:123456789012:certificate/0f3c6a8e-1234-4abc-9def-0123456789ab',
          MinimumProtocolVersion: 'TLSv1.2_2021',
          SslSupportMethod: 'sni-only',
        },
      }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Tidings publish-site',
      Environment: { Variables: Match.objectLike({ SITE_URL: 'https://news.example.org', FEED_SIZE: '20' }) },
    });
    template.hasOutput('SiteUrl', { Value: 'https://news.example.org' });
  });

  it('emails alarms to the configured address', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.org',
    });
  });

  it('schedules digests, publishing and throttling as configured', () => {
    // Digests are planned every quarter hour whatever the settings; the default time goes to the functions.
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0/15 * * * ? *)' });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    for (const name of [
      'plan-digests',
      'create-subscription',
      'manage-subscription',
      'confirm-subscription',
    ]) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: `Tidings ${name}`,
        Environment: {
          Variables: Match.objectLike({
            DIGEST_HOUR: '18',
            DIGEST_WEEKDAY: '5',
            DEFAULT_TIME_ZONE: 'America/New_York',
          }),
        },
      });
    }
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 4 },
    });
    // The full publish's slice workers: publishWorkers at once.
    const [slices] = Object.entries(resources).filter(
      ([id, r]) => r.Type === 'AWS::Lambda::EventSourceMapping' && id.startsWith('PublisherPublishSlice'),
    );
    expect(slices?.[1].Properties.ScalingConfig).toEqual({ MaximumConcurrency: 50 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Tidings send-digests',
      Environment: {
        Variables: Match.objectLike({ DIGEST_HOUR: '18', DIGEST_WEEKDAY: '5', DIGEST_SEND_RATE: '3' }),
      },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
  });

  it('throttles sign-up and the link routes, and caps confirmations and webhooks, as configured', () => {
    const [stage] = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
    const settings = stage?.Properties.RouteSettings as Record<string, unknown>;
    expect(settings['POST /api/subscriptions']).toEqual({ ThrottlingRateLimit: 2, ThrottlingBurstLimit: 3 });
    expect(settings['POST /api/subscriptions/unsubscribe']).toEqual({
      ThrottlingRateLimit: 30,
      ThrottlingBurstLimit: 60,
    });
    expect(settings['GET /api/subscriptions/feed']).toEqual({
      ThrottlingRateLimit: 7,
      ThrottlingBurstLimit: 9,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Tidings create-subscription',
      Environment: { Variables: Match.objectLike({ CONFIRMATIONS_PER_HOUR: '120' }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Tidings create-webhook',
      Environment: { Variables: Match.objectLike({ WEBHOOKS_PER_KEY: '8' }) },
    });
  });

  it('deletes the table and the token secret with the stack when asked, and keeps logs as long as configured', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })],
    });
    template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete' });
    const groups = Object.values(resources).filter((r) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(90);
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 90 })] },
    });
  });

  it('passes the AwsSolutions checks without the default-certificate acknowledgement', () => {
    expect(nag.violations).toEqual([]);
    const acknowledged = stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((m) => Object.keys(m.data as object));
    expect(acknowledged.some((id) => id.includes('CFR1'))).toBe(true);
    expect(acknowledged.some((id) => id.includes('CFR4'))).toBe(false);
  });
});
