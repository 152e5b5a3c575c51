import type { ActivityDependencies } from './activity-dependencies';
import { createAssemblePromptActivity } from './assemble-prompt';
import { createAuthorizeActivity } from './authorize';
import { createCheckpointAuditChainsActivity } from './checkpoint-audit-chains';
import { createFinishIngestionActivity } from './finish-ingestion';
import { createGuardInputActivity } from './guard-input';
import { createGuardOutputActivity } from './guard-output';
import { createInferActivity } from './infer';
import { createIngestDocumentBatchActivity } from './ingest-document-batch';
import { createPlanRetrievalActivity } from './plan-retrieval';
import { createPruneIngestedSourceActivity } from './prune-ingested-source';
import { createReconcileClosedRunsActivity } from './reconcile-closed-runs';
import { createRecordActivity } from './record';
import { createRecordFeedbackActivity } from './record-feedback';
import { createReserveBudgetActivity } from './reserve-budget';
import { createRetrieveActivity } from './retrieve';
import { createSelectRouteActivity } from './select-route';
import { timed } from './timed';
import { createValidateActivity } from './validate';
import { createVerifyApproverActivity } from './verify-approver';

export type { ActivityDependencies } from './activity-dependencies';

/**
 * Every activity Gatehouse registers, under the activity type names of domain/step-names.ts. Each one
 * lives in its own file; each reports its own elapsed time and the run it ran for (`timed`).
 */
export function createActivities(deps: ActivityDependencies) {
  return {
    authorize: timed(createAuthorizeActivity(deps)),
    verifyApprover: timed(createVerifyApproverActivity(deps)),
    planRetrieval: timed(createPlanRetrievalActivity()),
    retrieve: timed(createRetrieveActivity(deps)),
    guardInput: timed(createGuardInputActivity(deps)),
    assemblePrompt: timed(createAssemblePromptActivity(deps)),
    selectRoute: timed(createSelectRouteActivity(deps)),
    reserveBudget: timed(createReserveBudgetActivity(deps)),
    infer: timed(createInferActivity(deps)),
    guardOutput: timed(createGuardOutputActivity(deps)),
    validate: timed(createValidateActivity()),
    record: timed(createRecordActivity(deps)),
    recordFeedback: createRecordFeedbackActivity(deps),
    reconcileClosedRuns: createReconcileClosedRunsActivity(deps),
    checkpointAuditChains: createCheckpointAuditChainsActivity(deps),
    // ingestDocumentsWorkflow's own steps: documents go by reference (staged ordinals), never through history.
    ingestDocumentBatch: createIngestDocumentBatchActivity(deps),
    pruneIngestedSource: createPruneIngestedSourceActivity(deps),
    finishIngestion: createFinishIngestionActivity(deps),
  };
}

export type GatehouseActivities = ReturnType<typeof createActivities>;
