import { z } from 'zod';
import { UNKNOWN_FAILURE, type ProviderErrorClass } from './classify-provider-error';
import { ZERO_USAGE, type TokenUsage } from './cost';
import { INFERENCE_FAILURE_TYPES, isInferenceFailureType } from './failure-types';

/**
 * The one contract between the infer activity and the workflow for a failed (or cancelled) attempt:
 * carried as the single detail of the activity's failure, encoded and decoded only here.
 */
export interface InferenceFailureDetails extends ProviderErrorClass {
  /** The run the attempt ran for: a Reset copies failures of earlier runs into the new one. */
  runId: string;
  usage: TokenUsage;
  /** True when the provider never reported usage and `usage` is our estimate. */
  usageEstimated: boolean;
  latencyMs: number;
  /** Delta batches already delivered to the caller; after the first, no retry or fallback may follow. */
  deliveredDeltas: number;
  timeToFirstTokenMs?: number;
  /** Whether the infer activity already wrote the attempt's ledger row. */
  ledgerRecorded: boolean;
}

let detailsSchema: z.ZodType<InferenceFailureDetails> | undefined;

// Built on first use, not at import: workflow code re-runs every module's top level per workflow.
function schema(): z.ZodType<InferenceFailureDetails> {
  detailsSchema ??= z.object({
    failureType: z.string().min(1),
    retryable: z.boolean(),
    fallback: z.boolean(),
    nextRetryDelayMs: z.number().nonnegative().optional(),
    code: z.string(),
    runId: z.string().min(1),
    usage: z.object({
      inputTokens: z.number().int().nonnegative(),
      outputTokens: z.number().int().nonnegative(),
      cacheReadTokens: z.number().int().nonnegative(),
      cacheWriteTokens: z.number().int().nonnegative(),
    }),
    usageEstimated: z.boolean(),
    latencyMs: z.number().nonnegative(),
    deliveredDeltas: z.number().int().nonnegative(),
    timeToFirstTokenMs: z.number().nonnegative().optional(),
    ledgerRecorded: z.boolean(),
  });
  return detailsSchema;
}

export function encodeInferenceFailure(details: InferenceFailureDetails): unknown[] {
  return [details];
}

/** The details of a failed attempt, or undefined when the failure did not come from our infer activity. */
export function decodeInferenceFailure(
  details: readonly unknown[] | null | undefined,
): InferenceFailureDetails | undefined {
  const parsed = schema().safeParse(details?.[0]);
  return parsed.success ? parsed.data : undefined;
}

/** What the infer activity reports with each heartbeat, so even a timed-out attempt names its run. */
export interface InferHeartbeat {
  runId: string;
  deliveredDeltas: number;
}

/** The run named in a timed-out attempt's last heartbeat, if it sent one. */
export function runIdOfHeartbeat(details: unknown): string | undefined {
  const runId = (details as Partial<InferHeartbeat> | undefined)?.runId;
  return typeof runId === 'string' && runId.length > 0 ? runId : undefined;
}

/** How an attempt's failure looked to the workflow, stripped of Temporal's classes. */
export type ObservedAttemptFailure =
  | { kind: 'timeout'; timeoutType: string; message: string; lastHeartbeat?: unknown }
  | { kind: 'cancelled'; details?: InferenceFailureDetails; message: string }
  | {
      kind: 'application';
      type?: string;
      nonRetryable: boolean;
      details?: InferenceFailureDetails;
      message: string;
    }
  | { kind: 'other'; message: string };

export interface ClassifiedAttemptFailure {
  classification: ProviderErrorClass;
  /** The run the attempt ran for; undefined when nothing says (it never started, or sent no heartbeat). */
  runId?: string;
  usage: TokenUsage;
  usageEstimated: boolean;
  latencyMs?: number;
  deliveredDeltas: number;
  timeToFirstTokenMs?: number;
  /**
   * Whether the infer activity wrote the attempt's ledger row: true, false (then `record` writes it from
   * these facts), or undefined when the workflow cannot know (the activity, if it ran, wrote what it knew).
   */
  ledgerRecorded?: boolean;
  message: string;
}

type Observed<Kind extends ObservedAttemptFailure['kind']> = Extract<ObservedAttemptFailure, { kind: Kind }>;

/** How a failure without our details is classified, by what Temporal reported. */
const WITHOUT_DETAILS: {
  [Kind in ObservedAttemptFailure['kind']]: (observed: Observed<Kind>) => ProviderErrorClass;
} = {
  timeout: (observed) => ({
    failureType: INFERENCE_FAILURE_TYPES.timeout,
    retryable: true,
    fallback: true,
    code: observed.timeoutType,
  }),
  cancelled: () => ({
    failureType: INFERENCE_FAILURE_TYPES.cancelled,
    retryable: false,
    fallback: false,
    code: 'cancelled',
  }),
  application: (observed) => ({
    failureType: isInferenceFailureType(observed.type) ? observed.type : INFERENCE_FAILURE_TYPES.unknown,
    retryable: !observed.nonRetryable,
    fallback: true,
    code: observed.type ?? 'unknown',
  }),
  other: () => ({ ...UNKNOWN_FAILURE, code: 'unknown' }),
};

/**
 * The attempt loop's view of a failure. Our infer activity always attaches details; a timeout or a
 * failure from elsewhere carries none, so its usage is unknown and the loop treats it as worth a retry.
 */
export function classifyAttemptFailure(observed: ObservedAttemptFailure): ClassifiedAttemptFailure {
  const details = 'details' in observed ? observed.details : undefined;
  const unknownUsage = {
    usage: ZERO_USAGE,
    usageEstimated: true,
    deliveredDeltas: 0,
    ledgerRecorded: undefined,
    message: observed.message,
  };
  if (details) {
    const { failureType, retryable, fallback, code, nextRetryDelayMs, ...facts } = details;
    const classification = { failureType, retryable, fallback, code, nextRetryDelayMs };
    return { ...facts, classification, message: observed.message };
  }
  const runId = observed.kind === 'timeout' ? runIdOfHeartbeat(observed.lastHeartbeat) : undefined;
  return { ...unknownUsage, runId, classification: WITHOUT_DETAILS[observed.kind](observed as never) };
}
