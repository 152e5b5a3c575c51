import { z } from 'zod';
import type { GuardrailControl, RedactionControl } from './governance-controls';
import { dataClassSchema, isClearedFor, strictestDataClass, type DataClass } from './data-class';
import { decideChargedFeature, type FeatureChargingFacts } from './charged-feature';
import { usdToMicro } from './cost';
import { routesForDataClass } from './task-routes';
import { promptReferenceSchema, type LlmRequest, type PromptReference } from './request-contract';
import { retrievalPolicySchema } from './retrieval-policy';

/** A tenant's policy document, stored as versioned JSON. Parsed leniently: unknown keys are ignored. */
export const policyDocumentSchema = z.object({
  allowedDataClasses: z.array(dataClassSchema).min(1),
  /** Every request of this tenant is treated as at least this sensitive, whatever it declares. */
  dataClassFloor: dataClassSchema.optional(),
  allowedRoutes: z.array(z.string()).nullable().default(null),
  retrieval: retrievalPolicySchema,
  maxOutputTokens: z.number().int().positive().max(32_000).default(512),
  logging: z.enum(['full', 'redacted', 'hash']).default('full'),
  /** Audit events older than this many days are pruned (the chain stays verifiable from a checkpoint). */
  auditRetentionDays: z.number().int().min(1).max(36_500).optional(),
  taskPrompts: z.record(promptReferenceSchema).default({}),
  /** May a request fall back to a degraded route (e.g. extractive) when the model routes fail? */
  allowDegradedRoutes: z.boolean().default(true),
  /** Routes whose worst case costs more than this are not tried. */
  maxCostPerRequestUsd: z.number().positive().optional(),
  /** Task types the tenant runs (policy files always list them); absent: any task a principal may run. */
  taskTypes: z.array(z.string()).optional(),
  /** Principal role → task types principals of that role may run, on top of their own capabilities. */
  roles: z.record(z.array(z.string())).optional(),
  /**
   * Task type (or `default`) → data class → the routes it may use. A task with an entry may use only
   * the routes listed for the request's data class (none when the class is not listed).
   */
  taskRoutes: z.record(z.record(z.array(z.string()))).optional(),
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
  /** `requester`, `approver` or `admin`; the policy's `roles` section may narrow what each may run. */
  role?: string;
}

export interface PolicyFacts {
  version: number;
  document: unknown;
}

/** What the policy says about data classes, kept in the decision so the class can be re-evaluated. */
export interface DataClassRules {
  allowed: DataClass[];
  floor?: DataClass;
  approvalRequiredFor: DataClass[];
  approverRoles: Array<'approver' | 'admin'>;
  approvalTimeoutMs: number;
}

export type PolicyDecision =
  | {
      allowed: true;
      tenantId: string;
      principalId: string;
      groups: string[];
      clearance: DataClass;
      policyVersion: number;
      /** The class the request is treated as before retrieval: the declaration raised to the policy floor. */
      dataClass: DataClass;
      dataClassRules: DataClassRules;
      /**
       * The feature the request is charged to, as its key allows (docs/decisions/0029); null: none. Budget
       * windows, the ledger and the audit use it, never the caller's `feature`. Absent only in decisions
       * recorded before it existed (see `chargedFeatureOf`).
       */
      feature?: string | null;
      /** Principals who may approve, never the requester; filled in by the authorize activity. */
      approverIds: string[];
      allowedRoutes: string[] | null;
      /**
       * The task's routes per data class, when the policy lists them: route selection uses the entry of
       * the effective class (known only after retrieval), where `allowedRoutes` was computed for the
       * class before it.
       */
      routesByDataClass?: Partial<Record<DataClass, string[]>>;
      retrieval: PolicyDocument['retrieval'];
      maxOutputTokens: number;
      logging: LoggingMode;
      prompt: PromptReference;
      tenantTier: string;
      allowDegradedRoutes: boolean;
      costCeilingMicroUsd?: number;
      approval: ApprovalRequirement;
      /** Redaction before prompts leave for a route; absent when the policy has no `redaction` section. */
      redaction?: RedactionControl;
      /** Input and output guardrails; absent when the policy has no `guardrails` section. */
      guardrails?: GuardrailControl;
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
      /** Principals who may approve: never the requester. */
      approverIds: string[];
    };

/**
 * Decides whether a request may proceed, and which feature it is charged to. Pure, so every denial reason
 * is unit-tested; the authorize activity only loads the facts.
 */
export function decideAuthorization(
  request: Pick<LlmRequest, 'tenantId' | 'taskType' | 'feature' | 'dataClass' | 'prompt' | 'maxOutputTokens'>,
  tenant: TenantFacts | undefined,
  principal: PrincipalFacts | undefined,
  policy: PolicyFacts | undefined,
  charging: FeatureChargingFacts,
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
  if (document.taskTypes && !document.taskTypes.includes(request.taskType)) {
    return deny(
      `task '${request.taskType}' is not defined by policy version ${policy.version} (defined: ${document.taskTypes.join(', ') || 'none'})`,
      context,
    );
  }
  if (document.roles && principal.role !== undefined) {
    const granted = document.roles[principal.role] ?? [];
    if (!granted.includes(request.taskType)) {
      return deny(
        `role '${principal.role}' may not run task '${request.taskType}' under policy version ${policy.version} (allowed: ${granted.join(', ') || 'none'})`,
        context,
      );
    }
  }
  const charged = decideChargedFeature(request.feature, charging);
  if (!charged.allowed) return deny(charged.reason, context);
  const dataClass = strictestDataClass([
    request.dataClass,
    ...(document.dataClassFloor ? [document.dataClassFloor] : []),
  ]);
  if (!document.allowedDataClasses.includes(dataClass)) {
    return deny(
      `data class '${dataClass}' is not allowed by policy version ${policy.version} (allowed: ${document.allowedDataClasses.join(', ')})`,
      context,
    );
  }
  if (!isClearedFor(principal.clearance, dataClass)) {
    return deny(
      `principal '${principal.id}' is cleared for '${principal.clearance}' data, not '${dataClass}'`,
      context,
    );
  }
  const routesByDataClass = document.taskRoutes?.[request.taskType] ?? document.taskRoutes?.['default'];
  const prompt = request.prompt ?? document.taskPrompts[request.taskType] ?? { name: request.taskType };
  const decision: Extract<PolicyDecision, { allowed: true }> = {
    allowed: true,
    tenantId: request.tenantId,
    principalId: principal.id,
    groups: principal.groups,
    clearance: principal.clearance,
    policyVersion: policy.version,
    dataClass,
    feature: charged.feature,
    dataClassRules: {
      allowed: document.allowedDataClasses,
      floor: document.dataClassFloor,
      approvalRequiredFor: document.approval.requiredForDataClasses,
      approverRoles: document.approval.approverRoles,
      approvalTimeoutMs: document.approval.timeoutSeconds * 1000,
    },
    approverIds: [],
    allowedRoutes: routesByDataClass
      ? routesForDataClass(document.allowedRoutes, routesByDataClass, dataClass)
      : document.allowedRoutes,
    ...(routesByDataClass ? { routesByDataClass } : {}),
    retrieval: document.retrieval,
    maxOutputTokens: Math.min(request.maxOutputTokens ?? document.maxOutputTokens, document.maxOutputTokens),
    logging: document.logging,
    prompt,
    tenantTier: tenant.tier,
    allowDegradedRoutes: document.allowDegradedRoutes,
    costCeilingMicroUsd:
      document.maxCostPerRequestUsd === undefined ? undefined : usdToMicro(document.maxCostPerRequestUsd),
    approval: { required: false },
  };
  return { ...decision, approval: approvalFor(decision, dataClass) };
}

/** Whether work of `dataClass` must wait for an approver under the decision's policy. */
export function approvalFor(
  decision: Pick<
    Extract<PolicyDecision, { allowed: true }>,
    'dataClassRules' | 'policyVersion' | 'approverIds'
  >,
  dataClass: DataClass,
): ApprovalRequirement {
  const rules = decision.dataClassRules;
  if (!rules.approvalRequiredFor.includes(dataClass)) return { required: false };
  return {
    required: true,
    reason: `'${dataClass}' requests need approval under policy version ${decision.policyVersion}`,
    timeoutMs: rules.approvalTimeoutMs,
    approverRoles: rules.approverRoles,
    approverIds: decision.approverIds,
  };
}

/** A retrieved document's identity and sensitivity: all the effective data class needs to know. */
export interface ClassifiedDocument {
  documentId: string;
  classification: DataClass;
}

/**
 * The class a request is treated as once its documents are known (DESIGN.md §2): the strictest of the
 * caller's declaration, the policy floor and every retrieved document. Routing, approval, redaction and
 * logging use it; the audit records both the declared and the effective class.
 */
export interface DataClassReevaluation {
  declared: DataClass;
  effective: DataClass;
  /** The documents that made the request more sensitive than it was before retrieval. */
  raisedBy: ClassifiedDocument[];
  /** Set when the policy does not allow the effective class at all: the request must be denied. */
  deniedReason?: string;
  /** Approval needed for the effective class that the class before retrieval did not need. */
  newApproval: ApprovalRequirement;
}

export function reevaluateDataClass(
  decision: Extract<PolicyDecision, { allowed: true }>,
  declared: DataClass,
  documents: ClassifiedDocument[],
): DataClassReevaluation {
  const effective = strictestDataClass([
    decision.dataClass,
    ...documents.map((document) => document.classification),
  ]);
  const raisedBy = documents.filter((document) => !isClearedFor(decision.dataClass, document.classification));
  const base = { declared, effective, raisedBy };
  if (!decision.dataClassRules.allowed.includes(effective)) {
    return {
      ...base,
      deniedReason: `retrieved documents are '${effective}' (${raisedBy.map((document) => document.documentId).join(', ')}), which policy version ${decision.policyVersion} does not allow (allowed: ${decision.dataClassRules.allowed.join(', ')})`,
      newApproval: { required: false },
    };
  }
  const before = approvalFor(decision, decision.dataClass);
  const after = approvalFor(decision, effective);
  return { ...base, newApproval: after.required && !before.required ? after : { required: false } };
}

/**
 * The feature a run charges: the one its authorization decided. A decision recorded before decisions
 * carried one (docs/decisions/0029) was made when the caller's `feature` was all there was, so a run that
 * resumes with such a decision in its history keeps charging what it was admitted with.
 */
export function chargedFeatureOf(
  decision: Pick<Extract<PolicyDecision, { allowed: true }>, 'feature'>,
  request: Pick<LlmRequest, 'feature'>,
): string | undefined {
  if (decision.feature === undefined) return request.feature;
  return decision.feature ?? undefined;
}
