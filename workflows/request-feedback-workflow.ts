import { proxyActivities } from '@temporalio/workflow';
import type { GatehouseActivities } from '../activities/create-activities';
import type { FeedbackInput, FeedbackRecorded } from '../domain/feedback-contract';

const feedbackSteps = proxyActivities<GatehouseActivities>({
  startToCloseTimeout: '30s',
  // Through a short database outage; a refusal (bad proof, another caller's request) is non-retryable.
  retry: { maximumAttempts: 10, initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

/**
 * Attaches a caller's feedback to a finished request: the activity checks the caller's proof and the
 * request, then stores the feedback and its audit event in one transaction.
 */
export async function requestFeedbackWorkflow(input: FeedbackInput): Promise<FeedbackRecorded> {
  return feedbackSteps.recordFeedback(input);
}
