import { describe, expect, it } from 'vitest';
import { DASHBOARD_METRICS_MAX } from '../../infra/constructs/dashboard.js';
import { ALARM_METRIC_MONTHLY_USD, metricsIn } from '../../infra/constructs/monitoring.js';
import { METRIC } from '../../shared/metrics.js';
import { synthTidings } from '../helpers/synth.js';

const { template, stack } = synthTidings();

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, asserted on structurally
type Cfn = any;
const resources = (type: string) =>
  Object.entries(template.findResources(type)) as [string, { Properties: Record<string, Cfn> }][];
const alarms = () => resources('AWS::CloudWatch::Alarm');

/** What CloudWatch bills an alarm by: each metric it evaluates (a math expression's each). */
const billedMetrics = (alarm: Record<string, Cfn>): number =>
  alarm.MetricName ? 1 : (alarm.Metrics as Cfn[]).filter((m) => m.MetricStat).length;

const functionId = (name: string) => {
  const found = resources('AWS::Lambda::Function').find(
    ([, fn]) => fn.Properties.Description === `Tidings ${name}`,
  );
  if (!found) throw new Error(`no function ${name}`);
  return found[0];
};

describe('the alarm diet', () => {
  it('keeps 14 alarms evaluating 15 metrics: $1.50 a month at list price', () => {
    expect(alarms()).toHaveLength(14);
    const metrics = alarms().reduce((n, [, a]) => n + billedMetrics(a.Properties), 0);
    expect(metrics).toBe(15);
    expect(stack.monitoring.alarmMetricCount).toBe(metrics);
    expect(Math.round(metrics * ALARM_METRIC_MONTHLY_USD * 100) / 100).toBe(1.5);
  });

  it('watches no function for errors or throttles one by one, but the publisher and its slice worker', () => {
    const perFunction = alarms().filter(
      ([, a]) => a.Properties.MetricName === 'Errors' || a.Properties.MetricName === 'Throttles',
    );
    expect(perFunction.map(([, a]) => a.Properties.Dimensions?.[0]?.Value?.Ref).sort()).toEqual(
      [functionId('publish-site'), functionId('publish-slice')].sort(),
    );
    expect(perFunction.map(([, a]) => a.Properties.MetricName)).toEqual(['Errors', 'Errors']);
  });

  it('sums the errors of the work that has no dead-letter queue in one metric-math alarm', () => {
    const [math] = alarms().filter(([, a]) => a.Properties.Metrics);
    const queries = math?.[1].Properties.Metrics as Cfn[];
    expect(queries.find((q) => q.ReturnData !== false)?.Expression).toMatch(/^SUM\(\[e0, e1\]\)$/);
    expect(
      queries
        .filter((q) => q.MetricStat)
        .map((q) => q.MetricStat.Metric.Dimensions[0].Value.Ref)
        .sort(),
    ).toEqual([functionId('handle-reputation-alarm'), functionId('plan-digests')].sort());
    for (const q of queries.filter((q) => q.MetricStat)) {
      expect(q.MetricStat).toMatchObject({ Metric: { MetricName: 'Errors' }, Stat: 'Sum', Period: 300 });
    }
    expect(math?.[1].Properties).toMatchObject({ Threshold: 1, TreatMissingData: 'notBreaching' });
  });

  it('counts a math expression by the metrics in it', () => {
    const [api] = stack.monitoring.alarms.filter((a) => a.node.id === 'ApiServerErrors');
    const [math] = stack.monitoring.alarms.filter((a) => a.node.id === 'UnqueuedFailures');
    expect(api && metricsIn(api.metric)).toBe(1);
    expect(math && metricsIn(math.metric)).toBe(2);
  });
});

/**
 * The dashboard's body with every CloudFormation token replaced by a placeholder string, parsed:
 * the tokens only ever stand inside JSON strings (regions, ARNs, names).
 */
const dashboardBody = () => {
  const [[, dashboard] = []] = resources('AWS::CloudWatch::Dashboard');
  const body = dashboard?.Properties.DashboardBody as Cfn;
  const parts: Cfn[] = body['Fn::Join'][1];
  const tokens: Cfn[] = [];
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      tokens.push(part);
      return `TOKEN${tokens.length - 1}`;
    })
    .join('');
  return {
    widgets: (JSON.parse(text) as { widgets: { type: string; properties: Cfn }[] }).widgets,
    token: (placeholder: string) => tokens[Number(placeholder.replace(/^.*TOKEN(\d+).*$/, '$1'))],
  };
};

describe('the operations dashboard', () => {
  it('is one dashboard, named after the stack and its region', () => {
    const dashboards = resources('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]?.[1].Properties.DashboardName).toBe('Tidings-eu-west-1');
  });

  it('graphs every business metric of shared/metrics.ts', () => {
    const { widgets } = dashboardBody();
    const graphed = widgets
      .filter((w) => w.type === 'metric' && w.properties.metrics)
      .flatMap((w) => w.properties.metrics as Cfn[][])
      .filter((row) => row[0] === 'Tidings')
      .map((row) => row[1]);
    expect(new Set(graphed)).toEqual(new Set(Object.values(METRIC)));
    // By service only, as Powertools writes them.
    for (const row of widgets.flatMap((w) => (w.properties.metrics ?? []) as Cfn[][])) {
      if (row[0] === 'Tidings') expect(row.slice(2, 4)).toEqual(['service', 'tidings']);
    }
  });

  it('shows every alarm with its metric, and all of them in a status strip', () => {
    const { widgets, token } = dashboardBody();
    const alarmIds = alarms().map(([id]) => id);
    const drawn = widgets
      .filter((w) => w.properties.annotations?.alarms)
      .map((w) => token(w.properties.annotations.alarms[0])['Fn::GetAtt'][0]);
    expect(drawn.sort()).toEqual([...alarmIds].sort());
    const status = widgets.find((w) => w.type === 'alarm');
    const listed = (status?.properties.alarms ?? []) as string[];
    expect(listed.map((a) => token(a)['Fn::GetAtt'][0]).sort()).toEqual([...alarmIds].sort());
  });

  it(`holds at most ${DASHBOARD_METRICS_MAX} metrics, so it stays within the free tier’s three dashboards`, () => {
    const { widgets } = dashboardBody();
    const graphed = widgets
      .filter((w) => w.type === 'metric' && w.properties.metrics)
      .flatMap((w) => w.properties.metrics as Cfn[][]).length;
    const inAlarms = alarms().reduce((n, [, a]) => n + billedMetrics(a.Properties), 0);
    expect(graphed + inAlarms).toBeLessThanOrEqual(DASHBOARD_METRICS_MAX);
    // docs/operations-alarms.md says so.
    expect(graphed + inAlarms).toBe(37);
  });
});
