import type { GuardResult, GuardUnavailableDetails } from '../../domain/governance-controls';
import { applyGuardrailVerdict, type GuardrailVerdict } from '../../domain/guardrail-verdict';
import { GuardrailError, type Guardrail, type GuardrailCheck, type GuardrailCheckOptions } from './guardrail';

/** A guardrail gave no verdict: what it said, and what the guardrails before it had decided. */
export class GuardrailsUnavailableError extends Error {
  override readonly name = 'GuardrailsUnavailableError';

  constructor(
    readonly guardrailError: GuardrailError,
    readonly details: GuardUnavailableDetails,
  ) {
    super(
      `guardrail ${guardrailError.guardrail} gave no verdict on the ${details.facts.source} (${guardrailError.message})`,
    );
  }
}

/**
 * Runs the guardrails in order on one text: each sees the text the one before it left (masked where it
 * anonymized), and the first block stops the rest. A guardrail that cannot answer throws
 * GuardrailsUnavailableError with the verdicts so far, for the fail-open / fail-closed decision.
 */
export async function runGuardrails(
  guardrails: readonly Guardrail[],
  check: GuardrailCheck,
  options: GuardrailCheckOptions = {},
): Promise<GuardResult> {
  const verdicts: GuardrailVerdict[] = [];
  let text = check.text;
  for (const guardrail of guardrails) {
    let verdict: GuardrailVerdict;
    try {
      verdict = await guardrail.check({ ...check, text }, options);
    } catch (error) {
      const guardrailError =
        error instanceof GuardrailError
          ? error
          : new GuardrailError(`${guardrail.id}: ${String(error)}`, guardrail.id, 'Error', false);
      throw new GuardrailsUnavailableError(guardrailError, {
        facts: guardrailError.facts(check.source),
        verdicts,
        text,
      });
    }
    verdicts.push(verdict);
    const outcome = applyGuardrailVerdict(verdict, text);
    if (outcome.outcome === 'blocked') {
      return { verdicts, text, blocked: { guardrail: guardrail.id, message: outcome.message } };
    }
    text = outcome.text;
  }
  return { verdicts, text };
}
