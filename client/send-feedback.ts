import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import {
  FEEDBACK_PROOF_PURPOSE,
  feedbackProofClaims,
  feedbackWorkflowId,
  isFeedbackScore,
  MAX_FEEDBACK_COMMENT_CHARACTERS,
  type FeedbackInput,
  type FeedbackRecorded,
} from '../domain/feedback-contract';
import { FAILURE_TYPES } from '../domain/failure-types';
import { hashApiKey, keyIdForKeyHash, signProof } from '../governance/caller-proof';
import { sha256Hex } from '../governance/sha256';
import { PolicyDeniedError, RequestInvalidError } from './errors';

/** Checks the feedback and signs it with the caller's key; nothing leaves the process yet. */
export function prepareFeedback(
  workflowId: string,
  caller: { tenantId: string; apiKey: string },
  feedback: { score: number; comment?: string; feedbackId?: string },
): FeedbackInput {
  if (!isFeedbackScore(feedback.score)) throw new RequestInvalidError('the score must be -1, 0 or 1');
  const comment = feedback.comment?.trim() ? feedback.comment : null;
  if (comment !== null && comment.length > MAX_FEEDBACK_COMMENT_CHARACTERS) {
    throw new RequestInvalidError(`the comment is longer than ${MAX_FEEDBACK_COMMENT_CHARACTERS} characters`);
  }
  const apiKeyHash = hashApiKey(caller.apiKey);
  const unsigned = {
    tenantId: caller.tenantId,
    workflowId,
    feedbackId: feedback.feedbackId ?? randomUUID(),
    score: feedback.score,
    comment,
    caller: { keyId: keyIdForKeyHash(apiKeyHash) },
    signedAt: Date.now(),
  };
  const commentSha256 = comment === null ? null : sha256Hex(comment);
  return {
    ...unsigned,
    proof: signProof(apiKeyHash, FEEDBACK_PROOF_PURPOSE, feedbackProofClaims({ ...unsigned, commentSha256 })),
  };
}

/**
 * Runs `requestFeedbackWorkflow` for one signed feedback item (its id makes the workflow id, so sending
 * it again joins the first) and returns what was stored; the worker's refusal comes back as
 * `PolicyDeniedError` with its reason.
 */
export async function sendFeedback(
  client: Client,
  taskQueue: string,
  input: FeedbackInput,
): Promise<FeedbackRecorded> {
  try {
    return await client.workflow.execute<(input: FeedbackInput) => Promise<FeedbackRecorded>>(
      'requestFeedbackWorkflow',
      {
        taskQueue,
        workflowId: feedbackWorkflowId(input.workflowId, input.feedbackId),
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
      },
    );
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    // The activity's refusal, under the activity failure, under the workflow's.
    let cause: Error = error;
    while (cause.cause instanceof Error) cause = cause.cause;
    throw new PolicyDeniedError(cause.message, FAILURE_TYPES.policyDenied, input.workflowId);
  }
}
