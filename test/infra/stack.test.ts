import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../infra/config.js';
import { FUNCTIONS_DIR } from '../../infra/constructs/tidings-function.js';
import { API_ROUTES } from '../../shared/routes.js';
import { synthTidings } from '../helpers/synth.js';

const { template } = synthTidings();

describe('the events table', () => {
  it('is on demand, recoverable, streamed, with TTL and its three indexes', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'GSI1' }),
        Match.objectLike({ IndexName: 'GSI2' }),
        Match.objectLike({ IndexName: 'GSI3' }),
      ],
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });

  it('is retained on stack deletion by default', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('functions', () => {
  it('run Node 22 on ARM64 with JSON logs', () => {
    const all = template.findResources('AWS::Lambda::Function');
    const functions = Object.fromEntries(
      Object.entries(all).filter(([id]) => !id.startsWith('CustomS3AutoDelete')),
    );
    // The API's, the authorizer, process-changes and publish-site.
    expect(Object.keys(functions).length).toBe(new Set(API_ROUTES.map((r) => r.fn)).size + 3);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        LoggingConfig: { LogFormat: 'JSON' },
      });
    }
  });

  it('keep logs for a bounded time', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(30);
  });

  it.each([...new Set(API_ROUTES.map((r) => r.fn)), 'authorize-request', 'process-changes', 'publish-site'])(
    'functions/%s.ts exists and exports handler',
    (name) => {
      expect(readFileSync(join(FUNCTIONS_DIR, `${name}.ts`), 'utf8')).toMatch(/export const handler = /);
    },
  );
});

describe('the HTTP API', () => {
  it('has every route, with the authorizer on exactly the write routes', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => ({
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

  it('is throttled', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
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
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      FilterCriteria: {
        Filters: [{ Pattern: JSON.stringify({ dynamodb: { Keys: { SK: { S: ['EVENT'] } } } }) }],
      },
    });
  });
});

describe('configuration', () => {
  const configOf = (context: Record<string, unknown>) => loadConfig(new App({ context }).node);

  it('has safe defaults', () => {
    expect(configOf({})).toEqual({
      removalPolicy: 'retain',
      logRetentionDays: 30,
      apiRateLimit: 50,
      apiBurstLimit: 100,
      feedSize: 50,
      publishEveryMinutes: 5,
    });
  });

  it.each([
    [{ removalPolicy: 'keep' }, /removalPolicy: must be "retain" or "destroy"/],
    [{ logRetentionDays: 10 }, /logRetentionDays: must be one of/],
    [{ apiRateLimit: 'fast' }, /apiRateLimit: must be a positive whole number/],
  ])('rejects %j with a clear message', (context, message) => {
    expect(() => configOf(context)).toThrow(ConfigError);
    expect(() => configOf(context)).toThrow(message);
  });
});

describe('the topic of changes', () => {
  const functionNamed = (name: string) => {
    const [id, fn] =
      Object.entries(template.findResources('AWS::Lambda::Function')).find(([logicalId]) =>
        logicalId.includes(name),
      ) ?? [];
    if (!id || !fn) throw new Error(`no function ${name}`);
    return { id, fn };
  };
  const policiesOf = (functionId: string) =>
    Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(functionId.replace(/[A-F0-9]{8}$/, '')),
    );

  it('is encrypted and refuses requests without TLS', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('receives from process-changes, which knows the topic and the site', () => {
    const { id, fn } = functionNamed('ProcessChanges');
    expect(Object.keys(fn.Properties.Environment.Variables).sort()).toEqual(
      ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'SITE_URL', 'TABLE_NAME', 'TOPIC_ARN'].sort(),
    );
    const statements = policiesOf(id).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements.some((s) => s.Action === 'sns:Publish')).toBe(true);
  });

  it('lets the webhook functions manage only this topic’s subscriptions, and nothing in the table', () => {
    for (const name of ['CreateWebhook', 'ListWebhooks', 'DeleteWebhook']) {
      const { id, fn } = functionNamed(name);
      expect(Object.keys(fn.Properties.Environment.Variables)).toContain('TOPIC_ARN');
      expect(Object.keys(fn.Properties.Environment.Variables)).not.toContain('TABLE_NAME');
      const statements = policiesOf(id).flatMap((p) => p.Properties.PolicyDocument.Statement);
      expect(statements.flatMap((s) => s.Action).sort()).toEqual([
        'sns:GetSubscriptionAttributes',
        'sns:ListSubscriptionsByTopic',
        'sns:Subscribe',
        'sns:Unsubscribe',
      ]);
      expect(JSON.stringify(statements)).not.toContain('dynamodb');
    }
  });
});

describe('the publisher', () => {
  it('writes to a private, encrypted, TLS-only bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
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
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('runs on a schedule every 5 minutes by default', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
    });
  });

  it('knows its bucket, site URL and feed size', () => {
    const [, fn] =
      Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) =>
        id.includes('PublishSite'),
      ) ?? [];
    expect(Object.keys(fn?.Properties.Environment.Variables ?? {}).sort()).toEqual(
      [
        'FEED_SIZE',
        'NODE_OPTIONS',
        'POWERTOOLS_SERVICE_NAME',
        'SITE_BUCKET',
        'SITE_URL',
        'TABLE_NAME',
      ].sort(),
    );
  });
});
