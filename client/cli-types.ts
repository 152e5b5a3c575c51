/** The parts of an audit row the CLI shows. */
export interface AuditEventRow {
  seq: number;
  step: string;
  attempt: number;
  eventType: string;
  hash: string;
}
