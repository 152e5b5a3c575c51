import type { RedactionMappingPayload } from '../../domain/redaction-mapping-payload';
import type { EntitySpan, EntityType } from './entity-types';
import { createEntityFinder, type EntityFinder, type EntityFinderOptions } from './find-entities';
import { PLACEHOLDER_PATTERN, RedactionMapping } from './redaction-mapping';

export type RedactionOptions = Omit<EntityFinderOptions, 'placeholderLiterals'>;

/** One replacement: where it was in the original text and which placeholder took its place. */
export interface Replacement {
  type: EntityType;
  placeholder: string;
  start: number;
  end: number;
}

export interface RedactedText {
  text: string;
  /** In order of position. Offsets and placeholders only, never the values, so safe to log. */
  replacements: Replacement[];
}

/** Replaces each span with what `replace` returns; linear in the text. */
function replaceSpans(
  text: string,
  spans: readonly EntitySpan[],
  replace: (span: EntitySpan) => string,
): string {
  const parts: string[] = [];
  let position = 0;
  for (const span of spans) {
    parts.push(text.slice(position, span.start), replace(span));
    position = span.end;
  }
  parts.push(text.slice(position));
  return parts.join('');
}

/**
 * Redacts the texts of one request with reversible placeholders (`[EMAIL_1]`): one Redactor per request,
 * so a value that appears in the question and in a retrieved document gets the same placeholder in both.
 * Anything in the input already shaped like a placeholder is itself replaced (as PLACEHOLDER_LITERAL),
 * so every placeholder in redacted text is one of ours and `restoreText` gives back the exact original.
 */
export class Redactor {
  readonly #finder: EntityFinder;
  readonly mapping: RedactionMapping;

  constructor(options: RedactionOptions = {}, mapping: RedactionMapping = new RedactionMapping()) {
    this.#finder = createEntityFinder({ ...options, placeholderLiterals: true });
    this.mapping = mapping;
  }

  /** Continues a request's redaction in a later step, numbering on from the mapping it carried. */
  static resume(options: RedactionOptions, payload: RedactionMappingPayload): Redactor {
    return new Redactor(options, RedactionMapping.fromEncryptedPayload(payload));
  }

  redact(text: string): RedactedText {
    const spans = this.#finder.find(text);
    const replacements: Replacement[] = [];
    const redacted = replaceSpans(text, spans, (span) => {
      const placeholder = this.mapping.placeholderFor(span.type, text.slice(span.start, span.end));
      replacements.push({ type: span.type, placeholder, start: span.start, end: span.end });
      return placeholder;
    });
    return { text: redacted, replacements };
  }
}

/** Redacts a single text with a fresh mapping (see Redactor for several texts of one request). */
export function redactText(
  text: string,
  options: RedactionOptions = {},
): RedactedText & { mapping: RedactionMapping } {
  const redactor = new Redactor(options);
  return { ...redactor.redact(text), mapping: redactor.mapping };
}

export interface RestoredText {
  text: string;
  /** How many placeholders were put back. */
  restored: number;
  /**
   * Placeholder-shaped text the mapping does not know (a model inventing `[EMAIL_9]`); left as it is.
   * Safe to log: these are not values.
   */
  unknownPlaceholders: string[];
}

/** Puts the originals back in place of their placeholders, e.g. in a model's answer. Linear. */
export function restoreText(text: string, mapping: RedactionMapping): RestoredText {
  let restored = 0;
  const unknown = new Set<string>();
  const result = text.replace(PLACEHOLDER_PATTERN, (placeholder) => {
    const original = mapping.originalOf(placeholder);
    if (original === undefined) {
      unknown.add(placeholder);
      return placeholder;
    }
    restored += 1;
    return original;
  });
  return { text: result, restored, unknownPlaceholders: [...unknown] };
}

/**
 * One-way masking for logs and audit: each entity becomes its type in brackets (`[EMAIL]`), with no
 * number and no mapping, so nothing can be put back.
 */
export function maskEntities(text: string, options: RedactionOptions = {}): string {
  const spans = createEntityFinder(options).find(text);
  return replaceSpans(text, spans, (span) => `[${span.type}]`);
}
