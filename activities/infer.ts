import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import { UNKNOWN_FAILURE, type ProviderErrorClass } from '../domain/classify-provider-error';
import { countsAgainstRoute } from '../domain/circuit-breaker';
import { usageCostMicroUsd, ZERO_USAGE, type TokenUsage } from '../domain/cost';
import { INFERENCE_FAILURE_TYPES } from '../domain/failure-types';
import {
  encodeInferenceFailure,
  type InferenceFailureDetails,
  type InferHeartbeat,
} from '../domain/inference-failure';
import { isStoredPrompt } from '../domain/content-reference';
import { findPromptLeak } from '../domain/prompt-leak';
import type {
  InferenceAttempt,
  InferenceRequest,
  InferenceResponse,
  InferenceStepInput,
} from '../domain/step-contracts';
import { redactInferenceRequest, RedactionSettingsError } from '../governance/redaction';
import { ProviderError } from '../providers/model-provider';
import { isRunSettled, serializeOnRun, settleRun } from '../store/budget-repository';
import { getRouteHealth, recordRouteOutcome } from '../store/route-health-repository';
import { listRunUsage, recordUsage } from '../store/usage-repository';
import type { ActivityDependencies } from './activity-dependencies';
import { ledgerRowFor } from './ledger-rows';
import { promptTextOf } from './request-content';
import { StreamRelay } from './stream-relay';

/**
 * How often the attempt reports progress. Cancellation reaches an activity only in the answer to a
 * heartbeat, and the worker sends at most one per `maxHeartbeatThrottleInterval` (set to the same value on
 * route workers), so this bounds how long a cancelled model call keeps running.
 */
export const INFER_HEARTBEAT_INTERVAL_MS = 500;

/**
 * Step 7, one attempt on one route (the workflow's attempt loop calls it once per attempt). It heartbeats
 * so a cancel reaches the provider call within a second; it writes the attempt's ledger row the moment the
 * provider answers or fails, so the ledger holds every call the provider served even if the workflow is
 * terminated, reset or loses the result; and it reports failures with one typed detail
 * (domain/inference-failure.ts) carrying the attempt's usage — measured, or estimated and marked so.
 */
export function createInferActivity(
  deps: Pick<
    ActivityDependencies,
    | 'db'
    | 'contentKeys'
    | 'providers'
    | 'routeTable'
    | 'clock'
    | 'streamPublisher'
    | 'tokenCounter'
    | 'telemetry'
  >,
) {
  async function writeLedgerRow(request: InferenceRequest, attempt: InferenceAttempt): Promise<boolean> {
    try {
      await deps.db.transaction(async (trx) => {
        await serializeOnRun(trx, request.workflowId, attempt.runId);
        await recordUsage(trx, [ledgerRowFor(request, attempt)]);
        // The run may have closed and been settled while this attempt ran (terminated, cancelled, reset):
        // then this attempt's cost is charged now, so spend always equals the ledger.
        if (await isRunSettled(trx, request.workflowId, attempt.runId)) {
          const rows = await listRunUsage(trx, request.workflowId, attempt.runId);
          await settleRun(trx, {
            tenantId: request.tenantId,
            workflowId: request.workflowId,
            runId: attempt.runId,
            actualMicroUsd: rows.reduce((total, row) => total + row.costMicroUsd, 0),
          });
        }
      });
      return true;
    } catch (error) {
      // `record` writes the row from the same facts; losing the provider's answer would be worse.
      log.warn('could not write the ledger row now; record will', {
        attempt: attempt.attempt,
        error: String(error),
      });
      return false;
    }
  }

  /**
   * The circuit breaker's state lives in the database, but an unreachable database must not cost an
   * attempt: an unknown state lets the call go ahead, and an outcome that cannot be written is logged.
   */
  async function routeHealthOrUnknown(routeId: string) {
    try {
      return (await getRouteHealth(deps.db, [routeId]))[routeId];
    } catch (error) {
      log.warn('could not read the route health; calling the route', { routeId, error: String(error) });
      return undefined;
    }
  }
  async function noteRouteOutcome(routeId: string, kind: 'success' | 'failure'): Promise<void> {
    try {
      await recordRouteOutcome(deps.db, routeId, { kind }, deps.clock(), deps.routeTable.breaker);
    } catch (error) {
      log.warn(`could not record the route ${kind}`, { routeId, error: String(error) });
    }
  }

  /** The prompt as policy lets it leave; settings that no longer validate stop the attempt, unsent. */
  function redactOrRefuse(request: InferenceRequest): ReturnType<typeof redactInferenceRequest> {
    try {
      return redactInferenceRequest(request);
    } catch (error) {
      if (!(error instanceof RedactionSettingsError)) throw error;
      throw new ProviderError(error.message, {
        failureType: INFERENCE_FAILURE_TYPES.invalidRequest,
        retryable: false,
        fallback: false,
        code: 'redaction-settings',
      });
    }
  }

  return async function infer(input: InferenceStepInput): Promise<InferenceResponse> {
    // A stored prompt is loaded and checked before anything else: content that fails its check never
    // reaches a provider, and the attempt fails `FAILURE_TYPES.contentIntegrityFailed`, not retried.
    const byReference = isStoredPrompt(input.prompt);
    const request: InferenceRequest = {
      ...input,
      prompt: await promptTextOf(deps, input.tenantId, input.prompt),
    };
    const context = Context.current();
    const runId = context.info.workflowExecution?.runId ?? '';
    const { route } = request;
    const started = performance.now();
    // A redacted prompt's deltas would carry placeholders: such an answer is delivered whole, restored.
    const relay =
      request.stream && deps.streamPublisher && !request.redaction
        ? new StreamRelay(deps.streamPublisher, request.workflowId, request.attempt)
        : undefined;
    let streamed = '';
    const observation = deps.telemetry?.startInference(request);
    const heartbeat = () =>
      context.heartbeat({ runId, deliveredDeltas: relay?.delivered ?? 0 } satisfies InferHeartbeat);
    // The first heartbeat goes out at once: a timeout's failure then names the run that made the attempt.
    heartbeat();
    const timer = setInterval(heartbeat, INFER_HEARTBEAT_INTERVAL_MS);
    const attemptOf = (
      outcome: InferenceAttempt['outcome'],
      usage: TokenUsage,
      usageEstimated: boolean,
      failureType?: string,
    ): InferenceAttempt => ({
      attempt: request.attempt,
      runId,
      routeId: route.id,
      provider: route.provider,
      model: route.model,
      outcome,
      failureType,
      usage,
      usageEstimated,
      costMicroUsd: usageCostMicroUsd(route, usage),
      ...(route.pricingVersion === undefined ? {} : { pricingVersion: route.pricingVersion }),
      latencyMs: performance.now() - started,
    });
    try {
      const provider = deps.providers[route.provider];
      if (!provider) {
        throw new ProviderError(
          `no '${route.provider}' provider is configured on this worker (route '${route.id}')`,
          {
            failureType: INFERENCE_FAILURE_TYPES.notConfigured,
            retryable: false,
            fallback: true,
            code: 'no-provider',
          },
        );
      }
      const health = await routeHealthOrUnknown(route.id);
      if (health?.state === 'open') {
        throw new ProviderError(`the circuit of route '${route.id}' opened after this request chose it`, {
          failureType: INFERENCE_FAILURE_TYPES.circuitOpen,
          retryable: false,
          fallback: true,
          code: 'circuit-open',
        });
      }
      const { request: outbound, redaction } = redactOrRefuse(request);
      const response = await provider.generate(outbound, {
        onDelta: relay
          ? (text) => {
              streamed += text;
              relay.push(text);
              heartbeat();
            }
          : undefined,
        signal: context.cancellationSignal,
      });
      await relay?.close();
      // From here the provider has answered and billed: nothing may turn that into a failed attempt.
      await noteRouteOutcome(route.id, 'success');
      const attempt = attemptOf('succeeded', response.usage, false);
      const ledgerRecorded = await writeLedgerRow(request, attempt);
      const answered: InferenceResponse = {
        ...response,
        // The whole call as this worker saw it, not just the provider's own accounting.
        latencyMs: attempt.latencyMs,
        timeToFirstTokenMs:
          relay?.firstDeltaAt === undefined ? response.timeToFirstTokenMs : relay.firstDeltaAt - started,
        ledgerRecorded,
        ...(redaction ? { redaction } : {}),
        // The workflow checks an inline prompt itself; a stored one is only here.
        ...(byReference
          ? {
              promptLeak: findPromptLeak({
                system: request.prompt.system,
                context: [request.prompt.user, ...request.chunks.map((chunk) => chunk.text)],
                output: response.text,
              }),
            }
          : {}),
      };
      observation?.succeeded(attempt, answered);
      return answered;
    } catch (error) {
      await relay?.close().catch(() => undefined);
      const cancellation = context.cancellationDetails;
      const cancelled = context.cancellationSignal.aborted;
      const providerError = error instanceof ProviderError ? error : undefined;
      const classification: ProviderErrorClass = cancellation?.cancelRequested
        ? {
            failureType: INFERENCE_FAILURE_TYPES.cancelled,
            retryable: false,
            fallback: false,
            code: 'cancelled',
          }
        : (providerError?.classification ?? UNKNOWN_FAILURE);
      // Measured when the provider said; estimated when the call may have been billed without a report
      // (cancelled, timed out, or broken mid-stream); nothing when it never reached the model.
      const mayBeBilled =
        cancelled || streamed.length > 0 || classification.failureType === INFERENCE_FAILURE_TYPES.timeout;
      const usage =
        providerError?.partialUsage ??
        (mayBeBilled
          ? {
              ...ZERO_USAGE,
              inputTokens: request.promptTokens,
              outputTokens: deps.tokenCounter.count(streamed),
            }
          : ZERO_USAGE);
      const usageEstimated = providerError?.partialUsage === undefined && mayBeBilled;
      const outcome = cancellation?.cancelRequested ? 'cancelled' : 'failed';
      const attempt = attemptOf(outcome, usage, usageEstimated, classification.failureType);
      const ledgerRecorded = await writeLedgerRow(request, attempt);
      observation?.failed(attempt);
      if (countsAgainstRoute(classification.failureType)) await noteRouteOutcome(route.id, 'failure');
      const details: InferenceFailureDetails = {
        ...classification,
        runId,
        usage,
        usageEstimated,
        latencyMs: attempt.latencyMs,
        deliveredDeltas: relay?.delivered ?? 0,
        timeToFirstTokenMs: relay?.firstDeltaAt === undefined ? undefined : relay.firstDeltaAt - started,
        ledgerRecorded,
      };
      const message = error instanceof Error ? error.message : String(error);
      if (cancelled)
        throw new CancelledFailure(
          `attempt ${request.attempt} on ${route.id} was cancelled: ${message}`,
          encodeInferenceFailure(details),
        );
      throw ApplicationFailure.create({
        message,
        type: classification.failureType,
        nonRetryable: !classification.retryable,
        details: encodeInferenceFailure(details),
        nextRetryDelay: classification.nextRetryDelayMs,
      });
    } finally {
      clearInterval(timer);
    }
  };
}
