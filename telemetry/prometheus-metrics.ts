import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { MetricDescriptor, ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** Unit words Prometheus appends to a metric name (the OpenTelemetry → Prometheus compatibility rules). */
const UNIT_SUFFIXES: Record<string, string> = {
  s: 'seconds',
  ms: 'milliseconds',
  By: 'bytes',
};

/**
 * The name an instrument has in Prometheus, as the Collector's Prometheus exporter writes it (deploy/
 * README.md, "Telemetry contract"): a unit word appended (`s` → `_seconds`), a unit in braces dropped.
 * Dots become underscores and counters gain `_total` in the serializer itself.
 */
export function prometheusBaseName(descriptor: Pick<MetricDescriptor, 'name' | 'unit'>): string {
  const suffix = UNIT_SUFFIXES[descriptor.unit];
  return suffix === undefined || descriptor.name.endsWith(`.${suffix}`)
    ? descriptor.name
    : `${descriptor.name}.${suffix}`;
}

function withPrometheusNames(metrics: ResourceMetrics): ResourceMetrics {
  return {
    resource: metrics.resource,
    scopeMetrics: metrics.scopeMetrics.map((scope) => ({
      scope: scope.scope,
      metrics: scope.metrics.map((metric) => ({
        ...metric,
        descriptor: { ...metric.descriptor, name: prometheusBaseName(metric.descriptor) },
      })),
    })),
  };
}

/**
 * A pull reader for the worker's `/metrics` endpoint: the SDK's Prometheus reader without its own
 * server (the endpoint shares the health server's or a port of its own), serialized with the
 * Collector's names so scraping the worker and reading through the Collector give the same series.
 */
export class PrometheusMetrics {
  readonly reader = new PrometheusExporter({ preventServerStart: true });
  private readonly serializer = new PrometheusSerializer();

  /** The exposition text (format 0.0.4) of everything collected so far. */
  async scrape(): Promise<string> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) throw new Error(`collecting metrics failed: ${errors.map(String).join('; ')}`);
    return this.serializer.serialize(withPrometheusNames(resourceMetrics));
  }
}
