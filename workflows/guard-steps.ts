import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { isStoredPrompt } from '../domain/content-reference';
import { FAILURE_TYPES } from '../domain/failure-types';
import {
  decodeGuardUnavailable,
  type GuardrailControl,
  type GuardResult,
} from '../domain/governance-controls';
import { decideOnGuardrailError } from '../domain/guardrail-verdict';
import type { PolicyDecision } from '../domain/policy';
import { findPromptLeak } from '../domain/prompt-leak';
import type { AssembledPrompt, InferenceResponse, RetrievedChunk } from '../domain/step-contracts';
import { guardrailSteps, localSteps } from './activity-options';
import { fail, type RequestRun } from './request-run';

type Authorization = Extract<PolicyDecision, { allowed: true }>;

/** Local guardrails need no network: a local activity. Bedrock's are regular activities. */
function guardActivities(control: GuardrailControl | undefined) {
  return control?.remote ? guardrailSteps : localSteps;
}

/**
 * A guard activity whose guardrail could not answer, after its retries: the policy's pure fail-open /
 * fail-closed rule decides. Failing open goes on with the text the earlier guardrails left and a verdict
 * that records the failure; failing closed keeps the earlier verdicts and lets the step fail as
 * `FAILURE_TYPES.guardrailUnavailable`.
 */
function applyFailureMode(run: RequestRun, control: GuardrailControl) {
  return (error: unknown): GuardResult | undefined => {
    const cause = error instanceof ActivityFailure ? error.cause : error;
    if (!(cause instanceof ApplicationFailure) || cause.type !== FAILURE_TYPES.guardrailUnavailable) {
      return undefined;
    }
    const details = decodeGuardUnavailable(cause.details);
    if (!details) return undefined;
    const decision = decideOnGuardrailError(details.facts, control.onError);
    if (decision.outcome === 'fail') {
      run.facts.guardrailVerdicts.push(...details.verdicts);
      return undefined;
    }
    return { verdicts: [...details.verdicts, decision.verdict], text: details.text };
  };
}

/** Keeps the verdicts for the audit; a block ends the request as `FAILURE_TYPES.guardrailBlocked`. */
function settle(run: RequestRun, step: 'guard-input' | 'guard-output', result: GuardResult): string {
  run.facts.guardrailVerdicts.push(...result.verdicts);
  if (result.blocked) fail(FAILURE_TYPES.guardrailBlocked, step, result.blocked.message);
  return result.text;
}

/**
 * Step guard-input: the policy's input guardrails judge the question, with the retrieved context as
 * grounding, before any prompt is built. Returns the question to build the prompt from (masked where a
 * guardrail anonymized it).
 */
export async function guardInput(
  run: RequestRun,
  authorization: Authorization,
  question: string,
  chunks: RetrievedChunk[],
): Promise<string> {
  const control = authorization.guardrails;
  if (!control?.input) {
    run.log({
      step: 'guard-input',
      attempt: 0,
      status: 'skipped',
      elapsedMs: 0,
      detail: { reason: 'the policy names no input guardrail' },
    });
    return question;
  }
  const result = await run.step(
    'guard-input',
    () =>
      guardActivities(control).guardInput({
        guardrails: control,
        question,
        groundingSources: chunks.map((chunk) => chunk.text),
      }),
    0,
    applyFailureMode(run, control),
  );
  return settle(run, 'guard-input', result);
}

/**
 * Step guard-output: the policy's output guardrails judge the answer as the model wrote it (placeholders
 * and all), then the redacted values are restored where the policy allows. Returns the caller's answer.
 */
export async function guardOutput(
  run: RequestRun,
  authorization: Authorization,
  question: string,
  chunks: RetrievedChunk[],
  response: InferenceResponse,
): Promise<string> {
  const control = authorization.guardrails?.output ? authorization.guardrails : undefined;
  const restore = authorization.redaction?.restoreResponse ? response.redaction?.mapping : undefined;
  if (!control && !restore) {
    run.log({
      step: 'guard-output',
      attempt: 0,
      status: 'skipped',
      elapsedMs: 0,
      detail: { reason: 'no output guardrail, and nothing to restore' },
    });
    return response.text;
  }
  const input = {
    question,
    groundingSources: chunks.map((chunk) => chunk.text),
    restore,
  };
  const result = await run.step(
    'guard-output',
    () => guardActivities(control).guardOutput({ ...input, guardrails: control, text: response.text }),
    0,
    control ? applyFailureMode(run, control) : undefined,
  );
  const text = settle(run, 'guard-output', result);
  // Failed open before restoring: restore now, with no guardrail, as a second entry of the step.
  if (restore && !result.restored) {
    const restored = await run.step('guard-output', () => localSteps.guardOutput({ ...input, text }), 1);
    return restored.text;
  }
  return text;
}

/**
 * Before any output guardrail, whatever the policy: an answer that repeats what only the system prompt
 * says (a run of its words, a secret-like token) is withheld and the request ends as `FAILURE_TYPES.guardrailBlocked`
 * at guard-output. A pure check in the workflow, so it adds no step to the history; the verdict and the
 * failure carry counts, never the leaked text, and the answer is never recorded (docs/decisions/0023).
 */
export function withholdPromptLeak(
  run: RequestRun,
  prompt: AssembledPrompt,
  chunks: RetrievedChunk[],
  response: InferenceResponse,
): void {
  // A prompt kept by reference is not in the workflow: the infer activity that loaded it checked the answer.
  const leak = isStoredPrompt(prompt)
    ? response.promptLeak
    : findPromptLeak({
        system: prompt.system,
        context: [prompt.user, ...chunks.map((chunk) => chunk.text)],
        output: response.text,
      });
  if (leak === undefined) {
    fail(
      FAILURE_TYPES.internal,
      'guard-output',
      'the answer to a stored prompt came without its prompt-leak check',
    );
  }
  if (!leak.leaked) return;
  const reason =
    `the answer repeats the system prompt (${leak.repeatedRuns} run(s) of words, ` +
    `${leak.identifiers} secret-like token(s) found only there)`;
  // The attempt loop kept the answer for the record; a leaked one is not kept, whatever the logging mode.
  run.facts.output = undefined;
  run.facts.guardrailVerdicts.push({
    guardrail: 'prompt-leak',
    source: 'output',
    action: 'blocked',
    text: 'The answer was withheld: it repeated the instructions it was given.',
    reason,
    assessments: [{ repeatedRuns: leak.repeatedRuns, identifiers: leak.identifiers }],
  });
  run.log({
    step: 'guard-output',
    attempt: 0,
    status: 'failed',
    elapsedMs: 0,
    detail: { failureType: FAILURE_TYPES.guardrailBlocked, reason },
  });
  fail(FAILURE_TYPES.guardrailBlocked, 'guard-output', `The answer was withheld: ${reason}.`);
}
