/** Everything the worker registers as workflows. Runs inside Temporal's deterministic sandbox. */
export { llmRequestWorkflow, progressQuery } from './llm-request-workflow';
export { batchLlmWorkflow, batchProgressQuery } from './batch-llm-workflow';
export { reconcileRequestsWorkflow } from './reconcile-requests-workflow';
export { ingestDocumentsWorkflow, ingestionProgressQuery } from './ingest-documents-workflow';
export { requestFeedbackWorkflow } from './request-feedback-workflow';
