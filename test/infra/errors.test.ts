import { GetObjectCommand, type GetObjectCommandOutput, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { makeHandler } from '../../functions/serve-not-found.js';
import { NOT_FOUND_STATUSES } from '../../infra/constructs/site.js';
import { lambdaContext } from '../../local/lambda-context.js';
import { makeS3ObjectStore } from '../../shared/adapters/s3.js';
import { NOT_FOUND_PAGE } from '../../shared/domain/site.js';
import { BUILT_IN_NOT_FOUND_PAGE } from '../../shared/render/not-found.js';
import { synthTidings } from '../helpers/synth.js';

const { template, nag } = synthTidings();

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, asserted on structurally
type Cfn = any;
type Resource = { Type: string; Properties: Record<string, Cfn> };
const resourcesOf = (type: string) => Object.entries(template.findResources(type)) as [string, Resource][];
const only = (type: string, prefix: string): [string, Resource] => {
  const found = resourcesOf(type).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`${found.length} ${type} named ${prefix}*`);
  return found[0] as [string, Resource];
};
const config = () => only('AWS::CloudFront::Distribution', 'Site')[1].Properties.DistributionConfig;
const originOf = (id: string) => config().Origins.find((o: Cfn) => o.Id === id);
const [functionId, notFoundFunction] = only('AWS::Lambda::Function', 'SiteNotFoundPage');
const [urlId, functionUrl] = only('AWS::Lambda::Url', 'SiteNotFoundPage');
const distributionId = only('AWS::CloudFront::Distribution', 'Site')[0];

describe('errors through the distribution', () => {
  it('replace no response distribution-wide, so the API’s own errors reach its clients', () => {
    // A custom error response applies to every behaviour, /api/* included: none at all.
    expect(config().CustomErrorResponses).toBeUndefined();
  });

  it('leave the API behaviour on the API itself, with no failover to the 404 page', () => {
    const api = config().CacheBehaviors.find((b: Cfn) => b.PathPattern === '/api/*');
    expect(api).toBeDefined();
    // Straight to the API's origin: not an origin group, so nothing stands in for a 404 of the API.
    const groups = config().OriginGroups.Items.map((g: Cfn) => g.Id);
    expect(groups).not.toContain(api.TargetOriginId);
    expect(JSON.stringify(originOf(api.TargetOriginId).DomainName)).toContain('ApiEndpoint');
    expect(JSON.stringify(originOf(api.TargetOriginId).DomainName)).not.toContain(urlId);
  });

  it('answer a page the bucket does not hold from the not-found function, on the site behaviour only', () => {
    const site = config().DefaultCacheBehavior;
    expect(config().OriginGroups.Quantity).toBe(1);
    const [group] = config().OriginGroups.Items;
    expect(site.TargetOriginId).toBe(group.Id);
    expect(group.FailoverCriteria.StatusCodes).toEqual({ Items: NOT_FOUND_STATUSES, Quantity: 2 });
    expect(NOT_FOUND_STATUSES).toEqual([403, 404]);
    const [primary, fallback] = group.Members.Items.map((m: Cfn) => originOf(m.OriginId));
    expect(group.Members.Quantity).toBe(2);
    expect(primary.DomainName).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^SiteBucket/), 'RegionalDomainName'],
    });
    expect(fallback.DomainName).toEqual({
      'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [urlId, 'FunctionUrl'] }] }],
    });
    expect(fallback.CustomOriginConfig.OriginProtocolPolicy).toBe('https-only');
    // The site behaviour keeps its viewer-request function (the publisher's records answer 404)
    // and its security headers, on the 404 page as on every page.
    expect(site.FunctionAssociations).toHaveLength(1);
    expect(site.ResponseHeadersPolicyId).toEqual({ Ref: expect.stringMatching(/^SiteSecurityHeaders/) });
  });

  it('keep the not-found function private to this distribution: signed requests, its URL needing IAM', () => {
    expect(functionUrl.Properties).toEqual({
      AuthType: 'AWS_IAM',
      TargetFunctionArn: { 'Fn::GetAtt': [functionId, 'Arn'] },
    });
    const group = config().OriginGroups.Items[0];
    const fallback = originOf(group.Members.Items[1].OriginId);
    const oac = template.toJSON().Resources[fallback.OriginAccessControlId['Fn::GetAtt'][0]];
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 'lambda',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
    // The only permissions on the function: this distribution, through the URL.
    const permissions = resourcesOf('AWS::Lambda::Permission')
      .map(([, p]) => p.Properties)
      .filter((p) => [functionId, urlId].some((id) => JSON.stringify(p.FunctionName).includes(id)));
    const sourceArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':cloudfront::',
          { Ref: 'AWS::AccountId' },
          ':distribution/',
          { Ref: distributionId },
        ],
      ],
    };
    const target = { 'Fn::GetAtt': [urlId, 'FunctionArn'] };
    expect(permissions).toEqual([
      {
        Action: 'lambda:InvokeFunctionUrl',
        FunctionName: target,
        Principal: 'cloudfront.amazonaws.com',
        SourceArn: sourceArn,
      },
      {
        Action: 'lambda:InvokeFunction',
        FunctionName: target,
        InvokedViaFunctionUrl: true,
        Principal: 'cloudfront.amazonaws.com',
        SourceArn: sourceArn,
      },
    ]);
  });

  it('let the not-found function read the 404 page and nothing else of the bucket', () => {
    const role = notFoundFunction.Properties.Role['Fn::GetAtt'][0];
    const statements = resourcesOf('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Cfn[])
      .filter((s) => !JSON.stringify(s.Action).includes('logs:'));
    const bucket = resourcesOf('AWS::S3::Bucket').find(([id]) => id.startsWith('SiteBucket'))?.[0];
    expect(statements).toEqual([
      {
        Action: 's3:GetObject',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, `/${NOT_FOUND_PAGE}`]] },
      },
      // Key names only, so that a page not yet published is a 404 rather than AccessDenied.
      { Action: 's3:ListBucket', Effect: 'Allow', Resource: { 'Fn::GetAtt': [bucket, 'Arn'] } },
    ]);
    expect(notFoundFunction.Properties.Environment.Variables.SITE_BUCKET).toEqual({ Ref: bucket });
  });

  it('leave cdk-nag nothing to report on the not-found function, its URL or the distribution', () => {
    const findings = nag.violations
      .flatMap((v) => v.violatingResources.map((r) => `${v.ruleName}: ${r.constructPath}`))
      .filter((f) => /NotFoundPage|Distribution/.test(f));
    expect(findings).toEqual([]);
  });
});

describe('the not-found function', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());

  /** A request as CloudFront fails it over: the viewer's path, signed, through the function URL. */
  const eventFor = (method: string, path: string): LambdaFunctionURLEvent => ({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {
      host: 'abcdefghij.lambda-url.eu-west-1.on.aws',
      'user-agent': 'Amazon CloudFront',
      via: '2.0 x.cloudfront.net (CloudFront)',
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdefghij',
      domainName: 'abcdefghij.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abcdefghij',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '130.176.1.1', userAgent: 'Amazon CloudFront' },
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      routeKey: '$default',
      stage: '$default',
      time: '06/Dec/2026:04:00:00 +0000',
      timeEpoch: 1796529600000,
    },
    isBase64Encoded: false,
  });
  const run = (store: ReturnType<typeof makeS3ObjectStore>, method: string, path: string) =>
    makeHandler({ objects: store })(
      eventFor(method, path),
      lambdaContext('serve-not-found', 'r-1'),
    ) as Promise<
      LambdaFunctionURLResult & { statusCode: number; headers: Record<string, string>; body: string }
    >;

  /** What the SDK gives for an object's body: a stream that can be read whole. */
  const bodyOf = (text: string): Partial<GetObjectCommandOutput> => ({
    Body: {
      transformToByteArray: async () => new TextEncoder().encode(text),
    } as GetObjectCommandOutput['Body'],
  });

  const PUBLISHED =
    '<!DOCTYPE html>\n<html lang="en"><head><title>Page not found · Tidings</title></head></html>\n';

  it.each([
    ['GET', '/news/2099/01/01/nothing.html'],
    ['GET', '/no-such-folder/index.html'],
    ['HEAD', '/feeds/nothing.xml'],
    // Never reaches it (the viewer-request function answers first), and would get the page, not the record.
    ['GET', '/_publish/feeds/all.json'],
  ])('answers %s %s with the published 404 page, status 404, as HTML', async (method, path) => {
    s3.on(GetObjectCommand, { Bucket: 'site-bucket', Key: NOT_FOUND_PAGE }).resolves(bodyOf(PUBLISHED));
    const result = await run(makeS3ObjectStore(new S3Client({}), 'site-bucket'), method, path);
    expect(result.statusCode).toBe(404);
    expect(result.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(result.headers['cache-control']).toBe('public, max-age=60, must-revalidate');
    expect(result.body).toBe(PUBLISHED);
    // It reads the 404 page, whatever the path asked for.
    expect(s3.calls().map((c) => (c.args[0].input as { Key?: string }).Key)).toEqual([NOT_FOUND_PAGE]);
  });

  it('answers the built-in page while the bucket has no 404 page yet (S3: NoSuchKey)', async () => {
    s3.onAnyCommand().rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));
    const result = await run(makeS3ObjectStore(new S3Client({}), 'site-bucket'), 'GET', '/anything.html');
    expect(result.statusCode).toBe(404);
    expect(result.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(result.body).toBe(BUILT_IN_NOT_FOUND_PAGE);
  });

  it('fails rather than answer a page it could not read (the bucket refused)', async () => {
    const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    s3.onAnyCommand().rejects(denied);
    await expect(run(makeS3ObjectStore(new S3Client({}), 'site-bucket'), 'GET', '/x.html')).rejects.toThrow(
      'Access Denied',
    );
  });
});
