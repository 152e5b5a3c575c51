import type { GuardrailControl, GuardResult } from '../domain/governance-controls';
import type { ActivityDependencies } from './activity-dependencies';
import { runPolicyGuardrails } from './run-policy-guardrails';

export interface GuardInputInput {
  guardrails: GuardrailControl;
  /** The caller's question: what the guardrails judge, and what the prompt is built from afterwards. */
  question: string;
  /** Retrieved text, passed to Bedrock as `grounding_source`. */
  groundingSources: string[];
}

/**
 * Step guard-input: the input guardrails (local denied topics and words, then Bedrock ApplyGuardrail)
 * judge the question before any prompt is built; a masked question replaces the original.
 */
export function createGuardInputActivity(deps: Pick<ActivityDependencies, 'guardrailClient'>) {
  return async function guardInput(input: GuardInputInput): Promise<GuardResult> {
    return runPolicyGuardrails(deps, input.guardrails, {
      source: 'input',
      text: input.question,
      groundingSources: input.groundingSources,
    });
  };
}
