import { ApplicationFailure, log } from '@temporalio/activity';
import { FAILURE_TYPES } from '../domain/failure-types';
import { unattestedPrompt } from '../governance/attested-governance';
import type { ResolvedPromptAsStored } from '../store/prompt-repository';
import type { ActivityDependencies } from './activity-dependencies';

/**
 * Ends the request (`FAILURE_TYPES.governanceUnattested`, non-retryable) when the prompt version it
 * resolved, or a label that chose it, is not what the tenant's audit chain attests (docs/decisions/0028).
 * The rows checked are the ones the prompt was resolved from.
 */
export async function requireAttestedPrompt(
  deps: Pick<ActivityDependencies, 'db' | 'audit'>,
  tenantId: string,
  resolved: ResolvedPromptAsStored,
): Promise<void> {
  const unattested = await unattestedPrompt(deps.db, deps.audit.keys.chainKeyById, { tenantId, resolved });
  if (unattested === undefined) return;
  log.warn('request refused: unattested prompt', { tenantId, unattested });
  throw ApplicationFailure.nonRetryable(unattested, FAILURE_TYPES.governanceUnattested);
}
