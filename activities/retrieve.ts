import type { DataClass } from '../domain/data-class';
import type { RetrievedChunk } from '../domain/step-contracts';
import { searchChunks } from '../store/chunk-search';
import type { ActivityDependencies } from './activity-dependencies';

export interface RetrieveInput {
  tenantId: string;
  query: string;
  groups: string[];
  clearance: DataClass;
  topK: number;
}

/** Step 3. Permission-aware hybrid search: tenant, ACL groups and clearance filter every candidate before scoring. */
export function createRetrieveActivity({ db, embedder }: Pick<ActivityDependencies, 'db' | 'embedder'>) {
  return async function retrieve(input: RetrieveInput): Promise<RetrievedChunk[]> {
    return searchChunks(db, input, { embedder });
  };
}
