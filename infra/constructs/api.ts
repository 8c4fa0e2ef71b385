import { Duration } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { API_ROUTES, type RouteSpec } from '../../shared/routes.js';
import type { ChangeTopic } from './change-topic.js';
import { TidingsFunction } from './tidings-function.js';

export interface ApiProps {
  table: ITableV2;
  changes: ChangeTopic;
  logRetention: RetentionDays;
  rateLimit: number;
  burstLimit: number;
}

const pascal = (name: string) => name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());

/** The HTTP API: a function per route, a Lambda authorizer on write routes, throttled. */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly functions: TidingsFunction[] = [];

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const environment = { [ENV.tableName]: props.table.tableName };
    const webhookEnvironment = { [ENV.topicArn]: props.changes.topic.topicArn };

    const authorizerFn = new TidingsFunction(this, 'AuthorizeRequest', {
      name: 'authorize-request',
      environment,
      logRetention: props.logRetention,
    });
    props.table.grantReadData(authorizerFn);
    this.functions.push(authorizerFn);
    const authorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', authorizerFn, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: Duration.minutes(5),
    });

    this.httpApi = new HttpApi(this, 'HttpApi', { createDefaultStage: false });
    new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
    });

    const byFunction = new Map<string, RouteSpec[]>();
    for (const route of API_ROUTES) byFunction.set(route.fn, [...(byFunction.get(route.fn) ?? []), route]);
    for (const [name, routes] of byFunction) {
      const isWebhook = routes.some((r) => r.path.startsWith('/api/webhooks'));
      const fn = new TidingsFunction(this, pascal(name), {
        name,
        environment: isWebhook ? webhookEnvironment : environment,
        logRetention: props.logRetention,
      });
      this.functions.push(fn);
      if (isWebhook) props.changes.grantManageSubscriptions(fn);
      else if (routes.some((r) => r.method !== 'GET')) props.table.grantReadWriteData(fn);
      else props.table.grantReadData(fn);
      const integration = new HttpLambdaIntegration(`${pascal(name)}Integration`, fn);
      for (const route of routes) {
        this.httpApi.addRoutes({
          path: route.path,
          methods: [HttpMethod[route.method]],
          integration,
          ...(route.auth ? { authorizer } : {}),
        });
      }
    }
  }
}
