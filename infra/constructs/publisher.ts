import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { CfnBucket, IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { acknowledgeWildcard } from '../nag.js';
import type { EventsTable } from './events-table.js';
import { TidingsFunction } from './tidings-function.js';

export interface PublisherProps {
  table: EventsTable;
  /** The site bucket it writes pages and feeds to. */
  bucket: IBucket;
  siteUrl: string;
  feedSize: number;
  /** Minutes between incremental publish runs. */
  publishEveryMinutes: number;
  logRetention: RetentionDays;
}

/** The scheduled function that rebuilds what changed into the site bucket. */
export class Publisher extends Construct {
  readonly handler: TidingsFunction;
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: PublisherProps) {
    super(scope, id);
    this.handler = new TidingsFunction(this, 'PublishSite', {
      name: 'publish-site',
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.siteBucket]: props.bucket.bucketName,
        [ENV.siteUrl]: props.siteUrl,
        [ENV.feedSize]: String(props.feedSize),
      },
      logRetention: props.logRetention,
      timeout: Duration.minutes(15),
      memorySize: 1024,
    });
    // Reads events and listings, clears marks (conditional deletes).
    props.table.grantFunction(this.handler);
    // Compares, writes and removes pages: HeadObject (s3:GetObject), PutObject, DeleteObject.
    // ListBucket makes HeadObject of a page not yet written a 404 rather than a 403.
    this.handler.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
        resources: [props.bucket.arnForObjects('*')],
      }),
    );
    this.handler.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.bucket.bucketArn] }),
    );
    acknowledgeWildcard(
      this.handler,
      { element: props.bucket.node.defaultChild as CfnBucket, attribute: 'Arn', suffix: '/*' },
      'The publisher owns every object in the site bucket; page and feed keys are known only at run time',
    );
    this.schedule = new Rule(this, 'Schedule', {
      description: 'Rebuild the pages and feeds that changed',
      schedule: Schedule.rate(Duration.minutes(props.publishEveryMinutes)),
      // A failed run leaves its marks; the next run retries them.
      targets: [new LambdaFunction(this.handler, { retryAttempts: 0 })],
    });
  }
}
