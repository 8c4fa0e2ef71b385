import { Annotations, CfnOutput, Lazy, Stack, type StackProps, Token } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { TidingsConfig } from './config.js';
import { Alerts } from './constructs/alerts.js';
import { Api } from './constructs/api.js';
import { ChangeStream } from './constructs/change-stream.js';
import { ChangeTopic } from './constructs/change-topic.js';
import { TidingsDashboard } from './constructs/dashboard.js';
import { Digests } from './constructs/digests.js';
import { DistributionLogs } from './constructs/distribution-logs.js';
import { EventsTable } from './constructs/events-table.js';
import { Mail } from './constructs/mail.js';
import { Monitoring } from './constructs/monitoring.js';
import { Publisher } from './constructs/publisher.js';
import { ReputationGuard } from './constructs/reputation-guard.js';
import { Site } from './constructs/site.js';
import { WebSub } from './constructs/websub.js';

export interface TidingsStackProps extends StackProps {
  config: TidingsConfig;
}

/** CloudFront takes its access-log delivery (standard logging v2) only in this region. */
export const CLOUDFRONT_LOGS_REGION = 'us-east-1';

/**
 * One deployment: the Tidings stack and its distribution's access-log delivery, in the stack itself
 * when it is deployed in us-east-1, else in a small stack of its own there (`<id>AccessLogs`),
 * which learns the distribution's id through CDK's cross-region references.
 */
export const addTidings = (
  scope: Construct,
  id: string,
  props: TidingsStackProps,
): { stack: TidingsStack; accessLogs: DistributionLogs } => {
  const region = props.env?.region;
  if (region === undefined || Token.isUnresolved(region)) {
    throw new Error('Tidings needs a region to deploy to: set AWS_REGION (the access logs go to us-east-1)');
  }
  const logRetention = props.config.logRetentionDays as RetentionDays;
  if (region === CLOUDFRONT_LOGS_REGION) {
    const stack = new TidingsStack(scope, id, props);
    const accessLogs = new DistributionLogs(stack, 'SiteAccessLogs', {
      distributionId: stack.site.distribution.distributionId,
      logRetention,
    });
    return { stack, accessLogs };
  }
  const stack = new TidingsStack(scope, id, { ...props, crossRegionReferences: true });
  const logStack = new Stack(scope, `${id}AccessLogs`, {
    env: { ...props.env, region: CLOUDFRONT_LOGS_REGION },
    crossRegionReferences: true,
    description: `Tidings: the access logs of ${id}'s CloudFront distribution (CloudFront configures them in ${CLOUDFRONT_LOGS_REGION})`,
  });
  // Strong, as CDK defaults to: the site stack cannot drop its distribution while logs name it.
  Annotations.of(logStack).acknowledgeWarning(
    '@aws-cdk/core:crossStackReferencesDefaultStrong',
    'A strong reference is what we want: the distribution outlives its access-log delivery',
  );
  const accessLogs = new DistributionLogs(logStack, 'SiteAccessLogs', {
    distributionId: stack.site.distribution.distributionId,
    logRetention,
  });
  return { stack, accessLogs };
};

/**
 * All of Tidings: the table and its API; the table's stream → process-changes → the topic of
 * changes; the publisher writing the site that CloudFront serves; email and digests through SES;
 * alarms to the operator.
 */
export class TidingsStack extends Stack {
  readonly events: EventsTable;
  readonly topic: ChangeTopic;
  readonly mail: Mail;
  readonly api: Api;
  readonly site: Site;
  readonly changes: ChangeStream;
  readonly publisher: Publisher;
  readonly digests: Digests;
  readonly alerts: Alerts;
  readonly monitoring: Monitoring;
  readonly reputation: ReputationGuard;
  readonly dashboard: TidingsDashboard;
  readonly websub: WebSub;

  constructor(scope: Construct, id: string, props: TidingsStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as RetentionDays;

    // One customer managed key for the topics AWS services publish to (SES feedback, alarms).
    const topicKey = new Key(this, 'ServiceTopicsKey', {
      description: 'Tidings: encrypts the SNS topics that SES and CloudWatch publish to',
      enableKeyRotation: true,
    });

    this.events = new EventsTable(this, 'Events', { removalPolicy: config.removalPolicy });
    this.topic = new ChangeTopic(this, 'ChangeTopic');
    this.mail = new Mail(this, 'Mail', {
      fromAddress: config.fromAddress,
      sendingDomain: config.sendingDomain,
      table: this.events,
      topicKey,
      logRetention,
      removalPolicy: config.removalPolicy,
    });
    // The API is built before the site that fronts it, so its links take the site's URL lazily.
    let siteUrl: string | undefined;
    this.api = new Api(this, 'Api', {
      table: this.events,
      changes: this.topic,
      mail: this.mail,
      siteUrl: Lazy.string({
        produce: () => {
          if (siteUrl === undefined) throw new Error('the site URL is read before the site exists');
          return siteUrl;
        },
      }),
      logRetention,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      signupThrottle: { rateLimit: config.signupRateLimit, burstLimit: config.signupBurstLimit },
      linkThrottle: { rateLimit: config.linkRateLimit, burstLimit: config.linkBurstLimit },
      feedThrottle: { rateLimit: config.feedRateLimit, burstLimit: config.feedBurstLimit },
      confirmationsPerHour: config.confirmationsPerHour,
      webhooksPerKey: config.webhooksPerKey,
      delivery: { hour: config.digestHour, weekday: config.digestWeekday, timeZone: config.defaultTimeZone },
      hubThrottle: { rateLimit: config.websubRateLimit, burstLimit: config.websubBurstLimit },
    });
    this.site = new Site(this, 'Site', {
      api: this.api.httpApi,
      originSecret: this.api.originSecret,
      ...(config.domain ? { domain: config.domain } : {}),
      logRetentionDays: config.logRetentionDays,
    });
    siteUrl = this.site.url;
    this.changes = new ChangeStream(this, 'Changes', {
      table: this.events,
      changes: this.topic,
      siteUrl: this.site.url,
      logRetention,
      parallelization: config.streamParallelization,
    });
    this.publisher = new Publisher(this, 'Publisher', {
      table: this.events,
      bucket: this.site.bucket,
      siteUrl: this.site.url,
      feedSize: config.feedSize,
      publishEveryMinutes: config.publishEveryMinutes,
      workers: config.publishWorkers,
      logRetention,
    });
    this.digests = new Digests(this, 'Digests', {
      table: this.events,
      mail: this.mail,
      siteUrl: this.site.url,
      hour: config.digestHour,
      weekday: config.digestWeekday,
      timeZone: config.defaultTimeZone,
      sendRate: config.digestSendRate,
      concurrency: config.digestConcurrency,
      logRetention,
    });

    this.alerts = new Alerts(this, 'Alerts', {
      table: this.events,
      mail: this.mail,
      topic: this.topic.topic,
      siteUrl: this.site.url,
      coalesceMinutes: config.instantCoalesceMinutes,
      dailyCap: config.instantDailyCap,
      defaultTimeZone: config.defaultTimeZone,
      sendRate: config.digestSendRate,
      concurrency: config.alertConcurrency,
      logRetention,
    });

    this.websub = new WebSub(this, 'WebSub', {
      table: this.events,
      bucket: this.site.bucket,
      siteUrl: this.site.url,
      hubFunction: this.api.functionOf('websub-hub'),
      publishers: this.publisher.functions,
      perHost: config.websubPerHost,
      perFeed: config.websubPerFeed,
      externalHubs: config.websubHubs,
      logRetention,
    });

    this.reputation = new ReputationGuard(this, 'Reputation', { table: this.events, topicKey, logRetention });

    this.monitoring = new Monitoring(this, 'Monitoring', {
      topicKey,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    });
    this.monitoring.watchConfirmationBudget();
    this.monitoring.watchSesReputation(this.reputation.topic.topic);
    this.monitoring.watchApi(this.api.httpApi);
    this.monitoring.watchPublishRuns(this.publisher.handler);
    this.monitoring.watchPublishSlices(this.publisher.sliceWorker);
    this.monitoring.watchUnqueuedFailures(
      'UnqueuedFailures',
      { 'plan-digests': this.digests.planner, 'handle-reputation-alarm': this.reputation.handler },
      'Scheduled or notified work',
    );
    this.monitoring.watchIteratorAge('ProcessChanges', this.changes.handler, 'process-changes');
    this.monitoring.watchDeadLetters('ChangeDeadLetters', this.changes.deadLetterQueue, 'Change records');
    this.monitoring.watchDeadLetters('DigestDeadLetters', this.digests.deadLetterQueue, 'Digest batches');
    this.monitoring.watchDeadLetters('WebSubDeadLetters', this.websub.deadLetterQueue, 'WebSub hub messages');
    this.monitoring.watchDeadLetters(
      'PublishDeadLetters',
      this.publisher.deadLetterQueue,
      'Slices of a full publish',
      'each failed three times, and the job waits for `tidings publish --resume`',
    );
    this.monitoring.watchDeadLetters(
      'AlertDeadLetters',
      this.alerts.deadLetterQueue,
      'Alert changes and looks',
    );
    this.monitoring.watchDeadLetters(
      'FeedbackDeadLetters',
      this.mail.feedbackDeadLetters,
      'Bounce and complaint notifications',
    );
    this.dashboard = new TidingsDashboard(this, 'Operations', {
      alarms: this.monitoring.alarms,
      api: this.api.httpApi,
    });

    new CfnOutput(this, 'SiteUrl', { value: this.site.url, description: 'The public site and feeds' });
    new CfnOutput(this, 'ApiUrl', {
      value: `${this.site.url}/api`,
      description: 'The API, through the site (also at ApiEndpoint)',
    });
    new CfnOutput(this, 'ApiEndpoint', { value: this.api.httpApi.apiEndpoint });
    new CfnOutput(this, 'TopicArn', {
      value: this.topic.topic.topicArn,
      description: 'The SNS topic of changes integrators subscribe to',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.monitoring.alarmTopic.topic.topicArn,
      description: 'Where alarms are sent',
    });
    new CfnOutput(this, 'TableName', { value: this.events.table.tableName });
    new CfnOutput(this, 'SiteBucket', { value: this.site.bucket.bucketName });
    new CfnOutput(this, 'PublishFunction', {
      value: this.publisher.handler.functionName,
      description: 'The publisher; invoke it with {"full": true} to rebuild the whole site',
    });
    // What `tidings --stack` reads (cli/aws/outputs.ts): the functions it invokes, the dead-letter
    // queues it reports and redrives, the link secret it rotates, the address SES must verify.
    new CfnOutput(this, 'ProcessChangesFunction', {
      value: this.changes.handler.functionName,
      description: 'The stream handler; `tidings redrive` replays the changes it parked',
    });
    new CfnOutput(this, 'PlanDigestsFunction', {
      value: this.digests.planner.functionName,
      description: 'Starts a digest run; invoke it with {"cadence": "daily", "now": true}',
    });
    new CfnOutput(this, 'FeedbackFunction', { value: this.mail.feedbackHandler.functionName });
    new CfnOutput(this, 'ChangeDeadLetterQueueUrl', {
      value: this.changes.deadLetterQueue.queueUrl,
      description: 'Notices of stream batches that failed every retry (the changes are parked in the table)',
    });
    new CfnOutput(this, 'DigestQueueUrl', { value: this.digests.queue.queueUrl });
    new CfnOutput(this, 'WebSubDeadLetterQueueUrl', {
      value: this.websub.deadLetterQueue.queueUrl,
      description:
        'WebSub hub messages that failed five times (failed deliveries are in `tidings websub failed`)',
    });
    new CfnOutput(this, 'DigestDeadLetterQueueUrl', {
      value: this.digests.deadLetterQueue.queueUrl,
      description: 'Digest batches that failed five times; their source is DigestQueueUrl',
    });
    new CfnOutput(this, 'PublishQueueUrl', {
      value: this.publisher.queue.queueUrl,
      description: 'The slices of a full publish under way, for its slice workers',
    });
    new CfnOutput(this, 'PublishDeadLetterQueueUrl', {
      value: this.publisher.deadLetterQueue.queueUrl,
      description:
        "Slices of a full publish that failed three times; `tidings publish --resume` sends the job's slices not done again",
    });
    new CfnOutput(this, 'AlertQueueUrl', { value: this.alerts.queue.queueUrl });
    new CfnOutput(this, 'AlertDeadLetterQueueUrl', {
      value: this.alerts.deadLetterQueue.queueUrl,
      description: 'Alert changes and looks that failed five times; their source is AlertQueueUrl',
    });
    new CfnOutput(this, 'FeedbackDeadLetterQueueUrl', {
      value: this.mail.feedbackDeadLetters.queueUrl,
      description: 'Bounce and complaint notifications the feedback function could not handle',
    });
    new CfnOutput(this, 'TokenSecretArn', {
      value: this.mail.tokenSecret.secretArn,
      description: 'The link-signing and subscriber-id secret (`tidings links rotate`)',
    });
    new CfnOutput(this, 'FromAddress', { value: config.fromAddress });
    this.mail.identity.dkimRecords.forEach((record, i) => {
      new CfnOutput(this, `DkimRecord${i + 1}`, {
        value: `${record.name} CNAME ${record.value}`,
        description: `DKIM record ${i + 1} of 3 to add to ${config.sendingDomain}'s DNS`,
      });
    });
  }
}
