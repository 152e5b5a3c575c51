import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import { StepSpanInterceptor } from './step-span-interceptor';
import type { Telemetry } from './start-telemetry';

/**
 * Temporal's workflow interceptors for OpenTelemetry: bundled into the workflow code of a traced worker
 * (`RunWorkflow`, `StartActivity` spans, made in the sandbox and handed out through a sink that is not
 * called during replay, so a replayed workflow task exports nothing twice).
 */
export const WORKFLOW_TRACING_INTERCEPTORS_PATH =
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/** A traced worker needs a bundle with the tracing interceptors: `dist/workflow-bundle.traced.js` beside the plain one. */
export function tracedBundlePath(bundlePath: string): string {
  return bundlePath.replace(/(\.js)?$/, '.traced.js');
}

/** Client interceptors that start the trace (`StartWorkflow`) and carry it to the workflow in headers. */
export function tracingClientInterceptors(
  telemetry: Pick<Telemetry, 'tracing'> | undefined,
): ClientInterceptors {
  return telemetry?.tracing ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : {};
}

/**
 * What a worker adds for tracing: the workflow interceptors (unless a prebuilt bundle has them) and their span sink, Temporal's activity
 * interceptors (`RunActivity`), and inside them a span per step named after it. Nothing when tracing is off.
 */
export function tracingWorkerOptions(
  telemetry: Pick<Telemetry, 'tracing' | 'tracer' | 'spanProcessor' | 'resource'> | undefined,
  options: { prebuiltBundle?: boolean } = {},
): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  if (!telemetry?.tracing) return {};
  return {
    interceptors: {
      // A prebuilt bundle has them compiled in already (tracedBundlePath).
      workflowModules: options.prebuiltBundle ? [] : [WORKFLOW_TRACING_INTERCEPTORS_PATH],
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
        (ctx) => ({ inbound: new StepSpanInterceptor(ctx, telemetry.tracer) }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(telemetry.spanProcessor, telemetry.resource) },
  };
}
