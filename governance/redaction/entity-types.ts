/**
 * The structured personal data and secrets redaction recognises out of the box. Names and postal
 * addresses are not among them: they have no structure a linear recogniser can rely on, so they are a
 * stated gap unless a guardrail (Bedrock's sensitive-information filter) covers them.
 */
export const BUILT_IN_ENTITY_TYPES = [
  'EMAIL',
  'PHONE',
  'PAYMENT_CARD',
  'IBAN',
  'US_SSN',
  'IPV4',
  'IPV6',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'JWT',
  'PRIVATE_KEY',
] as const;

export type BuiltInEntityType = (typeof BUILT_IN_ENTITY_TYPES)[number];

/**
 * Text in the input that already looks like one of our placeholders (`[EMAIL_1]`). It is replaced like
 * an entity so that every placeholder in redacted text is ours and restoring is exact.
 */
export const PLACEHOLDER_LITERAL_TYPE = 'PLACEHOLDER_LITERAL';

/** A built-in type, a tenant pattern's name (UPPER_SNAKE_CASE) or PLACEHOLDER_LITERAL. */
export type EntityType = string;

/** Where an entity sits in a text: UTF-16 offsets, `end` exclusive. Never carries the value itself. */
export interface EntitySpan {
  type: EntityType;
  start: number;
  end: number;
}

/**
 * Finds one kind of entity. Every implementation must run in time linear in the text's length, whatever
 * the text: callers send 32,000-character runs without spaces, and this runs on the worker's event loop.
 */
export interface Recognizer {
  readonly type: EntityType;
  find(text: string): EntitySpan[];
}
