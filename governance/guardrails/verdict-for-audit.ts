import type { GuardrailVerdict } from '../../domain/guardrail-verdict';
import type { LoggingMode } from '../../domain/policy';
import { maskEntities } from '../redaction';
import { sha256Hex } from '../sha256';

type Masker = (value: string) => string;

const MASKERS: Readonly<Record<LoggingMode, Masker | undefined>> = {
  full: undefined,
  redacted: (value) => maskEntities(value),
  hash: (value) => `sha256:${sha256Hex(value)}`,
};

function maskMatches(value: unknown, mask: Masker): unknown {
  if (Array.isArray(value)) return value.map((item) => maskMatches(item, mask));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === 'match' && typeof inner === 'string' ? mask(inner) : maskMatches(inner, mask),
    ]),
  );
}

/**
 * A verdict as the audit trail should keep it. Under logging mode `full` that is the verdict verbatim.
 * Bedrock's assessments quote what they matched (`match`: the very e-mail address or card number) and an
 * anonymized verdict carries the masked answer, so under `redacted` those strings are masked like all
 * other logged content, and under `hash` only their SHA-256 digests remain.
 */
export function verdictForAudit(verdict: GuardrailVerdict, mode: LoggingMode): GuardrailVerdict {
  const mask = MASKERS[mode];
  if (!mask) return verdict;
  const audited: GuardrailVerdict = {
    ...verdict,
    assessments: maskMatches(verdict.assessments, mask) as unknown[],
  };
  if (verdict.text !== undefined && verdict.action === 'anonymized') audited.text = mask(verdict.text);
  return audited;
}
