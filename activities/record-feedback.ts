import { ApplicationFailure } from '@temporalio/activity';
import { AUDIT_EVENT_TYPES, AUDIT_SLOTS, TERMINAL_AUDIT_EVENT_TYPES } from '../domain/audit-event';
import {
  FEEDBACK_PROOF_PURPOSE,
  feedbackProofClaims,
  feedbackRecorded,
  isFeedbackScore,
  MAX_FEEDBACK_COMMENT_CHARACTERS,
  type FeedbackInput,
  type FeedbackRecorded,
} from '../domain/feedback-contract';
import { parseRequestWorkflowId } from '../domain/request-contract';
import { DEFAULT_PROOF_TTL_MS, PROOF_CLOCK_SKEW_MS, verifyProof } from '../governance/caller-proof';
import { appendAuditEvents, listAuditEvents } from '../store/audit-repository';
import {
  FeedbackConflictError,
  findFeedback,
  recordFeedback as storeFeedback,
} from '../store/feedback-repository';
import { serializeOn } from '../store/knex-client';
import { findPrincipalByKeyId } from '../store/principal-repository';
import { sha256Hex } from '../governance/sha256';
import type { ActivityDependencies } from './activity-dependencies';

export const FEEDBACK_REFUSED = 'Feedback.Refused';

function refuse(message: string): never {
  throw ApplicationFailure.nonRetryable(message, FEEDBACK_REFUSED);
}

export function commentSha256(comment: string | null): string | null {
  return comment === null ? null : sha256Hex(comment);
}

/**
 * Stores a caller's feedback on a finished request, with the route, prompt version and retrieved
 * documents that served it, and audits it. The caller must prove the key of the principal who made the
 * request — the same rule as every other path to a request — and the request must be in that tenant.
 * Retried, it stores nothing twice: the feedback id is the key of both the row and its audit event.
 */
export function createRecordFeedbackActivity({ db, audit }: Pick<ActivityDependencies, 'db' | 'audit'>) {
  return async function recordFeedback(input: FeedbackInput): Promise<FeedbackRecorded> {
    const parsed = parseRequestWorkflowId(input.workflowId);
    if (!parsed || parsed.tenantId !== input.tenantId)
      refuse(`no request ${input.workflowId} in this tenant`);
    if (!isFeedbackScore(input.score)) refuse('the score must be -1, 0 or 1');
    if (input.comment !== null && input.comment.length > MAX_FEEDBACK_COMMENT_CHARACTERS) {
      refuse(`the comment is longer than ${MAX_FEEDBACK_COMMENT_CHARACTERS} characters`);
    }
    const principal = await findPrincipalByKeyId(db, input.tenantId, input.caller.keyId);
    const claims = feedbackProofClaims({ ...input, commentSha256: commentSha256(input.comment) });
    if (!principal || !verifyProof(principal.apiKeyHash, FEEDBACK_PROOF_PURPOSE, claims, input.proof)) {
      refuse('the feedback is not signed by a key of this tenant');
    }
    if (principal.status !== 'active') refuse(`principal '${principal.id}' is ${principal.status}`);

    const already = await findFeedback(db, input.feedbackId);
    if (!already && Math.abs(Date.now() - input.signedAt) > DEFAULT_PROOF_TTL_MS + PROOF_CLOCK_SKEW_MS) {
      refuse('the feedback proof has expired; sign it again');
    }

    const events = await listAuditEvents(db, { tenantId: input.tenantId, workflowId: input.workflowId });
    const outcome = events
      .filter((event) => (TERMINAL_AUDIT_EVENT_TYPES as readonly string[]).includes(event.eventType))
      .at(-1);
    if (!outcome) refuse(`request ${parsed.requestId} has not finished (or does not exist)`);
    const outcomePayload = (outcome.payload ?? {}) as { principalId?: unknown; promptVersion?: unknown };
    if (outcomePayload.principalId !== principal.id) {
      refuse(`request ${parsed.requestId} was not made by principal '${principal.id}'`);
    }
    const ofRun = events.filter((event) => event.runId === outcome.runId);
    const served = ofRun.filter((event) => event.eventType === AUDIT_EVENT_TYPES.inferenceSucceeded).at(-1);
    const retrieve = ofRun.find(
      (event) => event.step === 'retrieve' && event.eventType === AUDIT_EVENT_TYPES.stepSucceeded,
    );
    const chunks = ((retrieve?.payload ?? {}) as { chunks?: Array<{ documentId?: unknown }> }).chunks ?? [];
    const servedRoute = (served?.payload as { routeId?: unknown } | undefined)?.routeId;
    const snapshot = {
      routeId: typeof servedRoute === 'string' ? servedRoute : null,
      promptRef: typeof outcomePayload.promptVersion === 'string' ? outcomePayload.promptVersion : null,
      retrievedDocumentIds: [
        ...new Set(
          chunks.map((chunk) => chunk.documentId).filter((id): id is string => typeof id === 'string'),
        ),
      ],
    };

    const stored = await db.transaction(async (trx) => {
      // Items on one request are numbered in turn: two at once would otherwise count the same rows,
      // and the second would meet the audit trail's unique attempt and wait for a retry.
      await serializeOn(trx, 'request_feedback', input.workflowId);
      const count = (await trx('request_feedback')
        .where({ workflow_id: input.workflowId })
        .whereNot({ id: input.feedbackId })
        .count({ n: '*' })
        .first()) as { n: number | string } | undefined;
      const item = await storeFeedback(trx, {
        id: input.feedbackId,
        tenantId: input.tenantId,
        workflowId: input.workflowId,
        requestId: parsed.requestId,
        principalId: principal.id,
        score: input.score,
        comment: input.comment,
        ...snapshot,
      }).catch((error: unknown) => {
        // Another item already stored under this feedback id: final, however often it is retried.
        if (error instanceof FeedbackConflictError) refuse(error.message);
        throw error;
      });
      if (!already) {
        await appendAuditEvents(trx, audit.keys.chainKey, [
          {
            tenantId: input.tenantId,
            workflowId: input.workflowId,
            // Attached to the run that recorded the request: feedback is about what that run served.
            runId: outcome.runId,
            step: AUDIT_SLOTS.feedback.step,
            attempt: Number(count?.n ?? 0) + 1,
            eventType: AUDIT_EVENT_TYPES.feedbackRecorded,
            payload: {
              feedbackId: input.feedbackId,
              principalId: principal.id,
              score: input.score,
              // The comment is the caller's words: the trail keeps its hash, the feedback table the text.
              commentSha256: commentSha256(input.comment),
              ...snapshot,
            },
          },
        ]);
      }
      return item;
    });
    return feedbackRecorded(stored, input.score);
  };
}
