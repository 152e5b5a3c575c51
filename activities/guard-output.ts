import type { GuardrailControl, GuardResult } from '../domain/governance-controls';
import type { RedactionMappingPayload } from '../domain/redaction-mapping-payload';
import { restoreAnswer } from '../governance/redaction';
import type { ActivityDependencies } from './activity-dependencies';
import { runPolicyGuardrails } from './run-policy-guardrails';

export interface GuardOutputInput {
  /** Absent when the policy names no output guardrail (the step then only restores). */
  guardrails?: GuardrailControl;
  /** The answer as the model wrote it: with placeholders where the prompt left redacted. */
  text: string;
  question: string;
  groundingSources: string[];
  /** The attempt's redaction mapping, when the policy lets the caller's answer have the values back. */
  restore?: RedactionMappingPayload;
}

/**
 * Step guard-output: the output guardrails judge the answer as the model wrote it — before placeholders
 * are restored, so the caller's own values never count as a leak — and then, where policy allows, the
 * redacted values are put back.
 */
export function createGuardOutputActivity(deps: Pick<ActivityDependencies, 'guardrailClient'>) {
  return async function guardOutput(input: GuardOutputInput): Promise<GuardResult> {
    const guarded: GuardResult = input.guardrails
      ? await runPolicyGuardrails(deps, input.guardrails, {
          source: 'output',
          text: input.text,
          query: input.question,
          groundingSources: input.groundingSources,
        })
      : { verdicts: [], text: input.text };
    if (guarded.blocked || !input.restore) return guarded;
    const restored = restoreAnswer(guarded.text, input.restore);
    return {
      ...guarded,
      text: restored.text,
      restored: { count: restored.restored, unknownPlaceholders: restored.unknownPlaceholders },
    };
  };
}
