import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Gatehouse's search attributes. They are stored in plain text by Temporal, so they only ever hold
 * opaque ids and numbers — never prompt or response content.
 */
export const SEARCH_ATTRIBUTE_KEYS = {
  tenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  taskType: defineSearchAttributeKey('TaskType', SearchAttributeType.KEYWORD),
  feature: defineSearchAttributeKey('Feature', SearchAttributeType.KEYWORD),
  route: defineSearchAttributeKey('Route', SearchAttributeType.KEYWORD),
  outcome: defineSearchAttributeKey('Outcome', SearchAttributeType.KEYWORD),
  failedStep: defineSearchAttributeKey('FailedStep', SearchAttributeType.KEYWORD),
  promptVersion: defineSearchAttributeKey('PromptVersion', SearchAttributeType.KEYWORD),
  costUsd: defineSearchAttributeKey('CostUsd', SearchAttributeType.DOUBLE),
} as const;

/**
 * `Outcome` values. A request ends `succeeded`, `failed` or `cancelled`; a batch whose requests did not all
 * succeed ends `partially-failed`. A run that was terminated cannot update its own attributes: the CLI
 * shows Temporal's close status for it (`requests list`).
 */
export const REQUEST_OUTCOMES = [
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'parked',
  'awaiting-approval',
  'partially-failed',
] as const;
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];

/** The attributes a request starts with, whoever starts it (a client, or a batch as its child). */
export function requestStartAttributes(request: { tenantId: string; taskType: string; feature?: string }) {
  return [
    { key: SEARCH_ATTRIBUTE_KEYS.tenantId, value: request.tenantId },
    { key: SEARCH_ATTRIBUTE_KEYS.taskType, value: request.taskType },
    { key: SEARCH_ATTRIBUTE_KEYS.outcome, value: 'running' },
    ...(request.feature ? [{ key: SEARCH_ATTRIBUTE_KEYS.feature, value: request.feature }] : []),
  ];
}
