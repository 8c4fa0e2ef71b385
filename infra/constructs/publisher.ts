import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import { TidingsFunction } from './tidings-function.js';

export interface PublisherProps {
  table: ITableV2;
  siteUrl: string;
  feedSize: number;
  /** Minutes between incremental publish runs. */
  publishEveryMinutes: number;
  logRetention: RetentionDays;
}

/** The site bucket and the scheduled function that rebuilds what changed into it. */
export class Publisher extends Construct {
  readonly bucket: Bucket;
  readonly handler: TidingsFunction;

  constructor(scope: Construct, id: string, props: PublisherProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'SiteBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Everything in it is rebuilt from the table by a full publish.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    this.handler = new TidingsFunction(this, 'PublishSite', {
      name: 'publish-site',
      environment: {
        [ENV.tableName]: props.table.tableName,
        [ENV.siteBucket]: this.bucket.bucketName,
        [ENV.siteUrl]: props.siteUrl,
        [ENV.feedSize]: String(props.feedSize),
      },
      logRetention: props.logRetention,
      timeout: Duration.minutes(15),
      memorySize: 1024,
    });
    // Reads events and listings, clears marks (conditional deletes).
    props.table.grantReadWriteData(this.handler);
    this.bucket.grantReadWrite(this.handler);
    this.bucket.grantDelete(this.handler);
    new Rule(this, 'Schedule', {
      description: 'Rebuild the pages and feeds that changed',
      schedule: Schedule.rate(Duration.minutes(props.publishEveryMinutes)),
      targets: [new LambdaFunction(this.handler, { retryAttempts: 0 })],
    });
  }
}
