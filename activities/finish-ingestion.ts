import { dropIngestion } from '../store/ingestion-repository';
import type { ActivityDependencies } from './activity-dependencies';

/** Removes an ingestion's staged content once every document is ingested; idempotent. */
export function createFinishIngestionActivity({ db }: Pick<ActivityDependencies, 'db'>) {
  return async function finishIngestion(input: { ingestionId: string }): Promise<{ dropped: boolean }> {
    return { dropped: await dropIngestion(db, input.ingestionId) };
  };
}
