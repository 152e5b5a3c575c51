import { FAILURE_TYPES } from './failure-types';

/** Which side of the model a guardrail looked at: the prompt going in, or the answer coming out. */
export type GuardrailSource = 'input' | 'output';

/**
 * What a guardrail decided. `none`: let the text through unchanged. `blocked`: stop the request (its
 * failure type is `FAILURE_TYPES.guardrailBlocked`). `anonymized`: go on with `text`, the masked version.
 */
export type GuardrailAction = 'none' | 'blocked' | 'anonymized';

/**
 * One guardrail's answer about one text. It is audit material: `assessments` and `usage` are the
 * provider's own words, copied verbatim (Bedrock: the `assessments` array and `usage` object of the
 * ApplyGuardrail response; the local guardrail writes the same shape). Plain JSON, so it can travel
 * through Temporal payloads and into the audit trail as is.
 */
export interface GuardrailVerdict {
  /** Which guardrail answered: `bedrock:<guardrailId>:<version>` or `local`. */
  guardrail: string;
  source: GuardrailSource;
  action: GuardrailAction;
  /**
   * `anonymized`: the masked text to use instead of the original. `blocked`: the message the guardrail
   * offers in place of the blocked content. Absent for `none`.
   */
  text?: string;
  /** Why it intervened, for operators: the provider's `actionReason` or the local rule that fired. */
  reason?: string;
  /** Verbatim assessments from the provider, in the ApplyGuardrail `GuardrailAssessment` shape. */
  assessments: unknown[];
  /** Verbatim usage (policy units billed) from the provider; absent for the local guardrail. */
  usage?: Record<string, unknown>;
  /** Present when no guardrail answered and the tenant's policy let the request through anyway. */
  failedOpen?: { code: string; message: string };
}

/** What to do when a guardrail cannot be reached or errs, per tenant policy. */
export type GuardrailFailureMode = 'fail-open' | 'fail-closed';

/** The facts about a guardrail error that the failure policy needs; its retries are already spent. */
export interface GuardrailErrorFacts {
  guardrail: string;
  source: GuardrailSource;
  /** The provider's exception name or a transport error code, e.g. `ThrottlingException`, `TimeoutError`. */
  code: string;
  message: string;
}

export type GuardrailErrorDecision =
  | {
      /** Carry on as if the guardrail had passed the text; the verdict records that it did not answer. */
      outcome: 'proceed';
      verdict: GuardrailVerdict;
    }
  | {
      /** End the request with this failure type (never retried: the guardrail's retries are spent). */
      outcome: 'fail';
      failureType: typeof FAILURE_TYPES.guardrailUnavailable;
      message: string;
    };

const FAILURE_MODE_TABLE: Readonly<
  Record<GuardrailFailureMode, (facts: GuardrailErrorFacts) => GuardrailErrorDecision>
> = {
  'fail-open': (facts) => ({
    outcome: 'proceed',
    verdict: {
      guardrail: facts.guardrail,
      source: facts.source,
      action: 'none',
      reason: `guardrail unavailable (${facts.code}); policy fails open`,
      assessments: [],
      failedOpen: { code: facts.code, message: facts.message },
    },
  }),
  'fail-closed': (facts) => ({
    outcome: 'fail',
    failureType: FAILURE_TYPES.guardrailUnavailable,
    message: `guardrail ${facts.guardrail} gave no verdict on the ${facts.source} (${facts.code}: ${facts.message}); policy fails closed`,
  }),
};

/**
 * Applies the tenant's fail-open / fail-closed policy to a guardrail that could not answer. Pure, so the
 * request workflow can call it once the guardrail activity's retries are exhausted.
 */
export function decideOnGuardrailError(
  facts: GuardrailErrorFacts,
  mode: GuardrailFailureMode,
): GuardrailErrorDecision {
  return FAILURE_MODE_TABLE[mode](facts);
}

export type GuardrailVerdictOutcome =
  | { outcome: 'continue'; text: string }
  | { outcome: 'blocked'; failureType: typeof FAILURE_TYPES.guardrailBlocked; message: string };

/**
 * What a verdict means for the text it was about: go on with the original, go on with the masked
 * version, or end the request as `FAILURE_TYPES.guardrailBlocked`.
 */
export function applyGuardrailVerdict(verdict: GuardrailVerdict, original: string): GuardrailVerdictOutcome {
  switch (verdict.action) {
    case 'none':
      return { outcome: 'continue', text: original };
    case 'anonymized':
      return { outcome: 'continue', text: verdict.text ?? original };
    case 'blocked':
      return {
        outcome: 'blocked',
        failureType: FAILURE_TYPES.guardrailBlocked,
        message: `guardrail ${verdict.guardrail} blocked the ${verdict.source}${verdict.reason ? `: ${verdict.reason}` : ''}`,
      };
  }
}
