/**
 * The default OTLP encoding (`http/protobuf`, what compose and Kubernetes set): spans and metrics reach
 * a loopback receiver that decodes them with only the OTLP fields it reads.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';
import { startTelemetry } from '../../telemetry/start-telemetry';

/** The few fields of opentelemetry/proto collector requests this test reads (field numbers as upstream). */
const OTLP = protobuf.parse(`
  syntax = "proto3";
  message AnyValue { string string_value = 1; }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message Resource { repeated KeyValue attributes = 1; }
  message Span { bytes trace_id = 1; string name = 5; }
  message ScopeSpans { repeated Span spans = 2; }
  message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
  message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
  message Metric { string name = 1; }
  message ScopeMetrics { repeated Metric metrics = 2; }
  message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
  message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
`).root;

interface Decoded {
  path: string;
  contentType: string;
  body: Record<string, unknown>;
}

describe('OTLP over HTTP with protobuf', () => {
  it('sends spans and metrics that decode as OTLP, named by the service and the instruments', async () => {
    const received: Decoded[] = [];
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const type =
          request.url === '/v1/traces' ? 'ExportTraceServiceRequest' : 'ExportMetricsServiceRequest';
        const message = OTLP.lookupType(type).decode(Buffer.concat(chunks));
        received.push({
          path: request.url ?? '',
          contentType: request.headers['content-type'] ?? '',
          body: OTLP.lookupType(type).toObject(message, { bytes: String }) as Record<string, unknown>,
        });
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const telemetry = startTelemetry({
      serviceName: 'gatehouse-protobuf-test',
      otlp: { protocol: 'http/protobuf' },
    });
    try {
      expect(telemetry.tracing).toBe(true);
      telemetry.tracer.startSpan('authorize').end();
      telemetry.requestTelemetry.requestRecorded(
        {
          workflowId: 'gatehouse/demo/r-1',
          runId: 'run-1',
          originalRunId: 'run-1',
          tenantId: 'demo',
          requestId: 'r-1',
          taskType: 'qa',
          dataClass: { declared: 'public', effective: 'public', raisedBy: [] },
          logging: 'hash',
          question: 'q',
          steps: [],
          attempts: [],
          fallbacks: [],
        },
        3,
      );
    } finally {
      // Flushes both: the batch span processor and a last metric export.
      await telemetry.shutdown();
      delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const traces = received.filter((entry) => entry.path === '/v1/traces');
    const metrics = received.filter((entry) => entry.path === '/v1/metrics');
    expect(traces.map((entry) => entry.contentType)).toEqual(['application/x-protobuf']);
    const json = (entries: Decoded[]) => JSON.stringify(entries.map((entry) => entry.body));
    expect(json(traces)).toContain('"name":"authorize"');
    expect(json(traces)).toContain('"stringValue":"gatehouse-protobuf-test"');
    expect(metrics.length).toBeGreaterThan(0);
    expect(json(metrics)).toContain('"name":"gatehouse.step.duration"');
    expect(json(metrics)).toContain('"name":"gatehouse.requests"');
  });
});
