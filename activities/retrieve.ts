import type { DataClass } from '../domain/data-class';
import type { RetrievedChunk } from '../domain/step-contracts';
import { searchChunks } from '../store/document-repository';
import type { ActivityDependencies } from './activity-dependencies';

export interface RetrieveInput {
  tenantId: string;
  query: string;
  groups: string[];
  clearance: DataClass;
  topK: number;
}

/** Step 3. Permission-aware search: the ACL and clearance filter is part of the candidate query. */
export function createRetrieveActivity({ db }: Pick<ActivityDependencies, 'db'>) {
  return async function retrieve(input: RetrieveInput): Promise<RetrievedChunk[]> {
    return searchChunks(db, input);
  };
}
