import { createHash } from 'node:crypto';
import type { NewUsageRecord } from '../store/usage-repository';
import { canonicalJson } from './canonical-json';

/**
 * SHA-256 of a usage ledger row's canonical content — every field that says what was served and
 * charged, listed explicitly so a new column never changes old hashes. The audit chain holds it
 * (`usage.recorded`), so a row edited by SQL no longer matches its event.
 */
export function ledgerRowHash(row: NewUsageRecord): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        tenantId: row.tenantId,
        workflowId: row.workflowId,
        runId: row.runId,
        attempt: row.attempt,
        routeId: row.routeId,
        provider: row.provider,
        model: row.model,
        principalId: row.principalId,
        feature: row.feature,
        taskType: row.taskType,
        promptRef: row.promptRef,
        inputTokens: row.inputTokens,
        outputTokens: row.outputTokens,
        cacheReadTokens: row.cacheReadTokens,
        cacheWriteTokens: row.cacheWriteTokens,
        costMicroUsd: row.costMicroUsd,
        outcome: row.outcome,
        failureType: row.failureType,
        usageEstimated: row.usageEstimated,
        // Hashed only where recorded, so rows from before the column keep their hashes.
        ...(row.pricingVersion === null ? {} : { pricingVersion: row.pricingVersion }),
      }),
      'utf8',
    )
    .digest('hex');
}
