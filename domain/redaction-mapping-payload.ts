/** Marks a redaction mapping's payload form, so audit serialisation can recognise and refuse it. */
export const REDACTION_MAPPING_KIND = 'gatehouse.redaction-mapping';

/**
 * The only serialisable form of a redaction mapping: placeholder → original text. It holds the very
 * values redaction took out, so it may travel ONLY inside Temporal payloads (which the payload codec
 * encrypts) between the step that redacts and the step that restores. Never put it in audit events,
 * logs, search attributes, memos or failure messages; `canonicalJson` (the audit serialiser) refuses
 * any object of this kind.
 */
export interface RedactionMappingPayload {
  readonly kind: typeof REDACTION_MAPPING_KIND;
  readonly version: 1;
  /** `[EMAIL_1]` → `jane@example.com`. */
  readonly originals: Readonly<Record<string, string>>;
}

export function isRedactionMappingPayload(value: unknown): value is RedactionMappingPayload {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === REDACTION_MAPPING_KIND
  );
}
