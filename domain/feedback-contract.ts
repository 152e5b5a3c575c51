/**
 * Feedback on a request (`gatehouse feedback`, `GatehouseClient.feedback`), declared once for the
 * client, `requestFeedbackWorkflow` and its activity. Sandbox-safe: no I/O, no schema library.
 */

/** Scores: -1 bad, 0 neutral, 1 good (a thumbs scale, comparable across features). */
export const FEEDBACK_SCORES = [-1, 0, 1] as const;
export type FeedbackScore = (typeof FEEDBACK_SCORES)[number];

/** Longest comment kept; longer ones are refused before anything starts. */
export const MAX_FEEDBACK_COMMENT_CHARACTERS = 2_000;

export const FEEDBACK_PROOF_PURPOSE = 'gatehouse.feedback.v1';

/** The workflow id of one feedback item: unique per request and feedback id, so a retry joins it. */
export function feedbackWorkflowId(requestWorkflowId: string, feedbackId: string): string {
  return `${requestWorkflowId.replace(/^gatehouse\//, 'gatehouse-feedback/')}/${feedbackId}`;
}

/** What the caller sends; the comment travels in the (encrypted) workflow input, its hash in the proof. */
export interface FeedbackInput {
  tenantId: string;
  /** The request's workflow id, `gatehouse/<tenant>/<request id>`. */
  workflowId: string;
  feedbackId: string;
  score: FeedbackScore;
  comment: string | null;
  caller: { keyId: string };
  /** Milliseconds since the epoch when the caller signed. */
  signedAt: number;
  /** HMAC over the claims below with the caller's key hash (governance/caller-proof.ts). */
  proof: string;
}

/** The claims a feedback proof binds. */
export function feedbackProofClaims(
  input: Pick<FeedbackInput, 'tenantId' | 'workflowId' | 'feedbackId' | 'score' | 'signedAt'> & {
    commentSha256: string | null;
  },
): Record<string, string | number | null> {
  return {
    tenantId: input.tenantId,
    workflowId: input.workflowId,
    feedbackId: input.feedbackId,
    score: input.score,
    commentSha256: input.commentSha256,
    signedAt: input.signedAt,
  };
}

/** One feedback item on a request as the store keeps it, with what served the request at the time. */
export interface RequestFeedback {
  id: string;
  tenantId: string;
  workflowId: string;
  requestId: string;
  principalId: string;
  /** -1 (bad), 0 (neutral) or 1 (good). */
  score: number;
  comment: string | null;
  routeId: string | null;
  promptRef: string | null;
  retrievedDocumentIds: string[];
  createdAt: string;
}

/** What was stored: the feedback and what served the request. */
export interface FeedbackRecorded {
  feedbackId: string;
  requestId: string;
  score: FeedbackScore;
  routeId: string | null;
  promptRef: string | null;
  retrievedDocumentIds: string[];
  recordedAt: string;
}

/** What the caller is told of a stored item: its id and time under this contract's names, its score as sent. */
export function feedbackRecorded(stored: RequestFeedback, score: FeedbackScore): FeedbackRecorded {
  return {
    feedbackId: stored.id,
    requestId: stored.requestId,
    score,
    routeId: stored.routeId,
    promptRef: stored.promptRef,
    retrievedDocumentIds: stored.retrievedDocumentIds,
    recordedAt: stored.createdAt,
  };
}

export function isFeedbackScore(value: unknown): value is FeedbackScore {
  return (FEEDBACK_SCORES as readonly unknown[]).includes(value);
}
