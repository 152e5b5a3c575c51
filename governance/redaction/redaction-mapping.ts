import { z } from 'zod';
import { REDACTION_MAPPING_KIND, type RedactionMappingPayload } from '../../domain/redaction-mapping-payload';
import type { EntityType } from './entity-types';

/** `[EMAIL_1]`, `[AWS_SECRET_ACCESS_KEY_2]`, `[EMPLOYEE_ID_3]`: a type name and a number in brackets. */
export const PLACEHOLDER_PATTERN = /\[([A-Z][A-Z0-9_]{0,47})_([1-9]\d{0,5})\]/g;
const PLACEHOLDER_EXACT = /^\[([A-Z][A-Z0-9_]{0,47})_([1-9]\d{0,5})\]$/;

const payloadSchema = z.object({
  kind: z.literal(REDACTION_MAPPING_KIND),
  version: z.literal(1),
  originals: z.record(
    z.string().regex(PLACEHOLDER_EXACT, 'keys must be placeholders like [EMAIL_1]'),
    z.string(),
  ),
});

const WITHHELD = 'values withheld';

/**
 * Placeholder ↔ original text for one request: the same value always gets the same placeholder, and
 * numbers count up per type in order of first appearance.
 *
 * It holds exactly what redaction removed, so it refuses to be serialised by accident: `toJSON` throws
 * (which also stops Temporal's payload converter and the audit serialiser), and `toString` / Node's
 * inspection print only its size. The one deliberate way out is `toEncryptedPayloadOnly()`, whose result
 * may travel only inside encrypted Temporal payloads.
 */
export class RedactionMapping {
  readonly #originals = new Map<string, string>();
  readonly #placeholders = new Map<string, string>();
  readonly #counters = new Map<EntityType, number>();

  /** Rebuilds a mapping carried from an earlier step; throws when the payload is not one. */
  static fromEncryptedPayload(payload: unknown): RedactionMapping {
    const parsed = payloadSchema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TypeError(
        `not a redaction mapping payload: ${issue ? `${issue.path.join('.') || 'payload'}: ${issue.message}` : 'invalid'}`,
      );
    }
    const mapping = new RedactionMapping();
    for (const [placeholder, original] of Object.entries(parsed.data.originals)) {
      const [, type, number] = PLACEHOLDER_EXACT.exec(placeholder)!;
      mapping.#remember(type!, Number(number), placeholder, original);
    }
    return mapping;
  }

  get size(): number {
    return this.#originals.size;
  }

  /** The placeholder for `original` as an entity of `type`, creating the next one when it is new. */
  placeholderFor(type: EntityType, original: string): string {
    const key = `${type}\u0000${original}`;
    const existing = this.#placeholders.get(key);
    if (existing) return existing;
    const number = (this.#counters.get(type) ?? 0) + 1;
    const placeholder = `[${type}_${number}]`;
    this.#remember(type, number, placeholder, original);
    return placeholder;
  }

  originalOf(placeholder: string): string | undefined {
    return this.#originals.get(placeholder);
  }

  /** Placeholders per type, e.g. `{ EMAIL: 2, PHONE: 1 }`: what an audit event may say about redaction. */
  countsByType(): Record<string, number> {
    return Object.fromEntries(this.#counters);
  }

  /**
   * The serialisable form, for the ONE place it may go: a Temporal payload (encrypted by the payload
   * codec) from the step that redacts to the step that restores. Never audit, logs or failure messages.
   */
  toEncryptedPayloadOnly(): RedactionMappingPayload {
    return { kind: REDACTION_MAPPING_KIND, version: 1, originals: Object.fromEntries(this.#originals) };
  }

  toJSON(): never {
    throw new TypeError(
      'a RedactionMapping holds the original values and is never serialised implicitly; ' +
        'use toEncryptedPayloadOnly() to pass it between steps inside encrypted payloads',
    );
  }

  toString(): string {
    return `RedactionMapping(${this.size} placeholders, ${WITHHELD})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  #remember(type: EntityType, number: number, placeholder: string, original: string): void {
    this.#originals.set(placeholder, original);
    this.#placeholders.set(`${type}\u0000${original}`, placeholder);
    this.#counters.set(type, Math.max(this.#counters.get(type) ?? 0, number));
  }
}
