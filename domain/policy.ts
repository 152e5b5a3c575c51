import { z } from 'zod';
import { dataClassSchema, isClearedFor, type DataClass } from './data-class';
import { promptReferenceSchema, type LlmRequest, type PromptReference } from './request-contract';

/** A tenant's policy document, stored as versioned JSON. Parsed leniently: unknown keys are ignored. */
export const policyDocumentSchema = z.object({
  allowedDataClasses: z.array(dataClassSchema).min(1),
  allowedRoutes: z.array(z.string()).nullable().default(null),
  retrieval: z
    .object({
      enabled: z.boolean().default(true),
      topK: z.number().int().min(1).max(50).default(4),
      contextTokenBudget: z.number().int().min(0).max(200_000).default(1500),
    })
    .default({}),
  maxOutputTokens: z.number().int().positive().max(32_000).default(512),
  logging: z.enum(['full', 'redacted', 'hash']).default('full'),
  taskPrompts: z.record(promptReferenceSchema).default({}),
  /** May a request fall back to a degraded route (e.g. extractive) when the model routes fail? */
  allowDegradedRoutes: z.boolean().default(true),
  /** Routes whose worst case costs more than this are not tried. */
  maxCostPerRequestUsd: z.number().positive().optional(),
  approval: z
    .object({
      /** Requests of these data classes wait for an approver before anything else happens. */
      requiredForDataClasses: z.array(dataClassSchema).default([]),
      approverRoles: z
        .array(z.enum(['approver', 'admin']))
        .min(1)
        .default(['approver', 'admin']),
      /** Without a decision in this time the request is denied. */
      timeoutSeconds: z
        .number()
        .int()
        .min(1)
        .max(7 * 24 * 3600)
        .default(3600),
    })
    .default({}),
});
export type PolicyDocument = z.infer<typeof policyDocumentSchema>;
export type LoggingMode = PolicyDocument['logging'];

export interface TenantFacts {
  id: string;
  status: string;
  tier: string;
}

export interface PrincipalFacts {
  id: string;
  status: string;
  capabilities: string[];
  groups: string[];
  clearance: DataClass;
}

export interface PolicyFacts {
  version: number;
  document: unknown;
}

export type PolicyDecision =
  | {
      allowed: true;
      tenantId: string;
      principalId: string;
      groups: string[];
      clearance: DataClass;
      policyVersion: number;
      allowedRoutes: string[] | null;
      retrieval: PolicyDocument['retrieval'];
      maxOutputTokens: number;
      logging: LoggingMode;
      prompt: PromptReference;
      tenantTier: string;
      allowDegradedRoutes: boolean;
      costCeilingMicroUsd?: number;
      approval: ApprovalRequirement;
    }
  | {
      allowed: false;
      tenantId: string;
      principalId?: string;
      policyVersion?: number;
      reason: string;
    };

export type ApprovalRequirement =
  | { required: false }
  | {
      required: true;
      reason: string;
      timeoutMs: number;
      approverRoles: Array<'approver' | 'admin'>;
      /** Principals who may approve; filled in by the authorize activity, never the requester. */
      approverIds: string[];
    };

/**
 * Decides whether a request may proceed. Pure, so every denial reason is unit-tested; the authorize
 * activity only loads the facts.
 */
export function decideAuthorization(
  request: Pick<LlmRequest, 'tenantId' | 'taskType' | 'dataClass' | 'prompt' | 'maxOutputTokens'>,
  tenant: TenantFacts | undefined,
  principal: PrincipalFacts | undefined,
  policy: PolicyFacts | undefined,
): PolicyDecision {
  const deny = (
    reason: string,
    extra: { principalId?: string; policyVersion?: number } = {},
  ): PolicyDecision => ({
    allowed: false,
    tenantId: request.tenantId,
    reason,
    ...extra,
  });
  if (!tenant) return deny(`tenant '${request.tenantId}' does not exist`);
  if (tenant.status !== 'active') return deny(`tenant '${request.tenantId}' is ${tenant.status}, not active`);
  if (!principal) return deny(`the API key is not valid for tenant '${request.tenantId}'`);
  if (principal.status !== 'active') {
    return deny(`principal '${principal.id}' is ${principal.status}, not active`, {
      principalId: principal.id,
    });
  }
  if (!policy) return deny(`tenant '${request.tenantId}' has no policy`, { principalId: principal.id });
  const parsed = policyDocumentSchema.safeParse(policy.document);
  if (!parsed.success) {
    return deny(
      `policy version ${policy.version} is invalid: ${parsed.error.issues[0]?.message ?? 'unknown'}`,
      {
        principalId: principal.id,
        policyVersion: policy.version,
      },
    );
  }
  const document = parsed.data;
  const context = { principalId: principal.id, policyVersion: policy.version };
  if (!principal.capabilities.includes(request.taskType)) {
    return deny(
      `principal '${principal.id}' may not run task '${request.taskType}' (allowed: ${principal.capabilities.join(', ') || 'none'})`,
      context,
    );
  }
  if (!document.allowedDataClasses.includes(request.dataClass)) {
    return deny(
      `data class '${request.dataClass}' is not allowed by policy version ${policy.version} (allowed: ${document.allowedDataClasses.join(', ')})`,
      context,
    );
  }
  if (!isClearedFor(principal.clearance, request.dataClass)) {
    return deny(
      `principal '${principal.id}' is cleared for '${principal.clearance}' data, not '${request.dataClass}'`,
      context,
    );
  }
  const prompt = request.prompt ?? document.taskPrompts[request.taskType] ?? { name: request.taskType };
  return {
    allowed: true,
    tenantId: request.tenantId,
    principalId: principal.id,
    groups: principal.groups,
    clearance: principal.clearance,
    policyVersion: policy.version,
    allowedRoutes: document.allowedRoutes,
    retrieval: document.retrieval,
    maxOutputTokens: Math.min(request.maxOutputTokens ?? document.maxOutputTokens, document.maxOutputTokens),
    logging: document.logging,
    prompt,
    tenantTier: tenant.tier,
    allowDegradedRoutes: document.allowDegradedRoutes,
    costCeilingMicroUsd:
      document.maxCostPerRequestUsd === undefined
        ? undefined
        : Math.round(document.maxCostPerRequestUsd * 1_000_000),
    approval: document.approval.requiredForDataClasses.includes(request.dataClass)
      ? {
          required: true,
          reason: `'${request.dataClass}' requests need approval under policy version ${policy.version}`,
          timeoutMs: document.approval.timeoutSeconds * 1000,
          approverRoles: document.approval.approverRoles,
          approverIds: [],
        }
      : { required: false },
  };
}
