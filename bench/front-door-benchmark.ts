import { Agent, request as httpRequest } from 'node:http';
import { createStoreDirectory } from '../client/front-door-store-directory';
import { GatehouseClient, type Caller, type SubmittedRequest } from '../client/gatehouse-client';
import type { LlmRequestInput } from '../domain/request-contract';
import type { LlmResult } from '../domain/step-contracts';
import { startFrontDoor } from '../frontdoor/front-door-server';
import { BENCH_QUESTION, benchRequest, type BenchEnvironment } from './bench-environment';
import { round, runPairedRounds, summarize, type Summary } from './statistics';

/**
 * F1: what the HTTP front door adds over calling `GatehouseClient` directly, on B1's request.
 *
 * A whole request varies by tens of milliseconds on a shared 2-core box, far more than the few the front
 * door costs, so the headline pairs each HTTP request with the `GatehouseClient` calls made for that very
 * request: the front door's client marks when its `submit` and `result` ran, and added = HTTP round trip
 * (node:http with keep-alive, as a service calls it) − the time inside those calls. Everything the front
 * door does — HTTP, parsing, key lookup, rate limit, mapping, serialisation, the loopback hop — is in the
 * difference, none of the workflow's own variance. The classic interleaved comparison (an HTTP request,
 * a direct request, alternating which goes first) is reported beside it.
 */
export interface FrontDoorScenarioResult {
  id: 'F1';
  scenario: string;
  /** Per request: HTTP round trip − the GatehouseClient calls made for it. */
  added: Summary;
  /** Interleaved: whole requests through the front door and through GatehouseClient directly. */
  frontDoor: Summary;
  direct: Summary;
  /** Per round of the interleaved comparison: front door − direct. */
  interleavedAdded: Summary;
  /**
   * Where the added time sits: from sending to `submit` (HTTP in, key lookup, validation, mapping), between
   * `submit` and `result`, and from `result` to the caller holding the parsed answer (response out).
   */
  phases: { beforeSubmit: Summary; betweenCalls: Summary; afterResult: Summary };
  /** The HTTP round trip alone (GET /healthz), and with key lookup and rate limit (GET /v1/models). */
  httpFloor: Summary;
  authenticatedFloor: Summary;
  errors: number;
  target: string;
}

const TARGET_ADDED_P50_MS = 5;

/** A GatehouseClient that keeps when its calls started and ended, for the front door to use. */
class TimedGatehouseClient extends GatehouseClient {
  marks = { submitStart: 0, submitEnd: 0, resultStart: 0, resultEnd: 0 };

  override async submit(input: LlmRequestInput): Promise<SubmittedRequest> {
    this.marks.submitStart = performance.now();
    try {
      return await super.submit(input);
    } finally {
      this.marks.submitEnd = performance.now();
    }
  }

  override async result(workflowId: string, caller: Caller): Promise<LlmResult> {
    this.marks.resultStart = performance.now();
    try {
      return await super.result(workflowId, caller);
    } finally {
      this.marks.resultEnd = performance.now();
    }
  }
}

interface Timing {
  ms: number;
  ok: boolean;
}

async function timed(run: () => Promise<boolean>): Promise<Timing> {
  const started = performance.now();
  const ok = await run();
  return { ms: performance.now() - started, ok };
}

export async function runFrontDoorScenario(
  env: BenchEnvironment,
  options: { rounds: number; warmup: number; log: (line: string) => void },
): Promise<FrontDoorScenarioResult> {
  const timedClient = new TimedGatehouseClient(env.client, { taskQueue: env.taskQueue });
  const frontDoor = await startFrontDoor({
    gatehouse: timedClient,
    directory: createStoreDirectory(env.db, env.routeTable),
    readiness: {},
    bodyLimitBytes: 1024 * 1024,
    rateLimitPerMinute: 1_000_000,
    host: '127.0.0.1',
    port: 0,
  });
  const authorization = `Bearer ${env.apiKey}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const send = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpRequest(
        `${frontDoor.url}${path}`,
        {
          method,
          agent,
          headers: body
            ? { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : { authorization },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  const chatBody = JSON.stringify({
    model: 'gatehouse-qa',
    messages: [{ role: 'user', content: BENCH_QUESTION }],
  });
  const viaFrontDoor = async () => {
    const response = await send('POST', '/v1/chat/completions', chatBody);
    const body = JSON.parse(response.text) as { choices?: Array<{ message: { content: string } }> };
    if (response.status === 200 && body.choices?.[0]?.message.content) return true;
    options.log(`front door request failed: ${response.status} ${response.text.slice(0, 200)}`);
    return false;
  };
  const direct = async () => {
    try {
      return (await env.gatehouse.execute(benchRequest(env))).output.length > 0;
    } catch (error) {
      options.log(`GatehouseClient request failed: ${(error as Error).message}`);
      return false;
    }
  };
  const get = (path: string) => async () => (await send('GET', path)).status === 200;
  const floor = async (run: () => Promise<boolean>) => {
    const times: number[] = [];
    for (let index = 0; index < Math.max(50, options.rounds); index++) times.push((await timed(run)).ms);
    return summarize(times);
  };

  try {
    for (let index = 0; index < options.warmup; index++) {
      await timed(viaFrontDoor);
      await timed(direct);
    }
    const httpFloor = await floor(get('/healthz'));
    const authenticatedFloor = await floor(get('/v1/models'));
    const added: number[] = [];
    const phases = {
      beforeSubmit: [] as number[],
      betweenCalls: [] as number[],
      afterResult: [] as number[],
    };
    const throughFrontDoor = async (): Promise<Timing> => {
      const started = performance.now();
      const timing = await timed(viaFrontDoor);
      const ended = started + timing.ms;
      if (timing.ok) {
        const { submitStart, submitEnd, resultStart, resultEnd } = timedClient.marks;
        phases.beforeSubmit.push(submitStart - started);
        phases.betweenCalls.push(resultStart - submitEnd);
        phases.afterResult.push(ended - resultEnd);
        added.push(submitStart - started + (resultStart - submitEnd) + (ended - resultEnd));
      }
      return timing;
    };
    const paired = await runPairedRounds(
      { id: 'F1', rounds: options.rounds, log: options.log },
      async (index) => {
        // Alternate which goes first, so neither always runs right after the other.
        let viaHttp: Timing;
        let viaClient: Timing;
        if (index % 2 === 0) {
          viaHttp = await throughFrontDoor();
          viaClient = await timed(direct);
        } else {
          viaClient = await timed(direct);
          viaHttp = await throughFrontDoor();
        }
        return viaHttp.ok && viaClient.ok ? { subjectMs: viaHttp.ms, baselineMs: viaClient.ms } : undefined;
      },
    );
    const addedSummary = summarize(added);
    return {
      id: 'F1',
      scenario:
        'front door (/v1/chat/completions, keep-alive HTTP) vs GatehouseClient, 0 ms model, concurrency 1',
      added: addedSummary,
      frontDoor: summarize(paired.subjectMs),
      direct: summarize(paired.baselineMs),
      interleavedAdded: summarize(paired.addedMs),
      phases: {
        beforeSubmit: summarize(phases.beforeSubmit),
        betweenCalls: summarize(phases.betweenCalls),
        afterResult: summarize(phases.afterResult),
      },
      httpFloor,
      authenticatedFloor,
      errors: paired.errors,
      target: `added p50 ≤ ${TARGET_ADDED_P50_MS} ms: ${addedSummary.p50 <= TARGET_ADDED_P50_MS ? 'met' : 'NOT met'}`,
    };
  } finally {
    agent.destroy();
    await frontDoor.close();
  }
}

export function printFrontDoorResult(result: FrontDoorScenarioResult): void {
  const ms = (value: number) => `${round(value, 2)} ms`;
  console.log(
    [
      '',
      `${result.id}: ${result.scenario} (n ${result.added.count}, errors ${result.errors})`,
      `  added per request (HTTP round trip − its GatehouseClient calls): p50 ${ms(result.added.p50)}, p95 ${ms(result.added.p95)}, p99 ${ms(result.added.p99)}, max ${ms(result.added.max)} — ${result.target}`,
      `  interleaved whole requests: front door p50 ${ms(result.frontDoor.p50)}, GatehouseClient p50 ${ms(result.direct.p50)}; ` +
        `difference per round p50 ${ms(result.interleavedAdded.p50)} (p95 ${ms(result.interleavedAdded.p95)}: the workflow's own spread)`,
      `  where (p50): before submit ${ms(result.phases.beforeSubmit.p50)}, between submit and result ${ms(result.phases.betweenCalls.p50)}, after result ${ms(result.phases.afterResult.p50)}`,
      `  HTTP floor (GET /healthz) p50 ${ms(result.httpFloor.p50)}; with key lookup and rate limit (GET /v1/models) p50 ${ms(result.authenticatedFloor.p50)}`,
    ].join('\n'),
  );
}
