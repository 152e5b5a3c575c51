/**
 * The audit event contract (DESIGN.md §3), declared once: the record activity, the reconciler, the
 * CLI's operator commands and the store all use these types and slots.
 */
export const AUDIT_EVENT_TYPES = {
  stepSucceeded: 'step.succeeded',
  stepFailed: 'step.failed',
  stepSkipped: 'step.skipped',
  approvalApproved: 'approval.approved',
  approvalDenied: 'approval.denied',
  approvalTimedOut: 'approval.timed-out',
  inferenceSucceeded: 'inference.succeeded',
  inferenceFailed: 'inference.failed',
  inferenceCancelled: 'inference.cancelled',
  requestSucceeded: 'request.succeeded',
  requestFailed: 'request.failed',
  requestCancelled: 'request.cancelled',
  /** Found by the reconciler: the run was terminated or timed out and never recorded itself. */
  requestTerminated: 'request.terminated',
  /** Found by the reconciler: the run closed without a record and its history is gone or unreadable. */
  requestAbandoned: 'request.abandoned',
  /** Recorded by a run that a Reset started: from which run and event, by whom, why. */
  requestReset: 'request.reset',
  reservationExpired: 'reservation.expired',
  /** A usage ledger row, by its content hash: editing the row afterwards breaks verification. */
  usageRecorded: 'usage.recorded',
  /** Policy, prompt or principal (API key) changes by their content hashes, with the author. */
  governanceChanged: 'governance.changed',
  operatorRetry: 'operator.retry',
  operatorCancel: 'operator.cancel',
  operatorTerminate: 'operator.terminate',
  /** The requester's feedback on a finished request (score, comment hash, what served it). */
  feedbackRecorded: 'feedback.recorded',
} as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[keyof typeof AUDIT_EVENT_TYPES];

/** Event types that close a run's record. */
export const TERMINAL_AUDIT_EVENT_TYPES: readonly AuditEventType[] = [
  AUDIT_EVENT_TYPES.requestSucceeded,
  AUDIT_EVENT_TYPES.requestFailed,
  AUDIT_EVENT_TYPES.requestCancelled,
  AUDIT_EVENT_TYPES.requestTerminated,
  AUDIT_EVENT_TYPES.requestAbandoned,
];

/**
 * Every event is unique per (workflow, run, step, attempt). Steps use (their name, 0), per-attempt work
 * (an attempt, a reservation for attempt n) uses (its step, n); the events that are not steps have slots
 * of their own. Operator actions take the next free attempt number under `operator`.
 */
export const AUDIT_SLOTS = {
  approval: { step: 'authorize', attempt: 1 },
  outcome: { step: 'record', attempt: 0 },
  reset: { step: 'reset', attempt: 0 },
  reconciled: { step: 'reconcile', attempt: 0 },
  operator: { step: 'operator' },
  reservationExpired: { step: 'reservation-expired' },
  /** One per ledger row, under the attempt number of the row. */
  usage: { step: 'usage' },
  /** One per feedback item on the request's recorded run, numbered 1, 2, … in arrival order. */
  feedback: { step: 'feedback' },
} as const;

/** An event before the store gives it a place in its tenant's chain. */
export interface AuditEventDraft {
  tenantId: string;
  workflowId: string;
  /** The run that performed what the event records (docs/decisions/0002). */
  runId: string;
  step: string;
  attempt: number;
  eventType: string;
  /** Any JSON value; stored as canonical JSON and covered by the hash. */
  payload: unknown;
}

/** An event as the store keeps it. */
export interface AuditEvent extends AuditEventDraft {
  seq: number;
  prevHash: string;
  hash: string;
  /** 1: unkeyed SHA-256 (first release); 2: HMAC-SHA-256 under `hashKeyId`. */
  hashVersion: number;
  hashKeyId: string | null;
  createdAt: string;
}
