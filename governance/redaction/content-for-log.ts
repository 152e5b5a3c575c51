import type { LoggingMode } from '../../domain/policy';
import { sha256Hex } from '../sha256';
import { maskEntities } from './redactor';

/** What the audit trail keeps of customer content, per the tenant's logging policy. */
export function contentForLog(text: string, mode: LoggingMode): { text?: string; sha256: string } {
  const sha256 = sha256Hex(text);
  if (mode === 'full') return { text, sha256 };
  if (mode === 'redacted') return { text: maskEntities(text), sha256 };
  return { sha256 };
}
