import { ApplicationFailure, log } from '@temporalio/activity';
import { FAILURE_TYPES } from '../domain/failure-types';
import { unattestedPrompt } from '../governance/attested-governance';
import type { ResolvedPrompt } from '../store/prompt-repository';
import type { ActivityDependencies } from './activity-dependencies';

/**
 * Ends the request (`FAILURE_TYPES.governanceUnattested`, non-retryable) when the prompt version it
 * resolved, or a label that chose it, is not what the tenant's audit chain attests (docs/decisions/0028).
 */
export async function requireAttestedPrompt(
  deps: Pick<ActivityDependencies, 'db' | 'audit'>,
  tenantId: string,
  prompt: ResolvedPrompt,
): Promise<void> {
  const unattested = await unattestedPrompt(deps.db, deps.audit.keys.chainKeyById, {
    tenantId,
    name: prompt.name,
    version: prompt.version,
    ...(prompt.label === undefined ? {} : { label: prompt.label }),
  });
  if (unattested === undefined) return;
  log.warn('request refused: unattested prompt', { tenantId, unattested });
  throw ApplicationFailure.nonRetryable(unattested, FAILURE_TYPES.governanceUnattested);
}
