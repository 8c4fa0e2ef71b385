import { Duration, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  type Alarm,
  AlarmStatusWidget,
  AlarmWidget,
  Dashboard,
  GraphWidget,
  type IWidget,
  Metric,
  Stats,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, METRICS_SERVICE, type MetricName } from '../../shared/metrics.js';

export interface TidingsDashboardProps {
  /** The operator alarms: each is shown with its metric and threshold, and in the status strip. */
  alarms: readonly Alarm[];
  api: IHttpApi;
}

/**
 * A dashboard holds at most this many metrics to stay within the free tier's three dashboards
 * (beyond it, $3 a month each): the business metrics, the alarms' metrics and the API's traffic.
 */
export const DASHBOARD_METRICS_MAX = 50;

const PERIOD = Duration.minutes(5);

const business = (name: MetricName, label: string, statistic: string = Stats.SUM) =>
  new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: METRICS_SERVICE },
    statistic,
    period: PERIOD,
    label,
  });

const graph = (title: string, metrics: Metric[], width = 8) =>
  new GraphWidget({ title, left: metrics, width, height: 6, period: PERIOD });

/**
 * One page for the operator: what Tidings did (the business metrics of shared/metrics.ts), row by
 * row beside the alarms that watch the same part, each alarm drawn with its metric and threshold.
 */
export class TidingsDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: TidingsDashboardProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.dashboard = new Dashboard(this, 'Dashboard', {
      // Dashboard names are account-wide: the same stack name in two regions must not collide.
      dashboardName: `${stack.stackName}-${stack.region}`,
      defaultInterval: Duration.days(1),
    });
    const placed = new Set<Alarm>();
    const widgetOf = (alarm: Alarm) => {
      placed.add(alarm);
      return new AlarmWidget({ alarm, title: alarm.node.id, width: 8, height: 6 });
    };
    const alarmNamed = (name: string): IWidget[] =>
      props.alarms.filter((alarm) => alarm.node.id === name).map(widgetOf);
    const heading = (markdown: string) => new TextWidget({ markdown, width: 24, height: 1 });

    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(heading('### Events and the API'));
    this.dashboard.addWidgets(
      graph('Events written and rejected', [
        business(METRIC.eventsWritten, 'written'),
        business(METRIC.eventsRejected, 'rejected'),
      ]),
      graph('API requests', [
        props.api.metricCount({ period: PERIOD, statistic: Stats.SUM, label: 'requests' }),
        props.api.metricClientError({ period: PERIOD, statistic: Stats.SUM, label: '4xx' }),
      ]),
      ...alarmNamed('ApiServerErrors'),
    );
    this.dashboard.addWidgets(heading('### Changes: the table’s stream, listings and the topic of changes'));
    this.dashboard.addWidgets(
      graph('Changes projected and messages published', [
        business(METRIC.changesProjected, 'projected'),
        business(METRIC.messagesPublished, 'published'),
      ]),
      ...alarmNamed('ProcessChangesIteratorAge'),
      ...alarmNamed('ChangeDeadLettersDepth'),
    );
    this.dashboard.addWidgets(heading('### Publishing the site and feeds'));
    this.dashboard.addWidgets(
      graph('Site objects', [
        business(METRIC.objectsWritten, 'written'),
        business(METRIC.objectsUnchanged, 'unchanged'),
      ]),
      graph('Publish run duration (ms)', [business(METRIC.publishDuration, 'longest run', Stats.MAXIMUM)]),
      ...alarmNamed('PublishFailed'),
    );
    this.dashboard.addWidgets(...alarmNamed('PublishSliceErrors'), ...alarmNamed('PublishDeadLettersDepth'));
    this.dashboard.addWidgets(heading('### Digests'));
    this.dashboard.addWidgets(
      graph('Digests', [
        business(METRIC.digestsSent, 'sent'),
        business(METRIC.digestsEmpty, 'nothing new'),
        business(METRIC.digestsFailed, 'failed'),
      ]),
      ...alarmNamed('DigestDeadLettersDepth'),
      ...alarmNamed('UnqueuedFailures'),
    );
    this.dashboard.addWidgets(heading('### Instant alerts'));
    this.dashboard.addWidgets(
      graph('Alerts', [business(METRIC.alertsSent, 'sent'), business(METRIC.alertsFailed, 'failed')]),
      ...alarmNamed('AlertDeadLettersDepth'),
    );
    this.dashboard.addWidgets(heading('### Sign-ups and email'));
    this.dashboard.addWidgets(
      graph('Confirmation emails', [
        business(METRIC.confirmationsSent, 'sent'),
        business(METRIC.confirmationsLimited, 'refused by a limit'),
        business(METRIC.confirmationBudgetExceeded, 'over the hourly budget'),
        business(METRIC.confirmationsPaused, 'paused (reputation)'),
        business(METRIC.confirmationsFailed, 'failed'),
        business(METRIC.signupHoneypot, 'caught by the honeypot (nothing sent)'),
      ]),
      graph('Bounces and complaints', [
        business(METRIC.bounces, 'permanent bounces'),
        business(METRIC.complaints, 'complaints'),
      ]),
      ...alarmNamed('ConfirmationBudgetExceeded'),
    );
    this.dashboard.addWidgets(
      ...alarmNamed('SesBounceRate'),
      ...alarmNamed('SesComplaintRate'),
      ...alarmNamed('FeedbackDeadLettersDepth'),
    );
    // An alarm added later still shows, at the end, until it is given a place above.
    const others = props.alarms.filter((alarm) => !placed.has(alarm));
    if (others.length > 0) this.dashboard.addWidgets(...others.map(widgetOf));
  }
}
