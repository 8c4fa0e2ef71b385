import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config.js';
import {
  Api,
  FEED_ROUTE_KEY,
  HUB_ROUTE_KEY,
  LINK_ROUTE_PREFIX,
  SIGNUP_ROUTE_KEY,
} from '../../infra/constructs/api.js';
import { ChangeTopic } from '../../infra/constructs/change-topic.js';
import { ACCESS_LOG_FIELDS, UNLOGGED_FIELDS } from '../../infra/constructs/distribution-logs.js';
import { EventsTable } from '../../infra/constructs/events-table.js';
import { Mail } from '../../infra/constructs/mail.js';
import { addTidings } from '../../infra/tidings-stack.js';
import { METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from '../../shared/metrics.js';
import { API_ROUTES, type RouteSpec } from '../../shared/routes.js';
import { synthTidings, TEST_CONTEXT } from '../helpers/synth.js';

const { template } = synthTidings();

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, asserted on structurally
type Cfn = any;
type Resource = { Type: string; Properties: Record<string, Cfn>; DependsOn?: string[] };
const resourcesOf = (t: Template, type: string) =>
  Object.entries(t.findResources(type)) as [string, Resource][];
const only = (t: Template, type: string, prefix: string): [string, Resource] => {
  const found = resourcesOf(t, type).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`${found.length} ${type} named ${prefix}*`);
  return found[0] as [string, Resource];
};
const functionNamed = (t: Template, name: string): [string, Resource] => {
  const found = resourcesOf(t, 'AWS::Lambda::Function').find(
    ([, fn]) => fn.Properties.Description === `Tidings ${name}`,
  );
  if (!found) throw new Error(`no function ${name}`);
  return found;
};
const distribution = () =>
  only(template, 'AWS::CloudFront::Distribution', 'Site')[1].Properties.DistributionConfig;

describe('route throttles', () => {
  const stage = () => only(template, 'AWS::ApiGatewayV2::Stage', 'Api')[1];
  const linkRoutes = API_ROUTES.filter(
    (r) => r.path.startsWith(LINK_ROUTE_PREFIX) && `${r.method} ${r.path}` !== FEED_ROUTE_KEY,
  );

  it('give sign-up its own 5/s (burst 10), the private feed 10/s (burst 20), every link route 20/s (burst 40), the WebSub hub 5/s (burst 10)', () => {
    expect(linkRoutes.length).toBeGreaterThan(3);
    expect(stage().Properties.RouteSettings).toEqual({
      [SIGNUP_ROUTE_KEY]: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      [FEED_ROUTE_KEY]: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      [HUB_ROUTE_KEY]: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      ...Object.fromEntries(
        linkRoutes.map((r) => [
          `${r.method} ${r.path}`,
          { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
        ]),
      ),
    });
    // The rest share the stage's default.
    expect(stage().Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 50,
      ThrottlingBurstLimit: 100,
    });
  });

  it('are deployed after the routes they name', () => {
    const routes = resourcesOf(template, 'AWS::ApiGatewayV2::Route');
    const named = Object.keys(stage().Properties.RouteSettings).map(
      (key) => routes.find(([, r]) => r.Properties.RouteKey === key)?.[0],
    );
    expect(named).not.toContain(undefined);
    for (const id of named) expect(stage().DependsOn).toContain(id);
  });

  it('cover a link route added later, such as POST /api/subscriptions/confirm, without naming it', () => {
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const stack = new Stack(app, 'Routes', { env: { account: '123456789012', region: 'eu-west-1' } });
    const table = new EventsTable(stack, 'Events', { removalPolicy: 'destroy' });
    const mail = new Mail(stack, 'Mail', {
      fromAddress: 'news@example.org',
      sendingDomain: 'example.org',
      table,
      topicKey: new Key(stack, 'Key'),
      logRetention: 30,
      removalPolicy: 'destroy',
    });
    const added: RouteSpec = {
      method: 'POST',
      path: '/api/subscriptions/confirm',
      fn: 'confirm-subscription',
      auth: false,
      uses: ['links'],
    };
    const routes = API_ROUTES.some((r) => r.method === added.method && r.path === added.path)
      ? API_ROUTES
      : [...API_ROUTES, added];
    new Api(stack, 'Api', {
      table,
      changes: new ChangeTopic(stack, 'Changes'),
      mail,
      siteUrl: 'https://news.example.org',
      logRetention: 30,
      rateLimit: 50,
      burstLimit: 100,
      signupThrottle: { rateLimit: 5, burstLimit: 10 },
      linkThrottle: { rateLimit: 7, burstLimit: 9 },
      feedThrottle: { rateLimit: 3, burstLimit: 4 },
      confirmationsPerHour: 300,
      webhooksPerKey: 50,
      routes,
    });
    const [, stage] = only(Template.fromStack(stack), 'AWS::ApiGatewayV2::Stage', 'Api');
    expect(stage.Properties.RouteSettings['POST /api/subscriptions/confirm']).toEqual({
      ThrottlingRateLimit: 7,
      ThrottlingBurstLimit: 9,
    });
  });
});

describe('settings told to functions', () => {
  it('give sign-up its hourly confirmation budget and webhook creation its cap per key', () => {
    const env = (name: string) => functionNamed(template, name)[1].Properties.Environment.Variables;
    expect(env('create-subscription').CONFIRMATIONS_PER_HOUR).toBe('300');
    expect(env('create-webhook').WEBHOOKS_PER_KEY).toBe('50');
    for (const name of ['create-webhook', 'list-webhooks', 'delete-webhook']) {
      expect(Object.keys(env(name))).toContain('TABLE_NAME');
    }
    for (const name of ['list-webhooks', 'delete-webhook', 'confirm-subscription', 'unsubscribe']) {
      expect(Object.keys(env(name))).not.toContain('WEBHOOKS_PER_KEY');
      expect(Object.keys(env(name))).not.toContain('CONFIRMATIONS_PER_HOUR');
    }
  });
});

describe('the API access log', () => {
  const format = () =>
    JSON.parse(only(template, 'AWS::ApiGatewayV2::Stage', 'Api')[1].Properties.AccessLogSettings.Format);

  it('records the route template and the caller’s key name, never the raw path or query', () => {
    const fields = format();
    expect(fields).toMatchObject({ route: '$context.routeKey', keyName: '$context.authorizer.keyName' });
    const values = Object.values(fields).join(' ');
    expect(values).not.toMatch(/\$context\.(path|requestUri|http\.path|querystring)|\$request\./i);
  });
});

describe('alarms of the sign-up hardening', () => {
  const alarms = () => resourcesOf(template, 'AWS::CloudWatch::Alarm');
  const alarmTopic = { Ref: only(template, 'AWS::SNS::Topic', 'MonitoringAlarmsTopic')[0] };
  const guardTopic = { Ref: only(template, 'AWS::SNS::Topic', 'ReputationAlarmsTopic')[0] };
  const on = (metric: string) => alarms().filter(([, a]) => a.Properties.MetricName === metric);

  it('fire when the hourly confirmation budget is spent, on the metric sign-up writes', () => {
    const [alarm] = on(METRIC.confirmationBudgetExceeded);
    expect(alarm?.[1].Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: METRICS_SERVICE }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [alarmTopic],
    });
  });

  it.each([
    ['Reputation.BounceRate', 0.04],
    ['Reputation.ComplaintRate', 0.0008],
  ])(
    'fire on SES’s account-wide %s over %d, telling the operator and the reputation guard',
    (metric, limit) => {
      const found = on(metric);
      expect(found).toHaveLength(1);
      expect(found[0]?.[1].Properties).toMatchObject({
        Namespace: 'AWS/SES',
        Threshold: limit,
        ComparisonOperator: 'GreaterThanThreshold',
        Statistic: 'Maximum',
        AlarmActions: [alarmTopic, guardTopic],
        OKActions: [alarmTopic, guardTopic],
      });
      expect(found[0]?.[1].Properties.Dimensions).toBeUndefined();
    },
  );

  it('reach handle-reputation-alarm through its own topic, which CloudWatch may publish to', () => {
    const [fnId] = functionNamed(template, 'handle-reputation-alarm');
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: guardTopic,
      Endpoint: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
    const [, policy] = resourcesOf(template, 'AWS::SNS::TopicPolicy').find(
      ([, p]) => JSON.stringify(p.Properties.Topics) === JSON.stringify([guardTopic]),
    ) ?? [undefined, undefined];
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
      }),
    );
  });
});

describe('CloudFront', () => {
  const behaviour = () =>
    distribution().CacheBehaviors.find((b: Cfn) => b.PathPattern === '/api/*') as Record<string, Cfn>;

  it('passes the viewer’s address to the API (CloudFront-Viewer-Address) and keeps the Host header the API’s own', () => {
    // Managed AllViewerExceptHostHeader: every viewer header but Host, plus CloudFront's viewer
    // headers, CloudFront-Viewer-Address among them. AllViewer would send the site's Host, which
    // API Gateway refuses; a custom policy cannot both leave Host out and add CloudFront headers.
    expect(behaviour().OriginRequestPolicyId).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac');
  });

  it('keeps the API’s Referrer-Policy: no-referrer on /api/*, while the site’s pages get strict-origin-when-cross-origin', () => {
    const policy = (ref: Cfn) =>
      template.toJSON().Resources[ref.Ref].Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(policy(behaviour().ResponseHeadersPolicyId).ReferrerPolicy).toEqual({
      ReferrerPolicy: 'no-referrer',
      Override: false,
    });
    expect(policy(behaviour().ResponseHeadersPolicyId).ContentSecurityPolicy.Override).toBe(false);
    expect(policy(distribution().DefaultCacheBehavior.ResponseHeadersPolicyId).ReferrerPolicy).toEqual({
      ReferrerPolicy: 'strict-origin-when-cross-origin',
      Override: true,
    });
  });

  describe('the viewer-request function of the site', () => {
    const [, fn] = only(template, 'AWS::CloudFront::Function', 'Site');
    // The function as CloudFront runs it, from the template.
    const handler = new Function(`${fn.Properties.FunctionCode}; return handler;`)() as (event: Cfn) => Cfn;
    const request = (uri: string) => handler({ request: { uri, method: 'GET', headers: {} } });

    it('is the default behaviour’s, on viewer requests', () => {
      expect(distribution().DefaultCacheBehavior.FunctionAssociations).toEqual([
        {
          EventType: 'viewer-request',
          FunctionARN: {
            'Fn::GetAtt': [only(template, 'AWS::CloudFront::Function', 'Site')[0], 'FunctionARN'],
          },
        },
      ]);
    });

    it.each([
      '/_publish/feeds/index.json',
      '/_publish/tags/russia.json',
      '/%5Fpublish/feeds/index.json',
      '/_publish',
      '/_publish/',
      '/news/../_publish/feeds/index.json',
      '//_publish/feeds/index.json',
      '/./_publish/feeds/index.json',
    ])('answers 404 for the publisher’s records: %s', (uri) => {
      expect(request(uri)).toEqual({ statusCode: 404, statusDescription: 'Not Found' });
    });

    it('answers 400 for a path that cannot be decoded', () => {
      expect(request('/%E0%A4%A')).toMatchObject({ statusCode: 400 });
    });

    it('serves pages, feeds and directory indexes as before', () => {
      expect(request('/tags/')).toMatchObject({ uri: '/tags/index.html' });
      expect(request('/news/2016/11/16/putin.html')).toMatchObject({ uri: '/news/2016/11/16/putin.html' });
      expect(request('/_publisher-notes.html')).toMatchObject({ uri: '/_publisher-notes.html' });
    });
  });
});

describe('CloudFront access logs (standard logging v2)', () => {
  const deployment = (region: string, context: Record<string, unknown> = {}) => {
    const app = new App({
      context: { 'aws:cdk:bundling-stacks': [], ...TEST_CONTEXT, ...context },
      builtinCloudFormationValidation: false,
    });
    const built = addTidings(app, 'Tidings', {
      config: loadConfig(app.node),
      env: { account: '123456789012', region },
    });
    return { app, ...built };
  };

  it('leave the query string, cookies and referrer out of every line', () => {
    for (const field of UNLOGGED_FIELDS) expect(ACCESS_LOG_FIELDS).not.toContain(field);
    const { accessLogs } = deployment('eu-west-1');
    const t = Template.fromStack(Stack.of(accessLogs));
    const [, delivery] = only(t, 'AWS::Logs::Delivery', 'SiteAccessLogs');
    expect(delivery.Properties.RecordFields).toEqual([...ACCESS_LOG_FIELDS]);
    expect(delivery.Properties.RecordFields).toEqual(
      expect.arrayContaining(['cs-uri-stem', 'c-ip', 'sc-status']),
    );
  });

  it('are configured in us-east-1, beside a stack deployed elsewhere, for its distribution', () => {
    const { stack, accessLogs } = deployment('eu-west-1', { logRetentionDays: 90 });
    const logStack = Stack.of(accessLogs);
    expect(logStack).not.toBe(stack);
    expect(logStack.region).toBe('us-east-1');
    const t = Template.fromStack(logStack);
    const [, source] = only(t, 'AWS::Logs::DeliverySource', 'SiteAccessLogs');
    expect(source.Properties.LogType).toBe('ACCESS_LOGS');
    expect(JSON.stringify(source.Properties.ResourceArn)).toMatch(/:cloudfront::123456789012:distribution\//);
    // The distribution's id, handed over by CDK's cross-region reference.
    expect(JSON.stringify(source.Properties.ResourceArn)).toContain('SiteDistribution');
    const [groupId, group] = only(t, 'AWS::Logs::LogGroup', 'SiteAccessLogs');
    expect(group.Properties.RetentionInDays).toBe(90);
    const [, destination] = only(t, 'AWS::Logs::DeliveryDestination', 'SiteAccessLogs');
    expect(destination.Properties.DestinationResourceArn).toEqual({ 'Fn::GetAtt': [groupId, 'Arn'] });
    // The legacy logging (query strings included) is off.
    const main = Template.fromStack(stack).toJSON().Resources;
    const dist = Object.values(main).find((r: Cfn) => r.Type === 'AWS::CloudFront::Distribution') as Cfn;
    expect(dist.Properties.DistributionConfig.Logging).toBeUndefined();
  });

  it('only let log delivery, for this account, write into their group', () => {
    const { accessLogs } = deployment('eu-west-1');
    const t = Template.fromStack(Stack.of(accessLogs));
    const [, policy] = only(t, 'AWS::Logs::ResourcePolicy', 'SiteAccessLogs');
    const document = JSON.stringify(policy.Properties.PolicyDocument);
    expect(document).toContain('delivery.logs.amazonaws.com');
    expect(document).toContain('aws:SourceAccount');
  });

  it('sit in the stack itself when it is deployed in us-east-1', () => {
    const { app, stack, accessLogs } = deployment('us-east-1');
    expect(Stack.of(accessLogs)).toBe(stack);
    expect(app.node.children.filter((c) => c instanceof Stack)).toHaveLength(1);
    Template.fromStack(stack).resourceCountIs('AWS::Logs::Delivery', 1);
  });

  it('need a region to know where to go', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...TEST_CONTEXT } });
    expect(() => addTidings(app, 'Tidings', { config: loadConfig(app.node) })).toThrow(/set AWS_REGION/);
  });

  it('pass the AwsSolutions checks and raise no warnings in either stack', () => {
    const { stack, accessLogs } = deployment('eu-west-1');
    for (const s of [stack, Stack.of(accessLogs)]) {
      const nag = new AwsSolutionsChecks().validateScope(s);
      expect(
        nag.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`),
      ).toEqual([]);
      expect(Annotations.fromStack(s).findWarning('*', Match.anyValue())).toEqual([]);
    }
  });
});
