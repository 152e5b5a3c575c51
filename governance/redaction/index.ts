/**
 * Redaction: linear-time recognizers for structured personal data and secrets, reversible placeholders
 * for prompts, one-way masking for logs. See docs/decisions/0007-redaction-and-guardrails.md.
 */
export { BUILT_IN_ENTITY_TYPES, PLACEHOLDER_LITERAL_TYPE } from './entity-types';
export type { BuiltInEntityType, EntitySpan, EntityType, Recognizer } from './entity-types';
export { createEntityFinder, findEntities } from './find-entities';
export type { EntityFinder, EntityFinderOptions } from './find-entities';
export { compileTenantPatterns, tenantPatternSchema, MAX_TENANT_PATTERNS } from './tenant-patterns';
export type { TenantPattern, TenantPatternRecognizer, TenantPatternsResult } from './tenant-patterns';
export { PLACEHOLDER_PATTERN, RedactionMapping } from './redaction-mapping';
export { maskEntities, redactText, Redactor, restoreText } from './redactor';
export type { RedactedText, RedactionOptions, Replacement, RestoredText } from './redactor';
export { contentForLog } from './content-for-log';
export { redactionPolicySchema, type RedactionPolicy } from './redaction-policy';
export {
  redactInferenceRequest,
  redactPrompt,
  RedactionSettingsError,
  restoreAnswer,
} from './redact-inference-request';
