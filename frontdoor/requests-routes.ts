import { z } from 'zod';
import { GatehouseRequestError, RequestNotFoundError } from '../client/errors';
import type { Caller } from '../client/gatehouse-client';
import { FAILURE_TYPES } from '../domain/failure-types';
import { llmRequestInputSchema, requestIdSchema, requestWorkflowId } from '../domain/request-contract';
import type { LlmResult, RequestProgress } from '../domain/step-contracts';
import { WorkflowFailedError } from '@temporalio/client';
import { callerOf } from './authenticate-caller';
import { openEventStream } from './event-stream';
import type { FrontDoorApp, FrontDoorContext } from './front-door-context';
import { requestHeadersSchema, readGatehouseHeaders } from './gatehouse-headers';
import { describeError, FrontDoorError, openAiErrorBodySchema, type OpenAiErrorBody } from './openai-error';
import { mediaResponse } from './zod-route-schemas';

/** The native request: a Gatehouse request as the typed client sends it, less what the key decides. */
export const nativeRequestSchema = llmRequestInputSchema.omit({ tenantId: true, apiKey: true });

const statusSchema = z.enum(['running', 'awaiting-approval', 'succeeded', 'failed', 'cancelled']);

/** One request as the native API shows it. */
export const requestViewSchema = z.object({
  id: z.string().describe('The request id (the idempotency key)'),
  object: z.literal('gatehouse.request'),
  workflowId: z.string(),
  status: statusSchema,
  /** Only on submission: false when the id joined a request submitted before. */
  started: z.boolean().optional(),
  currentStep: z.string().optional(),
  steps: z
    .array(
      z.object({ step: z.string(), attempt: z.number().int(), status: z.string(), elapsedMs: z.number() }),
    )
    .optional(),
  result: z
    .record(z.unknown())
    .optional()
    .describe('The LlmResult: output, citations, usage, cost, route, attempts, timings per step'),
  error: openAiErrorBodySchema.shape.error.optional(),
});
type RequestView = z.infer<typeof requestViewSchema>;

const requestParamsSchema = z.object({ id: z.string().max(256) });

/** The caller's request id → its workflow id; a malformed id is a request that does not exist. */
function workflowIdOf(caller: Caller, id: string): string {
  const workflowId = requestWorkflowId(caller.tenantId, id);
  if (!requestIdSchema.safeParse(id).success) throw new RequestNotFoundError(workflowId);
  return workflowId;
}

/** A field that may come in the body or in a header: either, or both when they agree. */
function agreeing(
  field: string,
  fromBody: string | undefined,
  header: string,
  fromHeader: string | undefined,
) {
  if (fromBody !== undefined && fromHeader !== undefined && fromBody !== fromHeader) {
    throw new FrontDoorError(
      FAILURE_TYPES.requestInvalid,
      `${field}: differs from the ${header} header; send one of them, or the same value in both`,
      { param: field },
    );
  }
  return fromBody ?? fromHeader;
}

function isRequestFailure(error: unknown): boolean {
  return error instanceof GatehouseRequestError || error instanceof WorkflowFailedError;
}

/** Where a request stands; for a finished one, its result or its failure. */
async function viewOf(context: FrontDoorContext, caller: Caller, id: string): Promise<RequestView> {
  const workflowId = workflowIdOf(caller, id);
  const progress: RequestProgress = await context.gatehouse.progress(workflowId, caller);
  const view: RequestView = {
    id,
    object: 'gatehouse.request',
    workflowId,
    status: progress.outcome,
    currentStep: progress.currentStep,
    steps: progress.steps.map((step) => ({
      step: step.step,
      attempt: step.attempt,
      status: step.status,
      elapsedMs: step.elapsedMs,
    })),
  };
  if (progress.outcome === 'running' || progress.outcome === 'awaiting-approval') return view;
  try {
    const result: LlmResult = await context.gatehouse.result(workflowId, caller);
    return { ...view, result: result as unknown as Record<string, unknown> };
  } catch (error) {
    if (!isRequestFailure(error)) throw error;
    return { ...view, error: describeError(error).body.error };
  }
}

export function registerRequestsRoutes(app: FrontDoorApp, context: FrontDoorContext): void {
  app.post(
    '/requests',
    {
      schema: {
        summary: 'Submit a Gatehouse request; returns at once (202) with its id',
        tags: ['Requests'],
        headers: requestHeadersSchema,
        body: nativeRequestSchema,
        response: { 202: requestViewSchema, default: openAiErrorBodySchema },
      },
    },
    async (request, reply) => {
      const { caller } = callerOf(request);
      const headers = readGatehouseHeaders(request.headers);
      const submitted = await context.gatehouse.submit({
        ...request.body,
        ...caller,
        requestId: agreeing('requestId', request.body.requestId, 'Idempotency-Key', headers.requestId),
        feature: agreeing('feature', request.body.feature, 'x-gatehouse-feature', headers.feature),
      });
      reply.code(202).headers({
        location: `/v1/requests/${encodeURIComponent(submitted.requestId)}`,
        'x-request-id': submitted.requestId,
      });
      const view: RequestView = {
        id: submitted.requestId,
        object: 'gatehouse.request',
        workflowId: submitted.workflowId,
        status: 'running',
        started: submitted.started,
      };
      return view;
    },
  );

  app.get(
    '/requests/:id',
    {
      schema: {
        summary: "A request's status; once finished, its result or failure",
        tags: ['Requests'],
        params: requestParamsSchema,
        response: { 200: requestViewSchema, default: openAiErrorBodySchema },
      },
    },
    async (request) => viewOf(context, callerOf(request).caller, request.params.id),
  );

  app.get(
    '/requests/:id/stream',
    {
      schema: {
        summary: "A request's text as server-sent events while it is written, then its result",
        tags: ['Requests'],
        params: requestParamsSchema,
        response: {
          200: mediaResponse(
            'Events: `status` (where the request stands), `delta` ({text}) as text arrives, then `result` (the LlmResult) or `error` (OpenAI error object)',
            {
              'text/event-stream': z.union([
                requestViewSchema,
                z.object({ text: z.string() }),
                z.record(z.unknown()),
                openAiErrorBodySchema,
              ]),
            },
          ),
          default: openAiErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { caller } = callerOf(request);
      const id = request.params.id;
      const workflowId = workflowIdOf(caller, id);
      // Checks access (404 for anyone else's request) before the stream opens.
      const progress = await context.gatehouse.progress(workflowId, caller);
      const events = openEventStream(reply, { 'x-request-id': id });
      events.send({ id, workflowId, status: progress.outcome, currentStep: progress.currentStep }, 'status');
      try {
        for await (const text of context.gatehouse.stream(workflowId, caller, {
          pollIntervalMs: context.streamPollIntervalMs,
          signal: events.signal,
        })) {
          events.send({ text }, 'delta');
        }
        if (!events.signal.aborted) events.send(await context.gatehouse.result(workflowId, caller), 'result');
      } catch (error) {
        const described = describeError(error);
        if (described.internal) context.logError('request stream', error);
        events.send(described.body satisfies OpenAiErrorBody, 'error');
      } finally {
        events.end();
      }
      return reply;
    },
  );
}
