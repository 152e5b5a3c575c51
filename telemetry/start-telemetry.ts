import {
  context,
  createNoopMeter,
  metrics,
  propagation,
  trace,
  type Meter,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as OtlpJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { envDetectorSync, Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PrometheusMetrics } from './prometheus-metrics';
import { createRequestTelemetry, type RequestTelemetry } from './request-telemetry';

/** How OTLP is sent (`OTEL_EXPORTER_OTLP_PROTOCOL`); both are OTLP over HTTP. */
export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TelemetryOptions {
  /** `service.name`, unless `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` say otherwise. */
  serviceName: string;
  /**
   * Traces and metrics over OTLP/HTTP to the endpoint of the standard `OTEL_EXPORTER_OTLP_*` variables,
   * which the exporters read themselves. Off: no spans are made, nothing is sent.
   */
  otlp?: { protocol: OtlpProtocol; metricExportIntervalMs?: number };
  /** Collect metrics for a Prometheus scrape endpoint. */
  prometheus?: boolean;
  /** Further span processors (tests: an in-memory exporter); tracing is on when any is given. */
  spanProcessors?: SpanProcessor[];
  /** Further metric readers (tests). */
  metricReaders?: MetricReader[];
}

/** OpenTelemetry for one process: what the workers, the client and the activities are given. */
export interface Telemetry {
  /** Spans are made and exported. */
  readonly tracing: boolean;
  readonly tracer: Tracer;
  readonly meter: Meter;
  readonly resource: Resource;
  /** Every span processor, as one: the workflow span sink hands workflow spans to it. */
  readonly spanProcessor: SpanProcessor;
  readonly requestTelemetry: RequestTelemetry;
  /** The `/metrics` endpoint's source, when Prometheus is on. */
  readonly prometheus?: PrometheusMetrics;
  /** Flushes and stops exporting (and un-registers the global providers it registered). */
  shutdown(): Promise<void>;
}

/** Fans ended spans out to several processors (the SDK's own fan-out is not exported). */
class FanOutSpanProcessor implements SpanProcessor {
  constructor(private readonly processors: SpanProcessor[]) {}
  onStart(...args: Parameters<SpanProcessor['onStart']>): void {
    for (const processor of this.processors) processor.onStart(...args);
  }
  onEnd(span: ReadableSpan): void {
    for (const processor of this.processors) processor.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.processors.map((processor) => processor.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.processors.map((processor) => processor.shutdown()));
  }
}

function otlpTraceExporter(protocol: OtlpProtocol) {
  return protocol === 'http/json' ? new OtlpJsonTraceExporter() : new OtlpProtoTraceExporter();
}

function otlpMetricExporter(protocol: OtlpProtocol) {
  return protocol === 'http/json' ? new OtlpJsonMetricExporter() : new OtlpProtoMetricExporter();
}

/**
 * Starts OpenTelemetry for this process, or nothing at all when neither OTLP nor Prometheus is on
 * (then the tracer and meter are no-ops and cost nothing). The NodeSDK owns tracing: it registers the
 * tracer provider, the AsyncLocalStorage context manager (so step spans nest under Temporal's
 * `RunActivity` spans) and the W3C propagators Temporal's interceptors carry in headers.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const spanProcessors = [
    ...(options.otlp ? [new BatchSpanProcessor(otlpTraceExporter(options.otlp.protocol))] : []),
    ...(options.spanProcessors ?? []),
  ];
  const prometheus = options.prometheus ? new PrometheusMetrics() : undefined;
  const readers: MetricReader[] = [
    ...(options.otlp
      ? [
          new PeriodicExportingMetricReader({
            exporter: otlpMetricExporter(options.otlp.protocol),
            exportIntervalMillis: options.otlp.metricExportIntervalMs,
          }),
        ]
      : []),
    ...(prometheus ? [prometheus.reader] : []),
    ...(options.metricReaders ?? []),
  ];
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': options.serviceName }))
    .merge(envDetectorSync.detect());
  const spanProcessor = new FanOutSpanProcessor(spanProcessors);
  const tracing = spanProcessors.length > 0;
  const sdk = tracing
    ? new NodeSDK({
        resource,
        autoDetectResources: false,
        spanProcessors: [spanProcessor],
        // Metrics and logs are configured below and not at all: without these the SDK would read its
        // own defaults from the environment and start an OTLP exporter for each.
        metricReader: undefined,
        logRecordProcessors: [],
      })
    : undefined;
  // Metrics have a provider of their own (the SDK takes one reader; Prometheus and OTLP are two), which
  // the activities are handed explicitly rather than read from a global.
  const meterProvider = readers.length > 0 ? new MeterProvider({ resource, readers }) : undefined;
  if (sdk) {
    // The SDK configures metrics from the environment unless told there are none.
    const previous = process.env.OTEL_METRICS_EXPORTER;
    process.env.OTEL_METRICS_EXPORTER = 'none';
    try {
      sdk.start();
    } finally {
      if (previous === undefined) delete process.env.OTEL_METRICS_EXPORTER;
      else process.env.OTEL_METRICS_EXPORTER = previous;
    }
  }
  const tracer = trace.getTracer('gatehouse');
  const meter = meterProvider?.getMeter('gatehouse') ?? createNoopMeter();
  return {
    tracing,
    tracer,
    meter,
    resource,
    spanProcessor,
    prometheus,
    requestTelemetry: createRequestTelemetry({ tracer, meter }),
    async shutdown() {
      await sdk?.shutdown();
      await meterProvider?.shutdown();
      if (sdk) {
        trace.disable();
        context.disable();
        propagation.disable();
        metrics.disable();
      }
    },
  };
}

/**
 * Telemetry as the settings ask for it (`GATEHOUSE_TELEMETRY`, `OTEL_EXPORTER_OTLP_PROTOCOL`, and the
 * Prometheus endpoint where the caller serves one); undefined when nothing is on.
 */
export function startConfiguredTelemetry(
  settings: { enabled: boolean; otlpProtocol: OtlpProtocol },
  options: { serviceName: string; prometheus?: boolean },
): Telemetry | undefined {
  if (!settings.enabled && !options.prometheus) return undefined;
  return startTelemetry({
    serviceName: options.serviceName,
    otlp: settings.enabled ? { protocol: settings.otlpProtocol } : undefined,
    prometheus: options.prometheus,
  });
}
