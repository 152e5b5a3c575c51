import { ApplicationFailure, log } from '@temporalio/activity';
import type { DataClass } from '../domain/data-class';
import { FAILURE_TYPES } from '../domain/failure-types';
import type { RetrievalRanking, RetrievalSource } from '../domain/retrieval-policy';
import type { RetrievedChunk } from '../domain/step-contracts';
import { retrieveFromKnowledgeBase } from '../retrieval/bedrock-knowledge-base-retriever';
import { searchChunks } from '../store/chunk-search';
import type { ActivityDependencies } from './activity-dependencies';

export interface RetrieveInput {
  tenantId: string;
  query: string;
  groups: string[];
  clearance: DataClass;
  topK: number;
  /** A Bedrock Knowledge Base instead of the tenant's ingested documents. */
  source?: Exclude<RetrievalSource, { type: 'local' }>;
  /** How the tenant's documents are ranked; hybrid when absent. */
  mode?: Exclude<RetrievalRanking, 'hybrid'>;
}

/**
 * Knowledge Base errors that retrying cannot fix: the request or the configuration is wrong.
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent-runtime_Retrieve.html#API_agent-runtime_Retrieve_Errors
 */
const PERMANENT_KNOWLEDGE_BASE_ERRORS = new Set([
  'ValidationException',
  'AccessDeniedException',
  'ResourceNotFoundException',
  'ConflictException',
]);

/**
 * Step 3. Permission-aware search: tenant, ACL groups and clearance filter every candidate before
 * scoring — in the local hybrid index, or as the metadata filter of a Bedrock Knowledge Base's Retrieve
 * call (whose results are checked against the caller once more).
 */
export function createRetrieveActivity({
  db,
  embedder,
  knowledgeBaseClient,
}: Pick<ActivityDependencies, 'db' | 'embedder' | 'knowledgeBaseClient'>) {
  return async function retrieve(input: RetrieveInput): Promise<RetrievedChunk[]> {
    const { source } = input;
    if (!source) return searchChunks(db, input, { embedder });
    if (!knowledgeBaseClient) {
      throw ApplicationFailure.nonRetryable(
        'the policy names a Bedrock Knowledge Base, but this worker has no Bedrock configuration',
        FAILURE_TYPES.retrievalUnavailable,
      );
    }
    try {
      const { chunks, droppedByPermissionCheck } = await retrieveFromKnowledgeBase(
        { knowledgeBaseId: source.knowledgeBaseId, client: knowledgeBaseClient(source.region) },
        input,
      );
      if (droppedByPermissionCheck > 0) {
        log.warn('the knowledge base returned results its filter should have excluded; dropped', {
          knowledgeBaseId: source.knowledgeBaseId,
          dropped: droppedByPermissionCheck,
        });
      }
      return chunks;
    } catch (error) {
      const name = (error as { name?: unknown } | null)?.name;
      if (typeof name === 'string' && PERMANENT_KNOWLEDGE_BASE_ERRORS.has(name)) {
        throw ApplicationFailure.nonRetryable(
          `knowledge base ${source.knowledgeBaseId}: ${name}: ${(error as Error).message}`,
          FAILURE_TYPES.retrievalUnavailable,
        );
      }
      throw error;
    }
  };
}
