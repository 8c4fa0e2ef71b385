import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnRoute,
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { API_ROUTES, type RouteSpec } from '../../shared/routes.js';
import { TABLE_ACCESS } from '../table-access.js';
import type { ChangeTopic } from './change-topic.js';
import type { EventsTable } from './events-table.js';
import type { Mail } from './mail.js';
import { TidingsFunction } from './tidings-function.js';

export interface ApiProps {
  table: EventsTable;
  changes: ChangeTopic;
  /** Sending and link signing, for routes that declare `uses: ['email']` or `['links']`. */
  mail: Mail;
  /** Public base URL of the site, for links in emails and pages. */
  siteUrl: string;
  logRetention: RetentionDays;
  rateLimit: number;
  burstLimit: number;
  /** `POST /api/subscriptions`'s own throttle. */
  signupThrottle: Throttle;
  /** The link routes' own throttle (every other route under /api/subscriptions/ but the feed). */
  linkThrottle: Throttle;
  /** The private feed's own throttle: feed readers poll it, and must not crowd out the links. */
  feedThrottle: Throttle;
  /** Confirmation emails per hour at most (told to the sign-up function). */
  confirmationsPerHour: number;
  /** Webhooks per API key at most (told to the function that creates them). */
  webhooksPerKey: number;
  /** The default delivery time, which subscribers' choices left incomplete fill in (told to the functions of routes that use `delivery`). */
  delivery?: { hour: number; weekday: number; timeZone: string };
  /** `POST /api/websub`'s own throttle: each request may make the hub send a verification request. */
  hubThrottle?: Throttle;
  routes?: readonly RouteSpec[];
}

export interface Throttle {
  rateLimit: number;
  burstLimit: number;
}

/** The sign-up route: anyone may call it, and each call can send an email. */
export const SIGNUP_ROUTE_KEY = 'POST /api/subscriptions';
/**
 * The links in emails (confirm, unsubscribe, manage): every route under this path but sign-up.
 * A throttle of their own keeps one-click unsubscribes working through a sign-up flood.
 */
export const LINK_ROUTE_PREFIX = '/api/subscriptions/';
/** The WebSub hub's route. */
export const HUB_ROUTE_KEY = 'POST /api/websub';

/** The private feed (read by feed readers, not people): a throttle of its own, apart from the links. */
export const FEED_ROUTE_KEY = 'GET /api/subscriptions/feed';

const routeKey = (route: RouteSpec) => `${route.method} ${route.path}`;

const pascal = (name: string) => name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());

/**
 * The HTTP API: a function per route file, a Lambda authorizer on write routes, throttled, with
 * JSON access logs. Each function gets only what its routes use.
 */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly functions: TidingsFunction[] = [];
  /**
   * What CloudFront sends the API with every request (the site's origin header): the API's own
   * endpoint is public too, and sign-up believes the viewer's address CloudFront forwards only
   * from a request that carries it.
   */
  readonly originSecret: Secret;

  /** The function of a route file (functions/<name>.ts). */
  functionOf(name: string): TidingsFunction {
    const fn = this.functions.find((f) => f.entryName === name);
    if (!fn) throw new Error(`the API has no function ${name}`);
    return fn;
  }

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.originSecret = new Secret(this, 'OriginSecret', {
      description: "Proves to the Tidings API that a request came through the site's CloudFront distribution",
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
      // Nothing outlives it: a new stack generates a new one and hands it to both ends.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.originSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "CloudFront takes the value at deploy time (a dynamic reference in the distribution's origin), so a rotation in Secrets Manager would leave CloudFront sending the old one and the API refusing it; it is changed by a deploy that replaces it",
    });
    const tableEnvironment = { [ENV.tableName]: props.table.tableName };

    const authorizerFn = new TidingsFunction(this, 'AuthorizeRequest', {
      name: 'authorize-request',
      environment: tableEnvironment,
      logRetention: props.logRetention,
    });
    props.table.grantFunction(authorizerFn);
    this.functions.push(authorizerFn);
    const authorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', authorizerFn, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.minutes(5),
    });

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Tidings API',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            // The route template, never the path or query: link tokens travel in the query.
            route: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            bytes: '$context.responseLength',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            // Which API key wrote (the authorizer's context); empty on public routes.
            keyName: '$context.authorizer.keyName',
          }),
        ),
      },
    });

    const byFunction = new Map<string, RouteSpec[]>();
    for (const route of props.routes ?? API_ROUTES) {
      byFunction.set(route.fn, [...(byFunction.get(route.fn) ?? []), route]);
    }
    const throttled: { key: string; throttle: Throttle; route: CfnRoute }[] = [];
    for (const [name, routes] of byFunction) {
      const uses = new Set(routes.flatMap((r) => r.uses ?? []));
      const inTable = TABLE_ACCESS[name] !== undefined;
      const signsUp = routes.some((r) => routeKey(r) === SIGNUP_ROUTE_KEY);
      const environment: Record<string, string> = {
        ...(inTable ? tableEnvironment : {}),
        // Webhooks are SNS subscriptions, recorded in the table under the key that made them.
        ...(uses.has('topic') ? { [ENV.topicArn]: props.changes.topic.topicArn } : {}),
        ...(uses.has('topic') && routes.some((r) => r.method === 'POST')
          ? { [ENV.webhooksPerKey]: String(props.webhooksPerKey) }
          : {}),
        ...(uses.has('email') || uses.has('links')
          ? { [ENV.siteUrl]: props.siteUrl, ...props.mail.linkEnvironment }
          : {}),
        ...(uses.has('delivery') && props.delivery
          ? {
              [ENV.digestHour]: String(props.delivery.hour),
              [ENV.digestWeekday]: String(props.delivery.weekday),
              [ENV.defaultTimeZone]: props.delivery.timeZone,
            }
          : {}),
        // Only sign-up sends from the API: confirmations, within the hourly budget.
        ...(uses.has('email')
          ? { ...props.mail.sendEnvironment, [ENV.confirmationsPerHour]: String(props.confirmationsPerHour) }
          : {}),
        // Sign-up counts clients by the viewer's address, believed only with CloudFront's proof.
        ...(signsUp ? { [ENV.originSecretArn]: this.originSecret.secretArn } : {}),
      };
      const fn = new TidingsFunction(this, pascal(name), {
        name,
        environment,
        logRetention: props.logRetention,
      });
      this.functions.push(fn);
      if (uses.has('topic')) props.changes.grantManageSubscriptions(fn);
      if (inTable) props.table.grantFunction(fn);
      if (uses.has('email')) props.mail.grantSend(fn);
      else if (uses.has('links')) props.mail.grantLinks(fn);
      if (signsUp) this.originSecret.grantRead(fn);
      const integration = new HttpLambdaIntegration(`${pascal(name)}Integration`, fn);
      for (const route of routes) {
        const [added] = this.httpApi.addRoutes({
          path: route.path,
          methods: [HttpMethod[route.method]],
          integration,
          ...(route.auth ? { authorizer } : {}),
        });
        const key = routeKey(route);
        const throttle =
          key === SIGNUP_ROUTE_KEY
            ? props.signupThrottle
            : key === FEED_ROUTE_KEY
              ? props.feedThrottle
              : route.path.startsWith(LINK_ROUTE_PREFIX)
                ? props.linkThrottle
                : key === HUB_ROUTE_KEY
                  ? props.hubThrottle
                  : undefined;
        if (throttle && added) throttled.push({ key, throttle, route: added.node.defaultChild as CfnRoute });
        if (!route.auth && added) {
          Validations.of(added).acknowledge({
            id: 'AwsSolutions-APIG4',
            reason: `${route.method} ${route.path} is public by design: ${
              uses.has('links')
                ? "the request is authorized by the HMAC-signed, expiring token in the reader's link, scoped to one subscriber"
                : key === HUB_ROUTE_KEY
                  ? 'a WebSub hub takes subscriptions from any feed reader; nothing is delivered until the callback confirms intent, callbacks must be https to public addresses, and subscriptions are capped per host and per feed'
                  : uses.has('email')
                    ? 'anyone may subscribe without an account; nothing but the confirmation email is sent until the address confirms (double opt-in)'
                    : 'reads are public, the same data the public site and feeds publish'
            }`,
          });
        }
      }
    }
    // Route settings name route keys, which must exist before the stage that names them.
    const stage = this.stage.node.defaultChild as CfnStage;
    stage.routeSettings = Object.fromEntries(
      throttled.map(({ key, throttle }) => [
        key,
        { ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit },
      ]),
    );
    for (const { route } of throttled) stage.node.addDependency(route);
  }
}
