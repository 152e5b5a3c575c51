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
} as const;

export const approvalDecisionInputSchema = z.object({
  approverId: z.string().min(1).max(128),
  /** SHA-256 of the approver's API key; verified against the store before the decision counts. */
  apiKeyHash: z.string().regex(/^[a-f0-9]{64}$/),
  comment: z.string().max(2000).optional(),
});
export type ApprovalDecisionInput = z.infer<typeof approvalDecisionInputSchema>;

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
