import type { GuardrailErrorFacts, GuardrailSource, GuardrailVerdict } from '../../domain/guardrail-verdict';

/** One text for a guardrail to judge, with the context that judgement may need. */
export interface GuardrailCheck {
  source: GuardrailSource;
  /** What to judge: the prompt going to the model (input) or the model's answer (output). */
  text: string;
  /** Retrieved context. Bedrock receives each as a `grounding_source` block. */
  groundingSources?: readonly string[];
  /** The caller's question; on an output, Bedrock's relevance check compares the answer with it. */
  query?: string;
}

export interface GuardrailCheckOptions {
  /** Cancels the check (an activity's cancellation signal). */
  signal?: AbortSignal;
}

/**
 * One interface for every guardrail, remote (Bedrock ApplyGuardrail) or local (denied topics and words,
 * PII leakage). `check` resolves with a verdict, or rejects with a GuardrailError when the guardrail could
 * not judge; the tenant's fail-open / fail-closed policy then decides (`decideOnGuardrailError`).
 */
export interface Guardrail {
  /** `bedrock:<guardrailId>:<version>` or `local`: recorded in every verdict and error. */
  readonly id: string;
  check(request: GuardrailCheck, options?: GuardrailCheckOptions): Promise<GuardrailVerdict>;
}

/** A guardrail that gave no verdict: unreachable, throttled, timed out, or answered nonsense. */
export class GuardrailError extends Error {
  override readonly name = 'GuardrailError';

  constructor(
    message: string,
    readonly guardrail: string,
    /** The provider's exception name or a transport code: `ThrottlingException`, `TimeoutError`, … */
    readonly code: string,
    /** Worth another attempt (Temporal's retry policy decides how many). */
    readonly retryable: boolean,
    /** From Retry-After, when the provider sent one. */
    readonly nextRetryDelayMs?: number,
  ) {
    super(message);
  }

  /** What the fail-open / fail-closed decision needs once retries are spent. */
  facts(source: GuardrailSource): GuardrailErrorFacts {
    return { guardrail: this.guardrail, source, code: this.code, message: this.message };
  }
}
