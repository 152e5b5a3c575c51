/**
 * Guardrails: Bedrock ApplyGuardrail and a local guardrail behind one interface, the verdicts they
 * return, and how a verdict goes into the audit. See docs/decisions/0007-redaction-and-guardrails.md.
 */
export {
  applyGuardrailVerdict,
  decideOnGuardrailError,
  type GuardrailAction,
  type GuardrailErrorDecision,
  type GuardrailErrorFacts,
  type GuardrailFailureMode,
  type GuardrailSource,
  type GuardrailVerdict,
  type GuardrailVerdictOutcome,
} from '../../domain/guardrail-verdict';
export { GuardrailError, type Guardrail, type GuardrailCheck, type GuardrailCheckOptions } from './guardrail';
export {
  createBedrockGuardrail,
  createGuardrailClient,
  interventionOf,
  type BedrockGuardrailOptions,
  type GuardrailClientOptions,
} from './bedrock-guardrail';
export {
  createLocalGuardrail,
  type LocalGuardrailOptions,
  type LocalGuardrailRules,
} from './local-guardrail';
export {
  guardrailPolicySchema,
  guardrailsForPolicy,
  type GuardrailPolicy,
  type PolicyGuardrails,
} from './guardrail-policy';
export { verdictForAudit } from './verdict-for-audit';
export { GuardrailsUnavailableError, runGuardrails } from './run-guardrails';
