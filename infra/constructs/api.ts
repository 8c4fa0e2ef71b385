import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { API_ROUTES, type RouteSpec } from '../../shared/routes.js';
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
  routes?: readonly RouteSpec[];
}

const pascal = (name: string) => name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());

/**
 * The HTTP API: a function per route file, a Lambda authorizer on write routes, throttled, with
 * JSON access logs. Each function gets only what its routes use.
 */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly functions: TidingsFunction[] = [];

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const tableEnvironment = { [ENV.tableName]: props.table.tableName };

    const authorizerFn = new TidingsFunction(this, 'AuthorizeRequest', {
      name: 'authorize-request',
      environment: tableEnvironment,
      logRetention: props.logRetention,
    });
    props.table.grantRead(authorizerFn);
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
            method: '$context.httpMethod',
            route: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            bytes: '$context.responseLength',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });

    const byFunction = new Map<string, RouteSpec[]>();
    for (const route of props.routes ?? API_ROUTES) {
      byFunction.set(route.fn, [...(byFunction.get(route.fn) ?? []), route]);
    }
    for (const [name, routes] of byFunction) {
      const uses = new Set(routes.flatMap((r) => r.uses ?? []));
      const writes = routes.some((r) => r.method !== 'GET');
      let environment: Record<string, string>;
      if (uses.has('topic')) {
        // Webhooks are SNS subscriptions: nothing of theirs is in the table.
        environment = { [ENV.topicArn]: props.changes.topic.topicArn };
      } else if (uses.has('email') || uses.has('links')) {
        environment = {
          ...tableEnvironment,
          [ENV.siteUrl]: props.siteUrl,
          ...props.mail.linkEnvironment,
          ...(uses.has('email') ? props.mail.sendEnvironment : {}),
        };
      } else {
        environment = tableEnvironment;
      }
      const fn = new TidingsFunction(this, pascal(name), {
        name,
        environment,
        logRetention: props.logRetention,
      });
      this.functions.push(fn);
      if (uses.has('topic')) {
        props.changes.grantManageSubscriptions(fn);
      } else if (uses.has('email') || uses.has('links')) {
        props.table.grantReadWrite(fn);
        if (uses.has('email')) props.mail.grantSend(fn);
        else props.mail.grantLinks(fn);
      } else if (writes) {
        props.table.grantReadWrite(fn);
      } else {
        props.table.grantRead(fn);
      }
      const integration = new HttpLambdaIntegration(`${pascal(name)}Integration`, fn);
      for (const route of routes) {
        const [added] = this.httpApi.addRoutes({
          path: route.path,
          methods: [HttpMethod[route.method]],
          integration,
          ...(route.auth ? { authorizer } : {}),
        });
        if (!route.auth && added) {
          Validations.of(added).acknowledge({
            id: 'AwsSolutions-APIG4',
            reason: `${route.method} ${route.path} is public by design: ${
              uses.has('links')
                ? "the request is authorized by the HMAC-signed, expiring token in the reader's link, scoped to one subscriber"
                : uses.has('email')
                  ? 'anyone may subscribe without an account; nothing but the confirmation email is sent until the address confirms (double opt-in)'
                  : 'reads are public, the same data the public site and feeds publish'
            }`,
          });
        }
      }
    }
  }
}
