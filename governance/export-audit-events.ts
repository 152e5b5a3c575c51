import type { AuditEvent } from '../domain/audit-event';
import { canonicalJson } from './canonical-json';

/** One event per line, canonical JSON: each line re-hashes exactly as the chain did. */
export function auditEventsToJsonLines(events: readonly AuditEvent[]): string {
  return events.map((event) => `${canonicalJson(event)}\n`).join('');
}

const CSV_COLUMNS = [
  'tenantId',
  'seq',
  'workflowId',
  'runId',
  'step',
  'attempt',
  'eventType',
  'createdAt',
  'payload',
  'prevHash',
  'hash',
  'hashVersion',
  'hashKeyId',
] as const satisfies ReadonlyArray<keyof AuditEvent>;

/**
 * RFC 4180 CSV, every field quoted. A field that a spreadsheet would run as a formula (starting with
 * `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'` so opening the export runs nothing.
 */
export function auditEventsToCsv(events: readonly AuditEvent[]): string {
  const field = (value: unknown): string => {
    let text =
      value === null || value === undefined ? '' : typeof value === 'string' ? value : canonicalJson(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return `"${text.replaceAll('"', '""')}"`;
  };
  const lines = [
    CSV_COLUMNS.map(field).join(','),
    ...events.map((event) => CSV_COLUMNS.map((column) => field(event[column])).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}
