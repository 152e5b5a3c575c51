import { Context } from '@temporalio/activity';
import { deleteDocument } from '../store/document-repository';
import { documentsUnderSource, stagedExternalIds } from '../store/ingestion-repository';
import type { ActivityDependencies } from './activity-dependencies';

export interface PruneIngestedSourceInput {
  ingestionId: string;
  tenantId: string;
  sourcePrefix: string;
}

/**
 * Deletes the tenant's documents under a source (URI prefix) that the ingestion did not stage: files
 * removed since the last ingestion of a directory. Searches stop returning them on their next query.
 * Idempotent: a retry finds the already deleted ones gone.
 */
export function createPruneIngestedSourceActivity({ db }: Pick<ActivityDependencies, 'db'>) {
  return async function pruneIngestedSource(input: PruneIngestedSourceInput): Promise<{ pruned: number }> {
    const staged = await stagedExternalIds(db, input);
    let pruned = 0;
    for (const externalId of await documentsUnderSource(db, input.tenantId, input.sourcePrefix)) {
      if (staged.has(externalId)) continue;
      Context.current().heartbeat({ externalId });
      if (await deleteDocument(db, input.tenantId, externalId)) pruned += 1;
    }
    return { pruned };
  };
}
