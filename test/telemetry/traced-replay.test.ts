/**
 * Replays are excluded from traces: the committed histories replay with the tracing interceptors
 * compiled in and the workflow span sink attached, and not one span is exported.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { trace } from '@opentelemetry/api';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import {
  createGatehouseDataConverter,
  ENCRYPTED_FAILURE_CONVERTER_PATH,
} from '../../codec/gatehouse-data-converter';
import { tracingWorkerOptions, WORKFLOW_TRACING_INTERCEPTORS_PATH } from '../../telemetry/temporal-tracing';
import { HISTORY_DIR, replayFixtureKeyring } from '../support/history-recording';

type Sinks = NonNullable<ReplayWorkerOptions['sinks']>;

const files = readdirSync(HISTORY_DIR).filter((file) => file.endsWith('.json'));

/** Replays every committed history with tracing on; returns replay errors and the spans exported. */
async function replayTraced(
  adjustSinks: (sinks: Sinks) => Sinks = (sinks) => sinks,
): Promise<{ errors: string[]; spans: string[] }> {
  const memory = new InMemorySpanExporter();
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    failureConverterPath: ENCRYPTED_FAILURE_CONVERTER_PATH,
    workflowInterceptorModules: [WORKFLOW_TRACING_INTERCEPTORS_PATH],
  });
  const tracing = tracingWorkerOptions({
    tracing: true,
    tracer: trace.getTracer('gatehouse'),
    spanProcessor: new SimpleSpanProcessor(memory),
    resource: new Resource({ 'service.name': 'gatehouse-replay' }),
  });
  const errors: string[] = [];
  for await (const result of Worker.runReplayHistories(
    {
      workflowBundle,
      replayName: 'gatehouse-traced-replay',
      dataConverter: createGatehouseDataConverter(replayFixtureKeyring()),
      interceptors: tracing.interceptors,
      sinks: adjustSinks(tracing.sinks!),
    },
    files.map((file) => ({
      workflowId: path.basename(file, '.json'),
      history: historyFromJSON(JSON.parse(readFileSync(path.join(HISTORY_DIR, file), 'utf8'))),
    })),
  )) {
    if (result.error) errors.push(`${result.workflowId}: ${String(result.error)}`);
  }
  return { errors, spans: memory.getFinishedSpans().map((span) => span.name) };
}

describe('traced replay', () => {
  it('replays every committed history with tracing on and exports no span', async () => {
    expect(files.length).toBeGreaterThan(0);
    const { errors, spans } = await replayTraced();
    expect(errors).toEqual([]);
    expect(spans).toEqual([]);
  });

  it('would export the replayed spans if the sink were called during replay (negative control)', async () => {
    const { errors, spans } = await replayTraced((sinks) => ({
      ...sinks,
      exporter: { export: { ...sinks.exporter!.export!, callDuringReplay: true } },
    }));
    expect(errors).toEqual([]);
    expect(spans).toContain('RunWorkflow:llmRequestWorkflow');
  });
});
