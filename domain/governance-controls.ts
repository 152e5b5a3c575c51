import type { DataClass } from './data-class';
import type {
  GuardrailErrorFacts,
  GuardrailFailureMode,
  GuardrailSource,
  GuardrailVerdict,
} from './guardrail-verdict';
import type { RedactionMappingPayload } from './redaction-mapping-payload';

/**
 * What a tenant's policy says about redaction, as the authorize step validated it. The workflow decides
 * per attempt whether it applies (`redactionFor`); the infer activity rebuilds its redactor from
 * `settings` (the policy's redaction section: entity types, tenant patterns).
 */
export interface RedactionControl {
  /** Effective data classes whose prompts are redacted before they leave for a route. */
  dataClasses: DataClass[];
  /** Routes whose data never leaves our control (self-hosted models): their prompts go as they are. */
  exemptRoutes: string[];
  /** Whether the caller's answer gets the original values back in place of the placeholders. */
  restoreResponse: boolean;
  /** The validated `redaction` section of the policy document. */
  settings: Record<string, unknown>;
}

/**
 * What a tenant's policy says about guardrails, as the authorize step validated it: the guard steps run
 * the guardrails `settings` (the policy's `guardrails` section) names, and the workflow applies `onError`
 * once a guardrail's retries are spent.
 */
export interface GuardrailControl {
  onError: GuardrailFailureMode;
  /** Whether any guardrail checks the input (the question, with retrieved context as grounding). */
  input: boolean;
  /** Whether any guardrail checks the model's answer. */
  output: boolean;
  /** A Bedrock guardrail is involved: the guard steps are regular activities, not local ones. */
  remote: boolean;
  /** The validated `guardrails` section of the policy document. */
  settings: Record<string, unknown>;
}

/** The policy's redaction control when it applies to a prompt of `dataClass` bound for `routeId`. */
export function redactionFor(
  control: RedactionControl | undefined,
  routeId: string,
  dataClass: DataClass,
): RedactionControl | undefined {
  if (!control) return undefined;
  if (!control.dataClasses.includes(dataClass) || control.exemptRoutes.includes(routeId)) return undefined;
  return control;
}

/** What redaction did to one attempt's prompt: entity types and counts, never values. */
export interface AttemptRedaction {
  /** Placeholders per entity type, e.g. `{ EMAIL: 2 }`: the only part that may reach the audit. */
  entityCounts: Record<string, number>;
  /**
   * Placeholder → original value. Travels only inside Temporal payloads (encrypted by the payload codec)
   * from the infer activity to the guard-output step, which restores the answer.
   */
  mapping: RedactionMappingPayload;
}

/** A guard step's answer: every verdict, the text to go on with, and whether it was blocked. */
export interface GuardResult {
  verdicts: GuardrailVerdict[];
  /** The text after the guardrails (masked where one anonymized) and, on outputs, after restoring. */
  text: string;
  /** Set when a guardrail blocked the text: the request ends as `FAILURE_TYPES.guardrailBlocked`. */
  blocked?: { guardrail: string; message: string };
  /** Output only: how many placeholders were put back, and unknown placeholder-shaped text left as is. */
  restored?: { count: number; unknownPlaceholders: string[] };
}

/** The details a guard activity attaches to `FAILURE_TYPES.guardrailUnavailable`: the error and the verdicts before it. */
export interface GuardUnavailableDetails {
  facts: GuardrailErrorFacts;
  /** Verdicts of the guardrails that answered before the one that could not. */
  verdicts: GuardrailVerdict[];
  /** The text those guardrails left (masked where one anonymized). */
  text: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

const SOURCES: readonly GuardrailSource[] = ['input', 'output'];

/** Reads a `FAILURE_TYPES.guardrailUnavailable` failure's details; undefined when they are not that shape. */
export function decodeGuardUnavailable(details: unknown): GuardUnavailableDetails | undefined {
  const first = Array.isArray(details) ? (details[0] as unknown) : undefined;
  if (!isRecord(first) || !isRecord(first.facts) || !Array.isArray(first.verdicts)) return undefined;
  const { guardrail, source, code, message } = first.facts;
  if (
    typeof guardrail !== 'string' ||
    !SOURCES.includes(source as GuardrailSource) ||
    typeof code !== 'string' ||
    typeof message !== 'string' ||
    typeof first.text !== 'string'
  ) {
    return undefined;
  }
  return {
    facts: { guardrail, source: source as GuardrailSource, code, message },
    verdicts: first.verdicts as GuardrailVerdict[],
    text: first.text,
  };
}

/** The content-free part of a verdict, for step summaries (history, progress query). */
export function verdictSummary(verdict: GuardrailVerdict): Record<string, unknown> {
  return {
    guardrail: verdict.guardrail,
    action: verdict.action,
    reason: verdict.reason ?? null,
    failedOpen: verdict.failedOpen?.code ?? null,
  };
}
