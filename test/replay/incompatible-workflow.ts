// Negative control for the replay test: a plausible but non-deterministic change — a timer added before
// the first step — that must fail against the committed histories.
import { sleep } from '@temporalio/workflow';
import type { IngestionInput } from '../../domain/ingestion-contract';
import type { LlmRequest } from '../../domain/request-contract';
import { ingestDocumentsWorkflow as currentIngestion } from '../../workflows/ingest-documents-workflow';
import { llmRequestWorkflow as currentWorkflow } from '../../workflows/llm-request-workflow';

export { progressQuery } from '../../workflows/llm-request-workflow';

export async function llmRequestWorkflow(request: LlmRequest) {
  await sleep('1 millisecond');
  return currentWorkflow(request);
}

export { ingestionProgressQuery } from '../../workflows/ingest-documents-workflow';

export async function ingestDocumentsWorkflow(input: IngestionInput) {
  await sleep('1 millisecond');
  return currentIngestion(input);
}
