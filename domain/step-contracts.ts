import type { ProviderErrorClass } from './classify-provider-error';
import type { PromptContent, PromptText } from './content-reference';
import type { TokenUsage } from './cost';
import type { DataClass } from './data-class';
import type { FailureType } from './failure-types';
import type { AttemptRedaction, RedactionControl } from './governance-controls';
import type { GuardrailVerdict } from './guardrail-verdict';
import type { LoggingMode } from './policy';
import type { PromptLeak } from './prompt-leak';
import type { ApprovalOutcome } from './request-messages';
import type { RetrievalPlan } from './retrieval-plan';
import type { RoutePlan } from './route-selection';
import type { Route } from './route-table';
import type { StepName } from './step-names';

/** A chunk the caller was allowed to read, as retrieval returns it (the store returns this type as is). */
export interface RetrievedChunk {
  chunkId: string;
  documentId: string;
  documentVersion: number;
  title: string;
  /** The document's classification: it raises the request's effective data class. */
  classification: DataClass;
  text: string;
  score: number;
  /** The document's source (a file URL, a web address), quoted with the text as its provenance. */
  sourceUri?: string | null;
  /**
   * Instruction-like signals ingestion found in the document (docs/decisions/0023): its instruction-like
   * sentences are withheld from the prompt. Absent on chunks retrieved before documents were scanned.
   */
  instructionSignals?: string[];
}

export interface AssembledPromptFacts {
  promptName: string;
  promptVersion: number;
  /** `name@version`, the value of the `PromptVersion` search attribute. */
  promptRef: string;
  inputTokens: number;
  contextTokens: number;
  includedChunkIds: string[];
  droppedChunkIds: string[];
}

/** The prompt as rendered, its text in hand. */
export type RenderedPrompt = AssembledPromptFacts & PromptText;

/**
 * The assemble-prompt step's result as history holds it: the text inline, or, for a large prompt, a
 * reference to it in the content store (docs/decisions/0026).
 */
export type AssembledPrompt = AssembledPromptFacts & PromptContent;

/** What the ledger needs to know about the request an attempt belongs to. */
export interface AttemptAttribution {
  principalId: string;
  taskType: string;
  /** The feature authorize charged the request to. */
  feature?: string;
  promptRef: string;
  /** The policy version the request was authorized under (telemetry attribute). */
  policyVersion?: number;
  /** The tenant's logging policy: whether telemetry may carry the prompt and answer. */
  logging?: LoggingMode;
}

export interface InferenceRequest {
  workflowId: string;
  tenantId: string;
  attempt: number;
  route: Route;
  prompt: PromptText;
  /** Local token count of the prompt: the input usage of an attempt the provider never reported on. */
  promptTokens: number;
  question: string;
  chunks: RetrievedChunk[];
  maxOutputTokens: number;
  responseFormat: 'text' | 'json';
  /** Deliver text deltas to the caller while the model writes. */
  stream: boolean;
  attribution: AttemptAttribution;
  /** Set when the policy requires redaction for this route and data class: the prompt leaves redacted. */
  redaction?: RedactionControl;
  /** Tries of this route before this attempt within the request: 0 for the route's first try. */
  retryNumber?: number;
  /** Set when this attempt moved to another route: from which, and why. */
  fallback?: FallbackRecord;
}

/** The infer activity's input: the request, its prompt inline or by reference. */
export type InferenceStepInput = Omit<InferenceRequest, 'prompt'> & { prompt: PromptContent };

export interface InferenceResponse {
  text: string;
  /** Document ids the model cited. */
  citedDocumentIds: string[];
  finishReason: 'stop' | 'length' | 'content-filter' | 'other';
  usage: TokenUsage;
  latencyMs: number;
  /** Streaming only: from the start of the attempt to its first delivered delta. */
  timeToFirstTokenMs?: number;
  /** Whether the attempt's ledger row is already written (the infer activity writes it at once). */
  ledgerRecorded?: boolean;
  /** Present when the prompt left redacted: `text` then holds placeholders, not values. */
  redaction?: AttemptRedaction;
  /**
   * The prompt-leak check of this answer, made by the activity when the prompt came by reference (the
   * workflow does not hold its text then); absent when the workflow checks it itself.
   */
  promptLeak?: PromptLeak;
}

export interface InferenceAttempt {
  attempt: number;
  /** The run that made this attempt; a Reset copies attempts of earlier runs into the new one. */
  runId: string;
  routeId: string;
  provider: Route['provider'];
  model: string;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  failureType?: string;
  message?: string;
  usage: TokenUsage;
  /** True when the provider never reported usage and the tokens are our estimate. */
  usageEstimated: boolean;
  /**
   * The workflow cannot know what this attempt used (it timed out without a report): its ledger row, if
   * any, is the one the infer activity wrote itself, and `record` writes none.
   */
  usageUnknown?: boolean;
  costMicroUsd: number;
  /** Which prices `costMicroUsd` used (the route's `pricingVersion`); absent in histories from before it. */
  pricingVersion?: string;
  latencyMs: number;
  timeToFirstTokenMs?: number;
  /** How the failure was classified: retry this route, fall back, or stop. */
  classification?: ProviderErrorClass;
  /** Entity types and counts redacted from this attempt's prompt (never the values). */
  redactedEntities?: Record<string, number>;
}

export interface FallbackRecord {
  fromRouteId: string;
  toRouteId: string;
  reason: string;
}

export interface Verdict {
  check: 'non-empty' | 'citations' | 'output-schema';
  passed: boolean;
  detail: string;
}

export interface OutputValidation {
  passed: boolean;
  verdicts: Verdict[];
  /** Parsed output when the request gave an output schema. */
  json?: unknown;
}

export interface Citation {
  documentId: string;
  documentVersion: number;
  title: string;
}

/** The `reserve-budget` step's result, for the first attempt and for each further one. */
export interface ReservationStep {
  admitted: boolean;
  /** The run's reservation (`<workflow id>/<run id>/reserve-budget`); absent when nothing was reserved. */
  key?: string;
  /** What this call added to the reservation. */
  amountMicroUsd: number;
  /** The prompt tokens the amount assumed: the provider's count where a route supports it. */
  promptTokens: number;
  reason?: string;
  /** Budget limits crossed without refusal: soft limits, and hard ones an approval overrode. */
  warnings?: string[];
  /** Refused by a window hard limit that an approval may override (docs/decisions/0021). */
  overridable?: boolean;
  /** Who may approve that override: principals of the policy's approver roles, never the requester. */
  approverIds?: string[];
  /** Refused by the tenant's rate limit; the next minute opens this much later. */
  rateLimitedForMs?: number;
}

export type StepStatus = 'succeeded' | 'failed' | 'skipped';

export interface StepLog {
  step: StepName;
  /** 0 for the step itself; the attempt number for per-attempt work (a reservation for attempt n). */
  attempt: number;
  status: StepStatus;
  elapsedMs: number;
  /** The run whose activity did the work; absent for steps decided inside the workflow. */
  runId?: string;
  /** A short, content-free summary kept in history and the audit trail. */
  detail: Record<string, unknown>;
}

export interface RequestFailure {
  type: FailureType;
  step: StepName;
  message: string;
}

/** The declared and the effective data class of a request (DESIGN.md §2). */
export interface DataClassView {
  declared: DataClass;
  effective: DataClass;
  /** Documents that raised the class above the declaration and policy floor. */
  raisedBy: string[];
}

/** Why a cancelled request was cancelled, when the canceller said so. */
export interface CancelNote {
  by: string;
  reason: string;
}

export interface RecordInput {
  workflowId: string;
  /** The run recording; side effects it performed are attributed to it. */
  runId: string;
  /** The run id on the execution chain's start event: differs from `runId` after a Reset. */
  originalRunId: string;
  tenantId: string;
  requestId: string;
  principalId?: string;
  taskType: string;
  /** The feature the request was charged to, as authorize decided (absent: none, or not authorized). */
  feature?: string;
  /** The feature the caller named, which authorize may have refused or filled in. */
  declaredFeature?: string;
  dataClass: DataClassView;
  policyVersion?: number;
  promptRef?: string;
  logging: LoggingMode;
  question: string;
  output?: string;
  steps: StepLog[];
  attempts: InferenceAttempt[];
  fallbacks: FallbackRecord[];
  approval?: ApprovalOutcome;
  cancel?: CancelNote;
  failure?: RequestFailure;
  /** Every guardrail verdict of the run, in order; the audit keeps them per the logging mode. */
  guardrailVerdicts?: GuardrailVerdict[];
}

export interface RecordOutcome {
  auditEventsAppended: number;
  ledgerRowsRecorded: number;
  /** State of this run's reservation after settling: settled, or none when the run reserved nothing. */
  reservation: string;
  /** What this run's attempts cost, from the ledger: the amount charged to the budget. */
  chargedMicroUsd: number;
  /** Earlier runs of this request that this run found closed without a record, and reconciled. */
  reconciledRuns: string[];
  /**
   * The tenant's audit chain head right after this run's events were appended: an opaque hash kept in
   * Temporal history, where `gatehouse audit verify` finds it again as an independent witness. Absent in
   * histories recorded before it existed.
   */
  auditHead?: { seq: number; hash: string };
}

export interface LlmResult {
  workflowId: string;
  runId: string;
  tenantId: string;
  requestId: string;
  output: string;
  /** Parsed output when the request gave an output schema. */
  json?: unknown;
  citations: Citation[];
  usage: TokenUsage;
  costUsd: number;
  route: { id: string; provider: Route['provider']; model: string; label: string };
  attempts: InferenceAttempt[];
  fallbacks: FallbackRecord[];
  routePlan: { tableVersion: string; choices: RoutePlan['choices']; excluded: RoutePlan['excluded'] };
  approval?: ApprovalOutcome;
  dataClass: DataClassView;
  streamed: boolean;
  timeToFirstTokenMs?: number;
  retrievalPlan: RetrievalPlan;
  promptVersion: string;
  policyVersion: number;
  verdicts: Verdict[];
  /** What each guardrail said about the input and the answer. */
  guardrailVerdicts?: GuardrailVerdict[];
  timings: Partial<Record<StepName, number>>;
}

export interface RequestProgress {
  runId: string;
  currentStep: StepName | 'done';
  outcome: 'running' | 'awaiting-approval' | 'succeeded' | 'failed' | 'cancelled';
  steps: StepLog[];
  dataClass?: DataClassView;
  failure?: RequestFailure;
}

/** Every activity reports how long its own work took and which run it ran for. */
export interface Timed<T> {
  value: T;
  elapsedMs: number;
  /** The run whose activity this was: copied unchanged into a new run by a Reset. */
  runId: string;
}
