import { Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AccessLevel,
  AllowedMethods,
  CachePolicy,
  Function as CloudFrontFunction,
  Distribution,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import {
  FunctionUrlOrigin,
  HttpOrigin,
  OriginGroup,
  S3BucketOrigin,
} from 'aws-cdk-lib/aws-cloudfront-origins';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { FunctionUrlAuthType } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { ORIGIN_HEADER } from '../../shared/domain/signup.js';
import { NOT_FOUND_PAGE } from '../../shared/domain/site.js';
import { TidingsFunction } from './tidings-function.js';

export interface SiteProps {
  /** The API that `/api/*` is routed to. */
  api: HttpApi;
  /** Sent to the API with every request, so it knows the request came through CloudFront. */
  originSecret: ISecret;
  /** A host name and its us-east-1 certificate; the CloudFront domain otherwise. */
  domain?: { name: string; certificateArn: string };
  /** Days the site bucket's access logs, and the not-found function's logs, are kept. */
  logRetentionDays: number;
}

/**
 * What the bucket answers for a page it does not hold, on which CloudFront asks the not-found
 * function instead: 404 (the distribution may list the bucket), and 403, which S3 answers in its
 * place should listing ever be withdrawn.
 */
export const NOT_FOUND_STATUSES = [403, 404];

/** Pages carry no script and one inline stylesheet; event images come from their sources. */
const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The folder where the publisher keeps its own records in the bucket (shared/services/publish.ts). */
export const PRIVATE_FOLDER = '_publish';

/**
 * On every request for the bucket: the publisher's records answer 404, and directory URLs
 * (`/tags/`) serve their index.html, as on any static host. The path is decoded first (S3 decodes
 * `%5F` to `_`), and any segment named like the folder is refused wherever it stands, so dot
 * segments or doubled slashes cannot reach it; no page of the site has such a segment (slugs are
 * `a-z0-9-`).
 */
export const SITE_REQUEST_FUNCTION = `function handler(event) {
  var request = event.request;
  var path;
  try { path = decodeURIComponent(request.uri); } catch (e) { return { statusCode: 400, statusDescription: 'Bad Request' }; }
  if (path.split('/').indexOf('${PRIVATE_FOLDER}') !== -1) return { statusCode: 404, statusDescription: 'Not Found' };
  if (request.uri.endsWith('/')) request.uri += 'index.html';
  return request;
}`;

/**
 * The public site: a private bucket the publisher writes to, served by CloudFront through origin
 * access control, with `/api/*` passed to the HTTP API uncached. HTTPS only, security headers on
 * every response, access logs kept for the retention period.
 */
export class Site extends Construct {
  readonly bucket: Bucket;
  readonly logs: Bucket;
  readonly distribution: Distribution;
  /** Answers the site's 404 page for a page the bucket does not hold. */
  readonly notFound: TidingsFunction;
  /** `https://` + the domain or the CloudFront domain, without a trailing slash. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: SiteProps) {
    super(scope, id);
    this.logs = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // The site bucket's server access logs are delivered with ACLs (CloudFront's go to CloudWatch Logs).
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(props.logRetentionDays) }],
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    Validations.of(this.logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging its own access would log forever',
    });

    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.logs,
      serverAccessLogsPrefix: 'site-bucket/',
      // Everything in it is rebuilt from the table by a full publish.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    const headers = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Tidings: HSTS, no sniffing, no framing, strict referrer, a CSP for static pages',
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: {
          referrerPolicy: HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
          override: true,
        },
        // Not overriding lets a page that says otherwise keep its own.
        contentSecurityPolicy: { contentSecurityPolicy: PAGE_CSP, override: false },
      },
    });

    // The API's pages carry link tokens in their URLs and say `Referrer-Policy: no-referrer`
    // themselves: kept, never overridden (no-referrer is added where a response has none).
    const apiHeaders = new ResponseHeadersPolicy(this, 'ApiSecurityHeaders', {
      comment: "Tidings API: HSTS, no sniffing, no framing; the API's own referrer policy and CSP kept",
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: false },
        contentSecurityPolicy: { contentSecurityPolicy: PAGE_CSP, override: false },
      },
    });

    // `https://<id>.execute-api.<region>.amazonaws.com` without the scheme.
    const apiDomain = Fn.select(2, Fn.split('/', props.api.apiEndpoint));
    const certificate = props.domain
      ? Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn)
      : undefined;

    // Custom error responses would apply to the whole distribution, the API's errors included, so
    // missing pages are answered by a failover origin that only the site's behaviour uses.
    this.notFound = new TidingsFunction(this, 'NotFoundPage', {
      name: 'serve-not-found',
      environment: { [ENV.siteBucket]: this.bucket.bucketName },
      logRetention: props.logRetentionDays as RetentionDays,
      memorySize: 256,
    });
    this.notFound.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(NOT_FOUND_PAGE)],
      }),
    );
    // Before the first publish the page is missing: listing makes that a 404, not AccessDenied.
    this.notFound.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }),
    );
    // Only this distribution may call it: CloudFront signs each request (origin access control).
    const notFoundUrl = this.notFound.addFunctionUrl({ authType: FunctionUrlAuthType.AWS_IAM });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: `Tidings site (${Stack.of(this).stackName})`,
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      // North America and Europe edges: the cheapest class.
      priceClass: PriceClass.PRICE_CLASS_100,
      ...(props.domain && certificate
        ? {
            domainNames: [props.domain.name],
            certificate,
            minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
      // Access logs: standard logging v2 (DistributionLogs), which leaves the query string out;
      // the legacy logs this setting writes always carry it, link tokens and all.
      enableLogging: false,
      defaultBehavior: {
        // A page the bucket does not hold is asked of the not-found function, which answers the
        // site's 404 page. LIST lets S3 answer 404 rather than 403 for a page that does not exist.
        origin: new OriginGroup({
          primaryOrigin: S3BucketOrigin.withOriginAccessControl(this.bucket, {
            originAccessLevels: [AccessLevel.READ, AccessLevel.LIST],
          }),
          fallbackOrigin: FunctionUrlOrigin.withOriginAccessControl(notFoundUrl),
          fallbackStatusCodes: NOT_FOUND_STATUSES,
        }),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        // Honours the Cache-Control the publisher sets on each object (a minute for pages).
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
        functionAssociations: [
          {
            eventType: FunctionEventType.VIEWER_REQUEST,
            function: new CloudFrontFunction(this, 'DirectoryIndex', {
              comment: 'Hide the publisher records; serve index.html for directory URLs',
              code: FunctionCode.fromInline(SITE_REQUEST_FUNCTION),
              runtime: FunctionRuntime.JS_2_0,
            }),
          },
        ],
      },
      additionalBehaviors: {
        '/api/*': {
          origin: new HttpOrigin(apiDomain, {
            protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
            // The API's endpoint is public as well: this header, which CloudFront sets whatever the
            // viewer sent under that name, is what makes CloudFront-Viewer-Address believable. A
            // dynamic reference: the value is resolved by CloudFormation, never written in the template.
            customHeaders: { [ORIGIN_HEADER]: props.originSecret.secretValue.unsafeUnwrap() },
          }),
          // A redirect would turn a POST into a GET: plain HTTP is refused instead.
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          cachePolicy: CachePolicy.CACHING_DISABLED,
          // Query strings, Authorization and the rest; Host must stay the API's own. This managed
          // policy also adds CloudFront's viewer headers, CloudFront-Viewer-Address among them: the
          // reader's own address, which sign-up limits per client (API Gateway sees CloudFront's).
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: apiHeaders,
        },
      },
    });
    this.url = `https://${props.domain?.name ?? this.distribution.distributionDomainName}`;

    Validations.of(this.distribution).acknowledge(
      {
        id: 'Annotation::@aws-cdk/aws-cloudfront-origins:listBucketSecurityRisk',
        reason:
          'LIST only turns a missing page into a 404 (not a 403): the root serves index.html and directory URLs are rewritten to their index.html, so no listing is ever returned',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'Access logs are delivered by CloudFront standard logging v2 (AWS::Logs::Delivery, DistributionLogs) with chosen fields; the legacy logging this rule looks for always logs query strings, which carry link tokens',
      },
      {
        id: 'AwsSolutions-CFR1',
        reason: 'A public news site and feed: readers in every country are the audience',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'A CloudFront web ACL must be created in us-east-1 and costs a monthly fee; the site is static, the API is throttled per stage and writes need a key',
      },
      ...(props.domain
        ? []
        : [
            {
              id: 'AwsSolutions-CFR4',
              reason:
                'Without a configured domain the distribution uses the default *.cloudfront.net certificate, whose TLS policy cannot be set; deploy with -c domain= and -c certificateArn= for TLS 1.2+',
            },
          ]),
    );
  }
}
