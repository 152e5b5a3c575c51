import type { TokenUsage } from './cost';
import type { DataClass } from './data-class';
import type { FailureType } from './failure-types';
import type { LoggingMode } from './policy';
import type { RetrievalPlan } from './retrieval-plan';
import type { ProviderErrorClass } from './classify-provider-error';
import type { ApprovalOutcome } from './request-messages';
import type { RoutePlan } from './route-selection';
import type { Route } from './route-table';
import type { StepName } from './step-names';

/** A chunk the caller was allowed to read, as retrieval returned it. */
export interface RetrievedChunk {
  chunkId: string;
  documentId: string;
  documentVersion: number;
  title: string;
  text: string;
  score: number;
}

export interface AssembledPrompt {
  promptName: string;
  promptVersion: number;
  /** `name@version`, the value of the `PromptVersion` search attribute. */
  promptRef: string;
  system: string;
  user: string;
  inputTokens: number;
  contextTokens: number;
  includedChunkIds: string[];
  droppedChunkIds: string[];
}

export interface InferenceRequest {
  workflowId: string;
  executionId: string;
  tenantId: string;
  attempt: number;
  route: Route;
  prompt: Pick<AssembledPrompt, 'system' | 'user'>;
  question: string;
  chunks: RetrievedChunk[];
  maxOutputTokens: number;
  responseFormat: 'text' | 'json';
  /** Deliver text deltas to the caller while the model writes. */
  stream: boolean;
}

export interface InferenceResponse {
  text: string;
  /** Document ids the model cited. */
  citedDocumentIds: string[];
  finishReason: 'stop' | 'length' | 'content-filter' | 'other';
  usage: TokenUsage;
  latencyMs: number;
  /** Streaming only: from the start of the attempt to its first delivered delta. */
  timeToFirstTokenMs?: number;
}

/** Details attached to a failed inference attempt so its tokens and latency are still recorded. */
export interface InferenceFailureDetails {
  usage: TokenUsage;
  latencyMs: number;
  /** Delta batches already delivered to the caller; after the first, no retry or fallback may follow. */
  deliveredDeltas: number;
  timeToFirstTokenMs?: number;
}

export interface InferenceAttempt {
  attempt: number;
  routeId: string;
  provider: Route['provider'];
  model: string;
  outcome: 'succeeded' | 'failed';
  failureType?: string;
  message?: string;
  usage: TokenUsage;
  costMicroUsd: number;
  latencyMs: number;
  timeToFirstTokenMs?: number;
  /** How the failure was classified: retry this route, fall back, or stop. */
  classification?: ProviderErrorClass;
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

export interface Citation {
  documentId: string;
  documentVersion: number;
  title: string;
}

export interface ReservationOutcome {
  admitted: boolean;
  idempotencyKey: string;
  amountMicroUsd: number;
  /** The prompt tokens the reservation assumed: the provider's count where a route supports it. */
  promptTokens: number;
  reason?: string;
}

export type StepStatus = 'succeeded' | 'failed' | 'skipped';

export interface StepLog {
  step: StepName;
  status: StepStatus;
  elapsedMs: number;
  /** A short, content-free summary kept in history and the audit trail. */
  detail: Record<string, unknown>;
}

export interface RequestFailure {
  type: FailureType;
  step: StepName;
  message: string;
}

export interface RecordInput {
  workflowId: string;
  executionId: string;
  tenantId: string;
  requestId: string;
  principalId?: string;
  taskType: string;
  dataClass: DataClass;
  policyVersion?: number;
  promptRef?: string;
  logging: LoggingMode;
  question: string;
  output?: string;
  steps: StepLog[];
  attempts: InferenceAttempt[];
  fallbacks: FallbackRecord[];
  approval?: ApprovalOutcome;
  reservationKey?: string;
  costMicroUsd: number;
  failure?: RequestFailure;
}

export interface RecordOutcome {
  auditEventsAppended: number;
  ledgerRowsRecorded: number;
  reservation: string;
}

export interface LlmResult {
  workflowId: string;
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
  streamed: boolean;
  timeToFirstTokenMs?: number;
  retrievalPlan: RetrievalPlan;
  promptVersion: string;
  policyVersion: number;
  verdicts: Verdict[];
  timings: Partial<Record<StepName, number>>;
}

export interface RequestProgress {
  currentStep: StepName | 'done';
  outcome: 'running' | 'awaiting-approval' | 'succeeded' | 'failed';
  steps: StepLog[];
  failure?: RequestFailure;
}

/** Every activity reports how long its own work took, since workflow time stands still within a task. */
export interface Timed<T> {
  value: T;
  elapsedMs: number;
}
