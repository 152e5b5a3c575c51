import { z } from 'zod';

/**
 * Names of the messages a running request understands. The names are persisted in history, so they
 * never change; the workflow defines handlers for them and the client sends them by name.
 */
export const REQUEST_MESSAGE_NAMES = {
  progressQuery: 'progress',
  streamQuery: 'stream',
  streamDeltaSignal: 'streamDelta',
  approveUpdate: 'approve',
  denyUpdate: 'deny',
  cancelNoteSignal: 'cancelNote',
} as const;

export type ApprovalDecision = 'approved' | 'denied';

/**
 * An approver's decision as the update carries it. `proof` is an HMAC keyed with the approver's API key
 * hash over the workflow, the decision, the approver and the comment (governance/caller-proof.ts), so a
 * decision read from history cannot be replayed as another one, on another request, or later.
 */
export const approvalDecisionInputSchema = z.object({
  approverId: z.string().min(1).max(128),
  keyId: z.string().regex(/^[a-f0-9]{32}$/),
  issuedAt: z.number().int().nonnegative(),
  expiresAt: z.number().int().positive(),
  proof: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  comment: z.string().max(2000).optional(),
});
export type ApprovalDecisionInput = z.infer<typeof approvalDecisionInputSchema>;

/** Sent just before a cancellation, so the record says who cancelled and why. */
export interface CancelNoteInput {
  by: string;
  reason: string;
}

export interface ApprovalOutcome {
  decision: 'approved' | 'denied' | 'timed-out';
  approverId?: string;
  comment?: string;
}

/** A batch of text deltas an inference activity delivered for one attempt. */
export interface StreamDelta {
  attempt: number;
  /** Position of this batch within the attempt, from 0; duplicates and stale batches are ignored. */
  seq: number;
  text: string;
}

export interface StreamView {
  /** The attempt whose text is being delivered; once any text went out no other attempt may replace it. */
  attempt?: number;
  text: string;
  done: boolean;
  outcome: 'running' | 'succeeded' | 'failed';
}
