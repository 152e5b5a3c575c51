/**
 * The telemetry wiring of the compose stack: the collector's pipelines, what Prometheus scrapes, and
 * Grafana's provisioned datasources and dashboards — which may read only the metrics and labels
 * deploy/README.md's telemetry contract names, and must show every metric of it.
 */
import { codeIn, interpolate, listFiles, markdownTable, readText, readYaml } from './support/deploy-files';
import { metricFamily, metricNames } from './support/promql';

/* eslint-disable @typescript-eslint/no-explicit-any -- configuration files are checked field by field */
const compose = interpolate(readYaml('docker-compose.yml')) as { services: Record<string, any> };
const collector = readYaml('deploy/otel/collector.yaml') as any;
const prometheus = readYaml('deploy/prometheus/prometheus.yml') as any;
const datasources = (readYaml('deploy/grafana/provisioning/datasources/datasources.yaml') as any)
  .datasources as {
  uid: string;
  type: string;
  url: string;
}[];
const dashboardProviders = (readYaml('deploy/grafana/provisioning/dashboards/dashboards.yaml') as any)
  .providers as {
  options: { path: string };
}[];
const dashboardFiles = listFiles('deploy/grafana/dashboards', '.json');
const dashboards = dashboardFiles.map((file) => ({ file, dashboard: JSON.parse(readText(file)) as any }));

const deployReadme = readText('deploy', 'README.md');
/** Metric family → labels the contract lets dashboards group and filter by. */
const contract = new Map<string, Set<string>>([
  ...markdownTable(deployReadme, 'Metrics').map(
    (row) => [codeIn(row['Prometheus name'])[0] ?? '', new Set(codeIn(row.labels))] as [string, Set<string>],
  ),
  ...markdownTable(deployReadme, 'Temporal server metrics the dashboards read').map(
    (row) => [codeIn(row.metric)[0] ?? '', new Set(codeIn(row['labels used']))] as [string, Set<string>],
  ),
]);
const gatehouseContract = markdownTable(deployReadme, 'Metrics').map(
  (row) => codeIn(row['Prometheus name'])[0] ?? '',
);

const hostPort = (address: string) => address.split(':').slice(-2);
const workerServices = Object.entries(compose.services)
  .filter(([, service]) => (service.command ?? []).includes('worker/start-platform.ts'))
  .map(([name]) => name);

/** The family of a metric as exposed: counters carry `_total` in the contract, histograms expose `_bucket` etc. */
function contractFamily(name: string): string | undefined {
  if (contract.has(name)) return name;
  const family = metricFamily(name);
  return contract.has(family) ? family : undefined;
}

/** Labels an expression groups by, matches on or prints (`{{label}}`). */
function labelsUsed(expression: string, legend = ''): string[] {
  const labels = new Set<string>();
  for (const match of expression.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const label of match[1]!.split(',')) if (label.trim() !== '') labels.add(label.trim());
  }
  for (const match of expression.matchAll(/\{([^}]*)\}/g)) {
    for (const matcher of match[1]!.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(matcher[1]!);
  }
  for (const match of legend.matchAll(/\{\{\s*(\w+)\s*\}\}/g)) labels.add(match[1]!);
  return [...labels];
}

function panelTargets(): { file: string; title: string; expr: string; legend: string; datasource: string }[] {
  return dashboards.flatMap(({ file, dashboard }) =>
    (dashboard.panels as any[]).flatMap((panel) =>
      (panel.targets as any[]).map((target) => ({
        file,
        title: panel.title as string,
        expr: target.expr as string,
        legend: (target.legendFormat as string) ?? '',
        datasource: (target.datasource?.uid ?? panel.datasource?.uid) as string,
      })),
    ),
  );
}

describe('telemetry wiring', () => {
  it('defines every component the collector pipelines use, and listens where the services send OTLP', () => {
    for (const [name, pipeline] of Object.entries(collector.service.pipelines as Record<string, any>)) {
      for (const kind of ['receivers', 'processors', 'exporters']) {
        const missing = (pipeline[kind] as string[]).filter(
          (component) => collector[kind]?.[component] === undefined,
        );
        expect({ pipeline: name, kind, missing }).toEqual({ pipeline: name, kind, missing: [] });
      }
    }
    expect(Object.keys(collector.service.pipelines).sort()).toEqual(['metrics', 'traces']);
    const otlp = collector.receivers.otlp.protocols;
    const published = (compose.services['otel-collector'].ports as string[]).map((port) =>
      port.split(':').pop(),
    );
    for (const protocol of ['grpc', 'http']) {
      const [host, port] = hostPort(otlp[protocol].endpoint);
      expect({ protocol, host, published: published.includes(port) }).toEqual({
        protocol,
        host: '0.0.0.0',
        published: true,
      });
    }
    // The Gatehouse services send OTLP/HTTP to the collector's HTTP port.
    const endpoint = new URL(compose.services['request-worker'].environment.OTEL_EXPORTER_OTLP_ENDPOINT);
    expect({ host: endpoint.hostname, port: endpoint.port }).toEqual({
      host: 'otel-collector',
      port: hostPort(otlp.http.endpoint)[1],
    });
    const traces = collector.exporters[collector.service.pipelines.traces.exporters[0]];
    expect(hostPort(traces.endpoint)).toEqual(['jaeger', '4317']);
  });

  it('scrapes the Temporal server, the collector and every replica of every worker service', () => {
    const jobs = new Map((prometheus.scrape_configs as any[]).map((job) => [job.job_name, job]));
    const temporalMetrics = hostPort(compose.services.temporal.environment.PROMETHEUS_ENDPOINT)[1];
    expect(jobs.get('temporal-server').static_configs[0].targets).toEqual([`temporal:${temporalMetrics}`]);
    const collectorMetrics = hostPort(collector.exporters.prometheus.endpoint)[1];
    expect(jobs.get('otel-collector').static_configs[0].targets).toEqual([
      `otel-collector:${collectorMetrics}`,
    ]);
    const workers = jobs.get('gatehouse-workers').dns_sd_configs[0];
    expect([...workers.names].sort()).toEqual([...workerServices].sort());
    expect(String(workers.port)).toBe(compose.services['request-worker'].environment.GATEHOUSE_METRICS_PORT);
  });

  it('provisions the datasources the dashboards use, at the compose services’ addresses', () => {
    expect(datasources.map((source) => [source.uid, source.type, source.url])).toEqual([
      ['gatehouse-prometheus', 'prometheus', 'http://prometheus:9090'],
      ['gatehouse-jaeger', 'jaeger', 'http://jaeger:16686'],
    ]);
    const uids = new Set(datasources.map((source) => source.uid));
    expect(panelTargets().filter((target) => !uids.has(target.datasource))).toEqual([]);
    const grafana = compose.services.grafana;
    const mounts = (grafana.volumes as string[]).map((volume) => volume.split(':'));
    expect(mounts).toContainEqual(['./deploy/grafana/dashboards', dashboardProviders[0]!.options.path, 'ro']);
    const home = grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH as string;
    expect(
      dashboardFiles.map((file) => `${dashboardProviders[0]!.options.path}/${file.split('/').pop()}`),
    ).toContain(home);
  });

  it('gives each dashboard a unique uid and a title, and panels that do not overlap', () => {
    const uids = dashboards.map(({ dashboard }) => dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { file, dashboard } of dashboards) {
      expect({ file, title: typeof dashboard.title }).toEqual({ file, title: 'string' });
      const cells = new Set<string>();
      for (const panel of dashboard.panels as any[]) {
        const { x, y, w, h } = panel.gridPos;
        for (let row = y; row < y + h; row += 1) {
          for (let column = x; column < x + w; column += 1) {
            const cell = `${row}:${column}`;
            expect({ file, panel: panel.title, overlaps: cells.has(cell) }).toEqual({
              file,
              panel: panel.title,
              overlaps: false,
            });
            cells.add(cell);
          }
        }
      }
    }
  });

  it('reads only contract metrics and labels, and shows every Gatehouse metric of the contract', () => {
    const used = new Set<string>();
    for (const target of panelTargets()) {
      const families = metricNames(target.expr).map((name) => ({ name, family: contractFamily(name) }));
      expect({
        panel: target.title,
        outsideContract: families.filter((entry) => !entry.family).map((entry) => entry.name),
      }).toEqual({
        panel: target.title,
        outsideContract: [],
      });
      const allowed = new Set([
        'le',
        ...families.flatMap((entry) => [...(contract.get(entry.family!) ?? [])]),
      ]);
      expect({
        panel: target.title,
        labels: labelsUsed(target.expr, target.legend).filter((label) => !allowed.has(label)),
      }).toEqual({
        panel: target.title,
        labels: [],
      });
      families.forEach((entry) => used.add(entry.family!));
    }
    for (const { dashboard } of dashboards) {
      for (const variable of dashboard.templating.list as any[]) {
        const [, metric, label] = /label_values\((\w+),\s*(\w+)\)/.exec(variable.query.query) ?? [];
        const family = contractFamily(metric ?? '');
        expect({
          variable: variable.name,
          family,
          labelInContract: contract.get(family ?? '')?.has(label ?? ''),
        }).toEqual({
          variable: variable.name,
          family: expect.any(String),
          labelInContract: true,
        });
      }
    }
    expect(gatehouseContract.filter((metric) => !used.has(metric))).toEqual([]);
    // The checks above can fail: an expression outside the contract is caught.
    expect(metricNames('sum(rate(gatehouse_requests_total[5m]))').map(contractFamily)).toEqual([undefined]);
  });

  it('shows latency per step and cost per tenant and feature', () => {
    const expressions = panelTargets().map((target) => target.expr);
    expect(
      expressions.some((expr) =>
        /by \(le, gatehouse_step\).*gatehouse_step_duration_seconds_bucket/.test(expr),
      ),
    ).toBe(true);
    for (const label of ['gatehouse_tenant_id', 'gatehouse_feature']) {
      expect(
        expressions.some((expr) =>
          new RegExp(`by \\(${label}\\).*gatehouse_request_cost_usd_total`).test(expr),
        ),
      ).toBe(true);
    }
  });
});
