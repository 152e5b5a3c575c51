import type { LoggingMode } from '../domain/policy';
import { sha256Hex } from './sha256';

/** Patterns for the personal data most often pasted into prompts. Order matters: cards before phones. */
const REDACTIONS: Array<{ pattern: RegExp; replacement: string }> = [
  { pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, replacement: '[EMAIL]' },
  { pattern: /\b(?:\d[ -]?){13,19}\b/g, replacement: '[CARD]' },
  { pattern: /\b\d{3}-\d{2}-\d{4}\b/g, replacement: '[SSN]' },
  { pattern: /\+?\d[\d\s().-]{7,}\d/g, replacement: '[PHONE]' },
];

export function redactText(text: string): string {
  return REDACTIONS.reduce(
    (current, { pattern, replacement }) => current.replace(pattern, replacement),
    text,
  );
}

/** What the audit trail keeps of customer content, per the tenant's logging policy. */
export function contentForLog(text: string, mode: LoggingMode): { text?: string; sha256: string } {
  const sha256 = sha256Hex(text);
  if (mode === 'full') return { text, sha256 };
  if (mode === 'redacted') return { text: redactText(text), sha256 };
  return { sha256 };
}
