import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { KEY_ATTRIBUTES, TABLE_INDEXES } from '../../shared/keys.js';
import { API_ROUTES } from '../../shared/routes.js';
import { synthTidings } from '../helpers/synth.js';

const { template, stack, nag } = synthTidings();

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, asserted on structurally
type Cfn = any;
type Resource = { Type: string; Properties: Record<string, Cfn> };
const resources = (type: string) => Object.entries(template.findResources(type)) as [string, Resource][];
const functions = () =>
  resources('AWS::Lambda::Function').filter(([id]) => !id.startsWith('CustomS3AutoDelete'));
const functionNamed = (name: string): [string, Resource] => {
  const found = functions().find(([, fn]) => fn.Properties.Description === `Tidings ${name}`);
  if (!found) throw new Error(`no function ${name}`);
  return found;
};
const roleOf = (fn: Resource): string => fn.Properties.Role['Fn::GetAtt'][0];
/** Every Allow statement in the policies attached to a function's role. */
const statementsOf = (name: string) => {
  const role = roleOf(functionNamed(name)[1]);
  return resources('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, Cfn>[]);
};
const actionsOf = (name: string) => statementsOf(name).flatMap((s) => [s.Action].flat() as string[]);
const envOf = (name: string) =>
  functionNamed(name)[1].Properties.Environment.Variables as Record<string, unknown>;
const ref = (id: string, attribute?: string) => (attribute ? { 'Fn::GetAtt': [id, attribute] } : { Ref: id });
const idOf = (type: string, pathPart: string) => {
  const found = Object.keys(template.findResources(type)).filter((id) => id.startsWith(pathPart));
  if (found.length !== 1) throw new Error(`${found.length} ${type} named ${pathPart}*`);
  return found[0] as string;
};

const API_FUNCTIONS = [...new Set(API_ROUTES.map((r) => r.fn))];
const OTHER_FUNCTIONS = [
  'authorize-request',
  'process-changes',
  'publish-site',
  'publish-slice',
  'plan-digests',
  'send-digests',
  'send-alerts',
  'handle-email-feedback',
  'handle-reputation-alarm',
  'serve-not-found',
  'websub-worker',
];

describe('the events table', () => {
  it('is on demand, recoverable, streamed with both images, with TTL and every index', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: TABLE_INDEXES.map((index) =>
        Match.objectLike({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
        }),
      ),
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      ],
    });
  });

  it('declares each key attribute once, and projects the tag listing index to listing fields', () => {
    const [table] = Object.values(template.findResources('AWS::DynamoDB::GlobalTable')) as {
      Properties: {
        AttributeDefinitions: { AttributeName: string }[];
        GlobalSecondaryIndexes: { IndexName: string; Projection: unknown }[];
      };
    }[];
    const names = table?.Properties.AttributeDefinitions.map((a) => a.AttributeName) ?? [];
    expect([...names].sort()).toEqual([...KEY_ATTRIBUTES].sort());
    // Tag entries are slim and read from the table: the tag listing index is gone.
    expect(table?.Properties.GlobalSecondaryIndexes.map((i) => i.IndexName)).toEqual([
      'GSI1',
      'GSI2',
      'GSI3',
    ]);
  });

  it('is retained on stack deletion by default', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('functions', () => {
  it('are every API function, the authorizer, the stream, the publisher, digests and feedback', () => {
    expect(
      functions()
        .map(([, fn]) => fn.Properties.Description)
        .sort(),
    ).toEqual([...API_FUNCTIONS, ...OTHER_FUNCTIONS].map((name) => `Tidings ${name}`).sort());
  });

  it('run Node 22 on ARM64 with JSON logs, source maps and a bounded timeout', () => {
    for (const [, fn] of functions()) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogFormat: 'JSON' },
      });
      // Source maps everywhere; the slice worker's heap is bounded too (test/infra/publish-job.test.ts).
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toMatch(/^--enable-source-maps( |$)/);
      expect(fn.Properties.Timeout).toBeLessThanOrEqual(900);
    }
  });

  it('each write to their own log group, kept 30 days by default, and to no other', () => {
    for (const [, fn] of functions()) {
      const group = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      expect(template.toJSON().Resources[group].Properties.RetentionInDays).toBe(30);
      const logs = statementsOf(fn.Properties.Description.replace('Tidings ', '')).filter((s) =>
        JSON.stringify(s.Action).includes('logs:'),
      );
      expect(logs).toEqual([
        {
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Effect: 'Allow',
          Resource: ref(group, 'Arn'),
        },
      ]);
    }
  });

  it('have their own roles, with no managed policies', () => {
    const roles = functions().map(([, fn]) => roleOf(fn));
    expect(new Set(roles).size).toBe(roles.length);
    for (const role of roles) {
      expect(template.toJSON().Resources[role].Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('know the site by its CloudFront address, not the API’s', () => {
    const site = {
      'Fn::Join': ['', ['https://', ref(idOf('AWS::CloudFront::Distribution', 'Site'), 'DomainName')]],
    };
    const withSite = functions().filter(([, fn]) => 'SITE_URL' in fn.Properties.Environment.Variables);
    expect(withSite.map(([, fn]) => fn.Properties.Description).sort()).toEqual(
      [
        'process-changes',
        'publish-site',
        'publish-slice',
        'send-digests',
        'send-alerts',
        'websub-hub',
        'websub-worker',
      ]
        .concat(
          API_ROUTES.filter((r) => r.uses?.includes('email') || r.uses?.includes('links')).map((r) => r.fn),
        )
        .map((n) => `Tidings ${n}`)
        .filter((n, i, all) => all.indexOf(n) === i)
        .sort(),
    );
    for (const [, fn] of withSite) expect(fn.Properties.Environment.Variables.SITE_URL).toEqual(site);
  });
});

describe('IAM', () => {
  const policies = resources('AWS::IAM::Policy');
  const allows = policies.flatMap(([id, p]) =>
    (p.Properties.PolicyDocument.Statement as Record<string, Cfn>[]).map(
      (s): Record<string, Cfn> => ({ id, ...s }),
    ),
  );
  const wildcardResources = allows.flatMap((s) =>
    [s.Resource]
      .flat()
      .filter((r) => JSON.stringify(r).includes('*'))
      .map((r) => ({ id: s.id, resource: r })),
  );

  it('grants no action on every resource', () => {
    for (const s of allows) expect([s.Resource].flat()).not.toContain('*');
  });

  it('leaves only three wildcards, each narrower than the resource it is under', () => {
    // `<topic ARN>:*`: subscription ARNs, named by SNS at subscribe time (the webhook functions).
    // `<site bucket ARN>/*`: the site's objects, named by the publisher at run time.
    // `<site bucket ARN>/feeds/*`: the feeds, which the WebSub hub reads (a topic, a delivery).
    const topic = ref(idOf('AWS::SNS::Topic', 'ChangeTopic'));
    const bucket = ref(idOf('AWS::S3::Bucket', 'SiteBucket'), 'Arn');
    const kinds = new Set(wildcardResources.map((w) => JSON.stringify(w.resource)));
    expect([...kinds].sort()).toEqual(
      [
        JSON.stringify({ 'Fn::Join': ['', [topic, ':*']] }),
        JSON.stringify({ 'Fn::Join': ['', [bucket, '/*']] }),
        JSON.stringify({ 'Fn::Join': ['', [bucket, '/feeds/*']] }),
      ].sort(),
    );
  });

  it('never scans the table or touches another, and names each index rather than index/*', () => {
    const table = idOf('AWS::DynamoDB::GlobalTable', 'EventsTable');
    const dynamo = allows.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
    expect(dynamo.length).toBeGreaterThan(0);
    const stream = dynamo.filter((s) => JSON.stringify(s.Resource).includes('StreamArn'));
    // The stream event source's own grant, for process-changes alone.
    expect(stream.map((s) => [s.id.replace(/[A-F0-9]{8}$/, ''), s.Action, s.Resource])).toEqual([
      ['ChangesProcessChangesRoleDefaultPolicy', 'dynamodb:ListStreams', ref(table, 'StreamArn')],
      [
        'ChangesProcessChangesRoleDefaultPolicy',
        ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        ref(table, 'StreamArn'),
      ],
    ]);
    for (const s of dynamo.filter((d) => !stream.includes(d))) {
      expect(JSON.stringify(s.Action)).not.toMatch(/Scan|Transact|\*/);
      for (const resource of [s.Resource].flat()) {
        expect([
          JSON.stringify(ref(table, 'Arn')),
          ...TABLE_INDEXES.map((i) =>
            JSON.stringify({ 'Fn::Join': ['', [ref(table, 'Arn'), `/index/${i.name}`]] }),
          ),
        ]).toContain(JSON.stringify(resource));
      }
    }
  });

  it('gives read-only routes no write to the table, and the authorizer one GetItem', () => {
    const readers = API_ROUTES.filter(
      (r) => !r.uses && API_ROUTES.every((o) => o.fn !== r.fn || o.method === 'GET'),
    );
    expect(readers.length).toBeGreaterThan(0);
    for (const name of readers.map((r) => r.fn)) {
      for (const action of actionsOf(name).filter((a) => a.startsWith('dynamodb:'))) {
        expect(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query']).toContain(action);
      }
    }
    expect(actionsOf('authorize-request').filter((a) => a.startsWith('dynamodb:'))).toEqual([
      'dynamodb:GetItem',
    ]);
  });

  it('lets the webhook functions manage only this topic’s subscriptions, and in the table only webhook records', () => {
    for (const name of ['create-webhook', 'list-webhooks', 'delete-webhook']) {
      expect(Object.keys(envOf(name))).toContain('TOPIC_ARN');
      expect(
        actionsOf(name)
          .filter((a) => !a.startsWith('logs:') && !a.startsWith('dynamodb:'))
          .sort(),
      ).toEqual([
        'sns:GetSubscriptionAttributes',
        'sns:ListSubscriptionsByTopic',
        'sns:Subscribe',
        'sns:Unsubscribe',
      ]);
      for (const s of statementsOf(name).filter((d) => JSON.stringify(d.Action).includes('dynamodb:'))) {
        expect(s.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['WEBHOOK#*'] } });
      }
    }
  });

  it('lets process-changes publish to the topic of changes only', () => {
    const publish = statementsOf('process-changes').filter((s) => s.Action === 'sns:Publish');
    expect(publish).toEqual([
      expect.objectContaining({ Resource: ref(idOf('AWS::SNS::Topic', 'ChangeTopic')) }),
    ]);
  });

  it('lets the publisher get, put and delete site objects and list the site bucket, nothing more in S3', () => {
    const s3 = statementsOf('publish-site').filter((s) => JSON.stringify(s.Action).includes('s3:'));
    expect(s3.map((s) => s.Action)).toEqual([
      ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      's3:ListBucket',
    ]);
  });

  it('lets senders send only as the identity with the configuration set, and read only the token secret (sign-up: and the origin secret)', () => {
    const identity = idOf('AWS::SES::EmailIdentity', 'MailIdentity');
    const configurationSet = idOf('AWS::SES::ConfigurationSet', 'MailConfigurationSet');
    const secret = idOf('AWS::SecretsManager::Secret', 'MailTokenSecret');
    const senders = [
      'send-digests',
      'send-alerts',
      ...API_ROUTES.filter((r) => r.uses?.includes('email')).map((r) => r.fn),
    ];
    for (const name of senders) {
      const ses = statementsOf(name).filter((s) => JSON.stringify(s.Action).includes('ses:'));
      expect(ses).toHaveLength(1);
      expect(ses[0]?.Action).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
      const arn = (kind: string, id: string) => ({
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, `:ses:eu-west-1:123456789012:${kind}/`, { Ref: id }],
        ],
      });
      expect(ses[0]?.Resource).toEqual([
        arn('identity', identity),
        arn('configuration-set', configurationSet),
      ]);
      const secrets = statementsOf(name).filter((s) => JSON.stringify(s.Action).includes('secretsmanager:'));
      // Sign-up also reads CloudFront's origin secret (test/infra/origin-header.test.ts).
      const origin =
        name === 'create-subscription' ? [ref(idOf('AWS::SecretsManager::Secret', 'ApiOriginSecret'))] : [];
      expect(secrets).toEqual(
        [ref(secret), ...origin].map((resource) => expect.objectContaining({ Resource: resource })),
      );
    }
    for (const name of [
      'plan-digests',
      'handle-email-feedback',
      'process-changes',
      'publish-site',
      'publish-slice',
    ]) {
      // Neither SES nor, for these, anything that could reach it.
      expect(actionsOf(name).some((a) => a.startsWith('ses:'))).toBe(false);
    }
  });

  it('lets plan-digests enqueue work, and nothing else', () => {
    const queue = ref(idOf('AWS::SQS::Queue', 'DigestsWork'), 'Arn');
    expect(
      actionsOf('plan-digests')
        .filter((a) => !a.startsWith('logs:'))
        .sort(),
    ).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    const sqs = statementsOf('plan-digests').filter((s) => JSON.stringify(s.Action).includes('sqs:'));
    for (const s of sqs) expect(s.Resource).toEqual(queue);
  });

  it('lets the link routes read the token secret but send nothing', () => {
    const links = [...new Set(API_ROUTES.filter((r) => r.uses?.includes('links')).map((r) => r.fn))];
    expect(links.length).toBeGreaterThan(0);
    for (const name of links) {
      // The private feed only reads: the subscriber, the change log and events.
      const reader = name === 'get-subscriber-feed';
      expect(actionsOf(name)).toEqual(
        expect.arrayContaining([
          'secretsmanager:GetSecretValue',
          'dynamodb:Query',
          ...(reader ? [] : ['dynamodb:UpdateItem']),
        ]),
      );
      if (reader) {
        expect(actionsOf(name).filter((a) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a))).toEqual([]);
      }
      expect(actionsOf(name).some((a) => a.startsWith('ses:'))).toBe(false);
      expect(Object.keys(envOf(name))).toContain('TOKEN_SECRET_ARN');
      expect(Object.keys(envOf(name))).not.toContain('FROM_ADDRESS');
    }
  });

  it('lets handle-email-feedback read and write the table and read the token secret, and send nothing', () => {
    expect(
      actionsOf('handle-email-feedback')
        .filter((a) => !a.startsWith('logs:') && !a.startsWith('dynamodb:'))
        .sort(),
    ).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'sqs:SendMessage']);
  });
});

describe('the HTTP API', () => {
  it('has every route, with the authorizer on exactly the write routes', () => {
    const routes = resources('AWS::ApiGatewayV2::Route').map(([, r]) => ({
      key: r.Properties.RouteKey as string,
      auth: r.Properties.AuthorizationType as string,
    }));
    expect(routes.map((r) => r.key).sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of API_ROUTES) {
      expect(routes.find((r) => r.key === `${route.method} ${route.path}`)?.auth).toBe(
        route.auth ? 'CUSTOM' : 'NONE',
      );
    }
  });

  it('uses a simple-response Lambda authorizer on the Authorization header, cached', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 300,
    });
  });

  it('is throttled and writes JSON access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: {
        DestinationArn: ref(idOf('AWS::Logs::LogGroup', 'ApiAccessLogs'), 'Arn'),
        Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
      },
    });
  });
});

describe('the change stream', () => {
  it('is bounded, bisects, reports partial failures, parks poison records and sees only event items', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86400,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: {
        OnFailure: { Destination: ref(idOf('AWS::SQS::Queue', 'ChangesDeadLetters'), 'Arn') },
      },
      FilterCriteria: {
        Filters: [{ Pattern: JSON.stringify({ dynamodb: { Keys: { SK: { S: ['EVENT'] } } } }) }],
      },
    });
  });
});

describe('queues', () => {
  it('are encrypted and refuse requests without TLS', () => {
    const queues = resources('AWS::SQS::Queue');
    expect(queues).toHaveLength(10);
    for (const [, queue] of queues) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    const tlsOnly = resources('AWS::SQS::QueuePolicy').flatMap(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Record<string, Cfn>[])
        .filter((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false')
        .map(() => p.Properties.Queues[0].Ref),
    );
    expect(tlsOnly.sort()).toEqual(queues.map(([id]) => id).sort());
  });
});

describe('digests', () => {
  it('are planned every quarter hour, plan-digests told the schedule time (zones with half- and quarter-hour offsets)', () => {
    const planner = ref(functionNamed('plan-digests')[0], 'Arn');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0/15 * * * ? *)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: planner,
          InputTransformer: { InputPathsMap: { time: '$.time' }, InputTemplate: '{"at":<time>}' },
        }),
      ],
    });
    // No rule sends at one UTC hour any more.
    const rules = Object.values(template.findResources('AWS::Events::Rule')).map(
      (r) => (r as { Properties: { ScheduleExpression?: string } }).Properties.ScheduleExpression,
    );
    expect(rules.filter((e) => e?.startsWith('cron(0 7'))).toEqual([]);
  });

  it('work through a queue whose visibility covers six sender timeouts, with a dead-letter queue after five tries', () => {
    const timeout = functionNamed('send-digests')[1].Properties.Timeout as number;
    expect(timeout).toBe(300);
    expect(functionNamed('plan-digests')[1].Properties.Timeout).toBe(60);
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: timeout * 6,
      RedrivePolicy: {
        deadLetterTargetArn: ref(idOf('AWS::SQS::Queue', 'DigestsDeadLetters'), 'Arn'),
        maxReceiveCount: 5,
      },
    });
  });

  it('are sent in small batches, with partial failures and bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: ref(idOf('AWS::SQS::Queue', 'DigestsWork'), 'Arn'),
      FunctionName: { Ref: functionNamed('send-digests')[0] },
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('tell both functions the schedule and the queue, and the sender its rate and sender address', () => {
    const schedule = {
      DIGEST_HOUR: '7',
      DIGEST_WEEKDAY: '1',
      DIGEST_QUEUE_URL: ref(idOf('AWS::SQS::Queue', 'DigestsWork')),
    };
    expect(envOf('plan-digests')).toMatchObject(schedule);
    expect(envOf('send-digests')).toMatchObject({
      ...schedule,
      DIGEST_SEND_RATE: '5',
      FROM_ADDRESS: 'news@example.org',
      SES_CONFIGURATION_SET: ref(idOf('AWS::SES::ConfigurationSet', 'MailConfigurationSet')),
    });
  });
});

describe('the publisher', () => {
  it('runs every 5 minutes by default, not retried (the next run picks up what is left)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: ref(functionNamed('publish-site')[0], 'Arn'),
          RetryPolicy: { MaximumRetryAttempts: 0 },
        }),
      ],
    });
  });

  it('knows its bucket, site and feed size', () => {
    expect(envOf('publish-site')).toMatchObject({
      SITE_BUCKET: ref(idOf('AWS::S3::Bucket', 'SiteBucket')),
      FEED_SIZE: '50',
    });
  });
});

describe('topics', () => {
  it('are all encrypted and refuse requests without TLS', () => {
    const topics = resources('AWS::SNS::Topic');
    expect(topics).toHaveLength(4);
    for (const [id, topic] of topics) {
      expect(topic.Properties.KmsMasterKeyId).toBeDefined();
      const policy = resources('AWS::SNS::TopicPolicy').find(([, p]) => p.Properties.Topics[0].Ref === id);
      expect(policy?.[1].Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('that SES and CloudWatch publish to use a rotated customer managed key that lets them in for this account only', () => {
    const key = idOf('AWS::KMS::Key', 'ServiceTopicsKey');
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    for (const topic of ['MailFeedbackTopic', 'MonitoringAlarmsTopic', 'ReputationAlarmsTopic']) {
      expect(template.toJSON().Resources[idOf('AWS::SNS::Topic', topic)].Properties.KmsMasterKeyId).toEqual(
        ref(key, 'Arn'),
      );
    }
    const statements = template.toJSON().Resources[key].Properties.KeyPolicy.Statement as Record<
      string,
      Cfn
    >[];
    for (const service of ['ses.amazonaws.com', 'cloudwatch.amazonaws.com']) {
      expect(statements).toContainEqual({
        Action: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
        Effect: 'Allow',
        Principal: { Service: service },
        Resource: '*',
      });
    }
  });

  it('of changes uses the AWS managed key (integrators subscribe with any protocol)', () => {
    expect(
      template.toJSON().Resources[idOf('AWS::SNS::Topic', 'ChangeTopic')].Properties.KmsMasterKeyId,
    ).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':kms:eu-west-1:123456789012:alias/aws/sns']],
    });
  });
});

describe('email', () => {
  it('sends as the from address’s domain, with DKIM, through a configuration set that requires TLS', () => {
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'example.org',
      ConfigurationSetAttributes: { ConfigurationSetName: ref(idOf('AWS::SES::ConfigurationSet', 'Mail')) },
    });
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      DeliveryOptions: { TlsPolicy: 'REQUIRE' },
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
  });

  it('sends bounces and complaints through the feedback topic to handle-email-feedback, with a dead-letter queue', () => {
    const topic = ref(idOf('AWS::SNS::Topic', 'MailFeedbackTopic'));
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['bounce', 'complaint'],
        SnsDestination: { TopicARN: topic },
      },
    });
    const [id, handler] = functionNamed('handle-email-feedback');
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: topic,
      Endpoint: ref(id, 'Arn'),
    });
    expect(handler.Properties.DeadLetterConfig).toEqual({
      TargetArn: ref(idOf('AWS::SQS::Queue', 'MailFeedbackDeadLetters'), 'Arn'),
    });
    expect(Object.keys(envOf('handle-email-feedback')).sort()).toEqual(
      ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'TABLE_NAME', 'TOKEN_SECRET_ARN'].sort(),
    );
  });

  it('signs links with a generated 64-character secret, kept when the stack is deleted', () => {
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: {
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
      },
      DeletionPolicy: 'Retain',
    });
  });
});

describe('the site', () => {
  const distribution = () =>
    template.toJSON().Resources[idOf('AWS::CloudFront::Distribution', 'Site')].Properties.DistributionConfig;

  it('keeps its pages in a private, encrypted, TLS-only bucket that CloudFront reads through origin access control', () => {
    for (const [id, bucket] of resources('AWS::S3::Bucket')) {
      expect(bucket.Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      });
      const policy = resources('AWS::S3::BucketPolicy').find(([, p]) => p.Properties.Bucket.Ref === id);
      expect(policy?.[1].Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
    const [origin] = distribution().Origins;
    expect(origin.DomainName).toEqual(ref(idOf('AWS::S3::Bucket', 'SiteBucket'), 'RegionalDomainName'));
    expect(origin.OriginAccessControlId).toEqual(
      ref(idOf('AWS::CloudFront::OriginAccessControl', 'SiteDistributionOrigin1S3'), 'Id'),
    );
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always' },
    });
  });

  it('redirects to HTTPS, serves index.html at the root and for directories, with security headers', () => {
    const config = distribution();
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: 'redirect-to-https',
      AllowedMethods: ['GET', 'HEAD'],
      ResponseHeadersPolicyId: ref(idOf('AWS::CloudFront::ResponseHeadersPolicy', 'SiteSecurityHeaders')),
      FunctionAssociations: [{ EventType: 'viewer-request' }],
    });
    template.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionCode: Match.stringLikeRegexp("endsWith\\('/'\\)"),
    });
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: {
        SecurityHeadersConfig: {
          StrictTransportSecurity: {
            AccessControlMaxAgeSec: 63072000,
            IncludeSubdomains: true,
            Override: true,
          },
          ContentTypeOptions: { Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
          ReferrerPolicy: { ReferrerPolicy: 'strict-origin-when-cross-origin', Override: true },
          ContentSecurityPolicy: {
            ContentSecurityPolicy: Match.stringLikeRegexp("default-src 'none'.*frame-ancestors 'none'"),
          },
        },
      },
    });
  });

  it('routes /api/* to the HTTP API over HTTPS, uncached, with every method, query and header but Host', () => {
    const config = distribution();
    const api = config.Origins.find((o: { Id: string }) => o.Id === config.CacheBehaviors[0]?.TargetOriginId);
    expect(api).toMatchObject({
      DomainName: {
        'Fn::Select': [2, { 'Fn::Split': ['/', ref(idOf('AWS::ApiGatewayV2::Api', 'Api'), 'ApiEndpoint')] }],
      },
      CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
    });
    expect(config.CacheBehaviors).toEqual([
      expect.objectContaining({
        PathPattern: '/api/*',
        TargetOriginId: api.Id,
        ViewerProtocolPolicy: 'https-only',
        AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
        // Managed policies: CachingDisabled and AllViewerExceptHostHeader.
        CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
        OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
      }),
    ]);
  });

  it('answers a missing page with the error page, logs bucket access, and uses the cheapest price class', () => {
    const config = distribution();
    // Through the site behaviour's failover origin, not a distribution-wide error response (errors.test.ts).
    expect(config.CustomErrorResponses).toBeUndefined();
    expect(config.OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items).toEqual([403, 404]);
    // CloudFront's own access logs: standard logging v2, without query strings (hardening.test.ts).
    expect(config.Logging).toBeUndefined();
    expect(config.PriceClass).toBe('PriceClass_100');
    template.hasResourceProperties('AWS::S3::Bucket', {
      LoggingConfiguration: {
        DestinationBucketName: ref(idOf('AWS::S3::Bucket', 'SiteAccessLogs')),
        LogFilePrefix: 'site-bucket/',
      },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, Status: 'Enabled' })] },
    });
  });
});

describe('alarms', () => {
  const alarms = resources('AWS::CloudWatch::Alarm');
  const topic = ref(idOf('AWS::SNS::Topic', 'MonitoringAlarmsTopic'));
  const on = (metric: string, dimension: Record<string, unknown>) =>
    alarms.filter(
      ([, a]) =>
        a.Properties.MetricName === metric &&
        JSON.stringify(a.Properties.Dimensions).includes(JSON.stringify(dimension)),
    );

  it('go to the alarm topic, and back when they clear', () => {
    expect(alarms.length).toBeGreaterThan(0);
    for (const [, alarm] of alarms) {
      // The SES reputation alarms also tell the reputation guard (hardening.test.ts).
      expect(alarm.Properties.AlarmActions[0]).toEqual(topic);
      expect(alarm.Properties.OKActions[0]).toEqual(topic);
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });

  it('watch the API’s server errors in one metric, not each function (monitoring.test.ts counts them all)', () => {
    const [api] = on('5xx', { Name: 'ApiId', Value: ref(idOf('AWS::ApiGatewayV2::Api', 'Api')) });
    expect(api?.[1].Properties).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      Statistic: 'Sum',
      Threshold: 1,
    });
    for (const [id] of functions()) {
      expect(on('Throttles', { Name: 'FunctionName', Value: { Ref: id } })).toHaveLength(0);
    }
  });

  it('fire on the first message in any dead-letter queue', () => {
    for (const queue of [
      'ChangesDeadLetters',
      'DigestsDeadLetters',
      'MailFeedbackDeadLetters',
      'PublisherDeadLetters',
    ]) {
      const [alarm] = on('ApproximateNumberOfMessagesVisible', {
        Name: 'QueueName',
        Value: ref(idOf('AWS::SQS::Queue', queue), 'QueueName'),
      });
      expect(alarm?.[1].Properties).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('fire when process-changes falls five minutes behind the stream, and when a publish run fails', () => {
    const [age] = on('IteratorAge', {
      Name: 'FunctionName',
      Value: { Ref: functionNamed('process-changes')[0] },
    });
    expect(age?.[1].Properties).toMatchObject({ Statistic: 'Maximum', Threshold: 300_000 });
    const [publish] = on('Errors', {
      Name: 'FunctionName',
      Value: { Ref: functionNamed('publish-site')[0] },
    });
    expect(publish?.[1].Properties).toMatchObject({ Statistic: 'Sum', Threshold: 1, Period: 300 });
  });
});

describe('outputs', () => {
  it('give the site, the API, the topics and the DKIM records to publish', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'SiteUrl',
        'ApiUrl',
        'TopicArn',
        'AlarmTopicArn',
        'DkimRecord1',
        'DkimRecord2',
        'DkimRecord3',
        'PublishFunction',
      ]),
    );
    expect(outputs.AlarmTopicArn?.Value).toEqual(topicRef('MonitoringAlarmsTopic'));
    expect(outputs.PublishFunction?.Value).toEqual(
      ref(idOf('AWS::Lambda::Function', 'PublisherPublishSite')),
    );
    expect(JSON.stringify(outputs.DkimRecord1?.Value)).toContain('DkimDNSTokenName1');
  });
});

const topicRef = (name: string) => ref(idOf('AWS::SNS::Topic', name));

describe('cdk-nag AwsSolutions', () => {
  it('reports nothing unacknowledged', () => {
    expect(
      nag.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
  });

  it('acknowledges only these rules, each with a specific reason', () => {
    const acknowledged = new Map<string, Set<string>>();
    for (const construct of stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          // aws-cdk-lib acknowledges some CloudFormation-validation warnings of its own constructs.
          if (id.startsWith('CloudFormation-Validate::')) continue;
          const rule = id.replace(/^annotation::/i, '').replace(/\[.*$/, '');
          acknowledged.set(rule, (acknowledged.get(rule) ?? new Set()).add(reason));
          expect(reason.length, id).toBeGreaterThan(60);
        }
      }
    }
    expect([...acknowledged.keys()].sort()).toEqual(
      [
        'AwsSolutions-APIG4',
        'AwsSolutions-CFR1',
        'AwsSolutions-CFR2',
        'AwsSolutions-CFR3',
        'AwsSolutions-CFR4',
        'AwsSolutions-IAM5',
        'AwsSolutions-L1',
        'AwsSolutions-S1',
        'AwsSolutions-SMG4',
        'AwsSolutions-SQS3',
        '@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk',
      ].sort(),
    );
  });
});
