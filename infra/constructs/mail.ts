import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  ConfigurationSet,
  ConfigurationSetTlsPolicy,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config.js';
import type { EventsTable } from './events-table.js';
import { ServiceTopic } from './service-topic.js';
import { TidingsFunction } from './tidings-function.js';

export interface MailProps {
  /** The address emails are sent from. */
  fromAddress: string;
  /** Its domain: the SES identity, signed with Easy DKIM. */
  sendingDomain: string;
  table: EventsTable;
  /** Encrypts the feedback topic SES publishes to. */
  topicKey: IKey;
  logRetention: RetentionDays;
  removalPolicy: 'retain' | 'destroy';
}

/**
 * Email: the SES identity of the sending domain, a configuration set whose bounces and
 * complaints reach the suppression handler through SNS, and the secret links are signed with.
 */
export class Mail extends Construct {
  readonly identity: EmailIdentity;
  readonly configurationSet: ConfigurationSet;
  readonly tokenSecret: Secret;
  readonly feedback: ServiceTopic;
  /** Bounce and complaint notifications the handler failed on, after Lambda's retries. */
  readonly feedbackDeadLetters: Queue;
  readonly feedbackHandler: TidingsFunction;
  /** What a function that signs or verifies links is told. */
  readonly linkEnvironment: Record<string, string>;
  /** What a function that sends email is told, beyond the links. */
  readonly sendEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: MailProps) {
    super(scope, id);
    const retain = props.removalPolicy === 'retain';
    this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {
      tlsPolicy: ConfigurationSetTlsPolicy.REQUIRE,
      reputationMetrics: true,
      sendingEnabled: true,
      // SES's account-level list also refuses these addresses; the handler keeps our own record.
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    this.identity = new EmailIdentity(this, 'Identity', {
      identity: Identity.domain(props.sendingDomain),
      configurationSet: this.configurationSet,
    });
    this.feedback = new ServiceTopic(this, 'Feedback', {
      displayName: 'Tidings email bounces and complaints',
      key: props.topicKey,
    });
    // The event destination below adds the topic policy for SES; the key is ours to open.
    this.feedback.allowEncryptionBy('ses.amazonaws.com');
    this.configurationSet.addEventDestination('BouncesAndComplaints', {
      destination: EventDestination.snsTopic(this.feedback.topic),
      events: [EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT],
    });
    this.tokenSecret = new Secret(this, 'TokenSecret', {
      description: 'Signs the confirm, manage and unsubscribe links in Tidings emails',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      // A new secret invalidates every link already sent.
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(this.tokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret holds the root of subscriber ids, which must never change (ids are table keys), and the link-signing keys, rotated by the operator by adding a key beside the current one (SECURITY.md): an automatic rotation function would replace the whole value and orphan every subscriber',
    });
    this.linkEnvironment = { [ENV.tokenSecretArn]: this.tokenSecret.secretArn };
    this.sendEnvironment = {
      [ENV.fromAddress]: props.fromAddress,
      [ENV.sesConfigurationSet]: this.configurationSet.configurationSetName,
    };

    this.feedbackDeadLetters = new Queue(this, 'FeedbackDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const handler = new TidingsFunction(this, 'HandleEmailFeedback', {
      name: 'handle-email-feedback',
      environment: {
        [ENV.tableName]: props.table.tableName,
        // Subscriber ids are derived from addresses with the token secret.
        [ENV.tokenSecretArn]: this.tokenSecret.secretArn,
      },
      logRetention: props.logRetention,
      timeout: Duration.seconds(30),
      deadLetterQueue: this.feedbackDeadLetters,
    });
    props.table.grantFunction(handler);
    this.tokenSecret.grantRead(handler);
    this.feedback.topic.addSubscription(new LambdaSubscription(handler));
    this.feedbackHandler = handler;
  }

  get configurationSetArn(): string {
    return Stack.of(this).formatArn({
      service: 'ses',
      resource: 'configuration-set',
      resourceName: this.configurationSet.configurationSetName,
    });
  }

  /** Read the link-signing secret. */
  grantLinks(grantee: IGrantable): void {
    this.tokenSecret.grantRead(grantee);
  }

  /** Send as this identity with this configuration set (and sign the links in what is sent). */
  grantSend(grantee: IGrantable): void {
    this.grantLinks(grantee);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [this.identity.emailIdentityArn, this.configurationSetArn],
      }),
    );
  }
}
